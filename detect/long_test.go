package detect

import (
	"strings"
	"testing"
	"time"
)

// TestLongInputs guards against quadratic scans: every body here is ~100 KB and
// each must be handled in well under a second.
func TestLongInputs(t *testing.T) {
	e := New(testRules())
	bodies := map[string]string{
		"digit groups":   strings.Repeat("1234 ", 20000),
		"no whitespace":  strings.Repeat("a1234-", 20000),
		"keywords":       strings.Repeat("uber ", 20000) + "code 1234",
		"labelled codes": strings.Repeat("code is 123456. ", 6000),
		"one long word":  strings.Repeat("x", 100000) + " 1234",
		"homoglyphs":     strings.Repeat("аa", 50000),
		"hashes":         strings.Repeat("#", 50000) + "1234",
		"digits":         strings.Repeat("1234567890", 10000),
		"decimals":       strings.Repeat("1.", 50000),
		"apple lines":    strings.Repeat("@apple.com #123456 ", 5000),
	}
	for name, body := range bodies {
		start := time.Now()
		r := e.Detect("Uber", body)
		checkCode(t, body, r.Code)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: Detect took %v", name, d)
		}
	}
}
