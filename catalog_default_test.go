package fetchsms_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/detect"
	"github.com/fetchsms/fetchsms/sandbox"
)

func TestDefaultCatalog(t *testing.T) {
	cat := fetchsms.DefaultCatalog()
	if len(cat) < 400 {
		t.Errorf("catalog has %d services, want at least 400", len(cat))
	}
	slugRE := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	ids := map[int]bool{}
	slugs := map[string]bool{}
	keywords := map[string]string{}
	for _, s := range cat {
		if s.ID <= 0 || ids[s.ID] {
			t.Errorf("id %d (%s) not positive or duplicated", s.ID, s.Slug)
		}
		ids[s.ID] = true
		if !slugRE.MatchString(s.Slug) || slugs[s.Slug] {
			t.Errorf("slug %q invalid or duplicated", s.Slug)
		}
		slugs[s.Slug] = true
		if s.Name == "" || !s.Enabled {
			t.Errorf("%s: empty name or disabled", s.Slug)
		}
		if s.ID == fetchsms.UnlimitedServiceID {
			continue
		}
		if s.PriceCents < 20 || s.PriceCents > 300 {
			t.Errorf("%s: price %d out of range", s.Slug, s.PriceCents)
		}
		if s.LongPrices != nil || s.IsLongTerm() {
			t.Errorf("%s: short-term service with long prices", s.Slug)
		}
		if (len(s.Senders) == 0 || len(s.Keywords) == 0) != (s.ID == fetchsms.OtherServiceID) {
			t.Errorf("%s: no senders or keywords", s.Slug)
		}
		for _, k := range s.Keywords {
			if k != strings.ToLower(k) || strings.TrimSpace(k) != k || k == "" {
				t.Errorf("%s: keyword %q not lower-case and trimmed", s.Slug, k)
			}
			if other, ok := keywords[k]; ok {
				t.Errorf("keyword %q on both %s and %s", k, other, s.Slug)
			}
			keywords[k] = s.Slug
		}
	}
	// Ids are 1…N without gaps in the default catalog.
	for id := 1; id <= len(cat); id++ {
		if !ids[id] {
			t.Errorf("id %d missing", id)
		}
	}

	byID := map[int]fetchsms.Service{}
	for _, s := range cat {
		byID[s.ID] = s
	}
	u := byID[1]
	if u.Slug != "unlimited-services" || u.Name != "Unlimited Services" || u.PriceCents != 300 ||
		len(u.Senders) != 0 || len(u.Keywords) != 0 || !u.IsLongTerm() || cat[0].ID != 1 {
		t.Errorf("unlimited entry = %+v", u)
	}
	want := map[int]fetchsms.Cents{1: 300, 7: 600, 30: 1200, 90: 2500, 365: 9000}
	if len(u.LongPrices) != len(want) {
		t.Errorf("unlimited long prices = %v", u.LongPrices)
	}
	for d, p := range want {
		if u.LongPrices[d] != p || !fetchsms.ValidRentalTerm(d) {
			t.Errorf("unlimited long price for %d days = %d, want %d", d, u.LongPrices[d], p)
		}
	}
	if s := byID[2]; s.Slug != "whatsapp" || s.Name != "WhatsApp" || s.PriceCents != 140 {
		t.Errorf("id 2 = %+v", s)
	}
	if s := byID[4]; s.Slug != "telegram" || s.Name != "Telegram" || s.PriceCents != 70 {
		t.Errorf("id 4 = %+v", s)
	}

	// A fresh slice every call.
	cat[1].Name = "changed"
	if fetchsms.DefaultCatalog()[1].Name == "changed" {
		t.Error("DefaultCatalog shares its slice")
	}
}

func catalogEngine() *detect.Engine {
	var rules []detect.Rule
	for _, s := range fetchsms.DefaultCatalog() {
		rules = append(rules, detect.Rule{ServiceID: s.ID, Name: s.Name, Senders: s.Senders, Keywords: s.Keywords})
	}
	return detect.New(rules)
}

// TestCatalogSampleSMSDetected checks that every short-term service's simulated
// SMS is detected as that service, with the code as written.
func TestCatalogSampleSMSDetected(t *testing.T) {
	e := catalogEngine()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range fetchsms.DefaultCatalog() {
		if s.ID == fetchsms.UnlimitedServiceID || s.ID == fetchsms.OtherServiceID {
			continue
		}
		codes := []string{"012345", "100000", "482910", sandbox.NewCode(r), sandbox.NewCode(r)}
		for _, code := range codes {
			sender, body, written := sandbox.SampleSMS(s.Slug, s.Name, code)
			if !strings.Contains(body, written) {
				t.Errorf("%s: written %q not in body %q", s.Slug, written, body)
			}
			got := e.Detect(sender, body)
			if got.ServiceID != s.ID || got.Code != written {
				t.Errorf("%s: Detect(%q, %q) = %+v, want service %d code %q", s.Slug, sender, body, got, s.ID, written)
			}
		}
	}
}

// TestCatalogDetectDecoys checks catalog keywords against everyday messages.
func TestCatalogDetectDecoys(t *testing.T) {
	e := catalogEngine()
	tests := []struct {
		sender, body string
		slug, code   string
	}{
		{"WhatsApp", "Your WhatsApp code: 821-193", "whatsapp", "821-193"},
		{"Telegram", "Telegram code: 482910. Do not give this code to anyone", "telegram", "482910"},
		{"Uber", "Your Uber is arriving now.", "uber", ""},
		{"Uber", "Your Uber Eats code is 4821.", "uber-eats", "4821"},
		{"22000", "G-412157 is your Google verification code.", "google", "G-412157"},
		{"Google Voice", "Your Google Voice verification code is 448219.", "google-voice", "448219"},
		{"+14155550100", "Let's match up for dinner at 7. Call 415-555-0177.", "", ""},
		{"+14155550100", "Your verification code is 482913", "", "482913"},
	}
	ids := map[string]int{}
	for _, s := range fetchsms.DefaultCatalog() {
		ids[s.Slug] = s.ID
	}
	for _, tt := range tests {
		got := e.Detect(tt.sender, tt.body)
		if got.ServiceID != ids[tt.slug] || got.Code != tt.code {
			t.Errorf("Detect(%q, %q) = %+v, want %s (%d) code %q", tt.sender, tt.body, got, tt.slug, ids[tt.slug], tt.code)
		}
	}
}

func TestCatalogNewCode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		c := sandbox.NewCode(r)
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("NewCode = %q", c)
		}
	}
}

// corpusEntry is one line of detect/testdata/corpus.tsv.
type corpusEntry struct {
	line         int
	sender, body string
	slug, code   string
}

// readCorpus parses detect/testdata/corpus.tsv: tab-separated sender, body,
// expected service slug and expected code; sender and body use Go string escapes.
func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("detect", "testdata", "corpus.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	unquote := func(n int, s string) string {
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
		if err != nil {
			t.Fatalf("corpus line %d: %q: %v", n, s, err)
		}
		return u
	}
	var out []corpusEntry
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "sender\t") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("corpus line %d: %d fields, want 4: %q", i+1, len(f), line)
		}
		out = append(out, corpusEntry{line: i + 1, sender: unquote(i+1, f[0]), body: unquote(i+1, f[1]), slug: f[2], code: f[3]})
	}
	return out
}

// TestCorpus runs the engine built from the default catalog over the corpus of
// real-world messages. The goal: every code extracted exactly, and no message
// ever attributed to a wrong service (service precision 1.0), recall ≥ 0.97.
func TestCorpus(t *testing.T) {
	corpus := readCorpus(t)
	cat := fetchsms.DefaultCatalog()
	ids := map[string]int{}
	slugs := map[int]string{}
	for _, s := range cat {
		ids[s.Slug] = s.ID
		slugs[s.ID] = s.Slug
	}
	e := catalogEngine()
	services := map[string]bool{}
	var tp, fp, withService int      // service detection
	var codeTP, codeFP, withCode int // code extraction
	var long, noCode, noService int  // corpus make-up
	for _, c := range corpus {
		want := 0
		if c.slug != "" {
			id, ok := ids[c.slug]
			if !ok {
				t.Errorf("corpus line %d: unknown slug %q", c.line, c.slug)
				continue
			}
			want = id
			services[c.slug] = true
			withService++
		} else {
			noService++
		}
		if c.code != "" {
			withCode++
		} else {
			noCode++
		}
		if utf8.RuneCountInString(c.body) > 160 {
			long++
		}
		got := e.Detect(c.sender, c.body)
		switch {
		case got.ServiceID != 0 && got.ServiceID == want:
			tp++
		case got.ServiceID != 0:
			fp++
			t.Errorf("corpus line %d: Detect(%q, %q) service %s (%.2f), want %q", c.line, c.sender, c.body, slugs[got.ServiceID], got.Confidence, c.slug)
		case want != 0:
			t.Logf("corpus line %d: missed service %q in Detect(%q, %q)", c.line, c.slug, c.sender, c.body)
		}
		switch {
		case got.Code == c.code && c.code != "":
			codeTP++
		case got.Code != c.code:
			if got.Code != "" {
				codeFP++
			}
			t.Errorf("corpus line %d: Detect(%q, %q) code %q, want %q", c.line, c.sender, c.body, got.Code, c.code)
		}
		if ec := detect.ExtractCode(c.body); ec != got.Code {
			t.Errorf("corpus line %d: ExtractCode %q, Detect %q", c.line, ec, got.Code)
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 1
		}
		return float64(a) / float64(b)
	}
	precision, recall := ratio(tp, tp+fp), ratio(tp, withService)
	codePrecision, codeRecall := ratio(codeTP, codeTP+codeFP), ratio(codeTP, withCode)
	t.Logf("corpus: %d messages over %d services (%d without a service, %d without a code, %d longer than 160 characters)",
		len(corpus), len(services), noService, noCode, long)
	t.Logf("service: precision %.4f (%d/%d), recall %.4f (%d/%d)", precision, tp, tp+fp, recall, tp, withService)
	t.Logf("code:    precision %.4f (%d/%d), recall %.4f (%d/%d)", codePrecision, codeTP, codeTP+codeFP, codeRecall, codeTP, withCode)
	if len(corpus) < 320 || len(services) < 85 {
		t.Errorf("corpus has %d messages over %d services, want at least 320 over 85", len(corpus), len(services))
	}
	if precision < 1 || recall < 0.97 {
		t.Errorf("service precision %.4f, recall %.4f: want 1 and at least 0.97", precision, recall)
	}
}

// TestDefaultCategoriesAndAliases: every default service has a category, and
// searches find services by alias, parent brand and category.
func TestDefaultCategoriesAndAliases(t *testing.T) {
	cats := map[string]int{}
	byName := map[string]fetchsms.ServiceStock{}
	for _, s := range fetchsms.DefaultCatalog() {
		c := fetchsms.ServiceCategory(s.Slug)
		if c == fetchsms.OtherCategory && s.ID != fetchsms.OtherServiceID {
			t.Errorf("%s has no category", s.Slug)
		}
		cats[c]++
		byName[s.Slug] = fetchsms.ServiceStock{Service: s, Category: c, Aliases: fetchsms.ServiceAliases(s.Slug)}
	}
	if len(cats) < 15 {
		t.Errorf("%d categories: %v", len(cats), cats)
	}
	if fetchsms.ServiceCategory("acme-chat") != fetchsms.OtherCategory || fetchsms.ServiceAliases("acme-chat") != nil {
		t.Error("a service the default catalog does not know has a category or aliases")
	}
	for _, tt := range []struct {
		slug, q string
		want    bool
	}{
		{"twitter", "Twitter", true}, {"twitter", "x", true}, {"facebook", "META", true},
		{"openai", "chatgpt", true}, {"anthropic", " claude ", true}, {"uber-eats", "uber", true},
		{"chase", "jpmorgan", true}, {"chase", "banking", true}, {"google", "gmail", true},
		{"xfinity", "comcast", true}, {"whatsapp", "banking", false}, {"chase", "tiktok", false},
		{"chase", "", true},
	} {
		s, ok := byName[tt.slug]
		if !ok {
			t.Fatalf("no service %s", tt.slug)
		}
		if got := s.Matches(tt.q); got != tt.want {
			t.Errorf("%s.Matches(%q) = %v, want %v", tt.slug, tt.q, got, tt.want)
		}
	}
}

// BenchmarkDetectCatalog is the detection of typical inbound SMS against the
// whole default catalog, as every inbound SMS runs it.
func BenchmarkDetectCatalog(b *testing.B) {
	e := catalogEngine()
	msgs := [][2]string{
		{"Telegram", "Telegram code: 482910. Do not give this code to anyone, even if they say they are from Telegram!"},
		{"72975", "Chase: Your one-time code is 55120988. Don't share it. We'll never call you for it."},
		{"+14155550100", "Your verification code is 482913"},
		{"USPS", "USPS: Your item was delivered in or at the mailbox at 2:14 pm on June 17, 2026 in AUSTIN, TX 78701."},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := msgs[i%len(msgs)]
		e.Detect(m[0], m[1])
	}
}
