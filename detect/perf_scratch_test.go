package detect

import (
	"strings"
	"testing"
	"time"
)

func TestPerfScratch(t *testing.T) {
	e := New(testRules())
	for name, body := range map[string]string{
		"digits-space": strings.Repeat("1234 ", 20000),
		"nospace":      strings.Repeat("a1234-", 20000),
		"uber":         strings.Repeat("uber ", 20000),
		"code":         strings.Repeat("code is 123456. ", 6000),
		"letters":      strings.Repeat("x", 100000) + " 1234",
		"cyr":          strings.Repeat("аa", 50000),
		"hash":         strings.Repeat("#", 50000) + "1234",
		"digitsonly":   strings.Repeat("1234567890", 10000),
		"dots":         strings.Repeat("1.", 50000),
	} {
		st := time.Now()
		e.Detect("Uber", body)
		t.Logf("%s: %v", name, time.Since(st))
	}
}
