package detect

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusLine is one message of testdata/corpus.tsv. The corpus is shared with the
// root package's TestCorpus, which checks service detection against the real
// catalog; here, where the catalog cannot be imported, it checks code extraction
// and seeds the fuzz tests.
type corpusLine struct {
	line         int
	sender, body string
	slug, code   string
	lang, source string
}

func loadCorpus(tb testing.TB) []corpusLine {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	unquote := func(n int, s string) string {
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
		if err != nil {
			tb.Fatalf("corpus line %d: %q: %v", n, s, err)
		}
		return u
	}
	var out []corpusLine
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "sender\t") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 || f[4] == "" || f[5] == "" {
			tb.Fatalf("corpus line %d: %d fields, want 6 (sender, body, service, code, lang, source)", i+1, len(f))
		}
		out = append(out, corpusLine{i + 1, unquote(i+1, f[0]), unquote(i+1, f[1]), f[2], f[3], f[4], f[5]})
	}
	return out
}

// TestCorpusCodes checks that ExtractCode returns exactly the expected code for
// every corpus message, and that the code has the documented form.
func TestCorpusCodes(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 320 {
		t.Errorf("corpus has %d messages, want at least 320", len(corpus))
	}
	right := 0
	for _, c := range corpus {
		got := ExtractCode(c.body)
		if got != c.code {
			t.Errorf("corpus line %d: ExtractCode(%q) = %q, want %q", c.line, c.body, got, c.code)
			continue
		}
		right++
		checkCode(t, c.body, got)
		if got != "" && strings.TrimSpace(got) != got {
			t.Errorf("corpus line %d: code %q has surrounding space", c.line, got)
		}
	}
	t.Logf("codes right for %d/%d corpus messages", right, len(corpus))
}

func TestExtractCodeNumberRuns(t *testing.T) {
	tests := []struct{ body, want string }{
		{"Your code is 551092 10:45 PM. Do not share it.", "551092"},
		{"Your Lyft code is 4471 (sent 06/17/2026 10:45)", "4471"},
		{"Code: 882014 2026-06-17 10:45 UTC", "882014"},
		{"Your code is 4471 2290", "4471 2290"},
		{"Tracking 9400 1000 0000 0000 0000 00", ""},
		{"Your package 7789 1234 5678 arrives tomorrow", ""},
		{"Meeting ID 812 3345 9921, passcode 4471.", "4471"},
		{"Call (415) 555 0142 or +1 415-555-0142 or 1.800.555.0199", ""},
		{"Delivered in AUSTIN, TX 78701.", ""},
		{"Your verification code is 78701", "78701"},
		{"wifi password is sunny2026", ""},
		{"Your one-time password is AB12CD", "AB12CD"},
		{"Yahoo: Your account key is 4XT9P.", "4XT9P"},
		{"G-208816 est votre code de validation Google.", "G-208816"},
		{"Meet at 1500 EST", ""},
	}
	for _, tt := range tests {
		if got := ExtractCode(tt.body); got != tt.want {
			t.Errorf("ExtractCode(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestDetectPassingMentions(t *testing.T) {
	e := New(testRules())
	tests := []struct {
		sender, body string
		service      int
	}{
		// No code and no sender hint: only a service that heads the message.
		{"T-Mobile", "T-Mobile Free Msg: Weak signal at home? Get a free Signal Booster.", 0},
		{"+14155550100", "I'll uber over after work", 0},
		{"+14155550100", "Uber: Your driver is arriving.", idUber},
		{"+14155550100", "[TikTok] Your video has 12 new likes", idTikTok},
		// The sender names the service, the body mentions another in passing.
		{"Venmo", "You paid Uber Eats $23.18. Balance $120.00", idVenmo},
		{"Google", "Stream on YouTube or TikTok tonight", idGoogle},
		// ... unless the other service owns the code or heads the message.
		{"Discord", "Your Instagram code is 998877.", idInstagram},
		{"Google", "Your code to sign in to TikTok is 551092", idTikTok},
		{"Venmo", "Uber: your code is 5512", idUber},
	}
	for _, tt := range tests {
		if got := e.Detect(tt.sender, tt.body); got.ServiceID != tt.service {
			t.Errorf("Detect(%q, %q) = %+v, want service %d", tt.sender, tt.body, got, tt.service)
		}
	}
}
