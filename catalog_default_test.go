package fetchsms_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/detect"
	"github.com/fetchsms/fetchsms/sandbox"
)

func TestDefaultCatalog(t *testing.T) {
	cat := fetchsms.DefaultCatalog()
	if len(cat) < 60 {
		t.Errorf("catalog has %d services, want at least 60", len(cat))
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
		if len(s.Senders) == 0 || len(s.Keywords) == 0 {
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
		if s.ID == fetchsms.UnlimitedServiceID {
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
