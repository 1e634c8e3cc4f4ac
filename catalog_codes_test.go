package fetchsms

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestDefaultActivationCodes: every SMS-Activate code of the default catalog
// names one of its short-term services, once, in that protocol's form, and the
// codes its tools use most reach the services they mean.
func TestDefaultActivationCodes(t *testing.T) {
	cat := DefaultCatalog()
	bySlug := map[string]Service{}
	for _, s := range cat {
		bySlug[s.Slug] = s
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Slug, err)
		}
	}
	owner := map[string]string{}
	for slug, code := range defaultActivationCodes {
		s, ok := bySlug[slug]
		switch {
		case !ok:
			t.Errorf("code %q is for %q, which is not in the default catalog", code, slug)
		case s.ActivationCode != code:
			t.Errorf("%s has code %q, want %q", slug, s.ActivationCode, code)
		case s.IsLongTerm() || code == "":
			t.Errorf("%s: code %q on the long-term product, or empty", slug, code)
		}
		if other, dup := owner[code]; dup {
			t.Errorf("code %q on both %s and %s", code, other, slug)
		}
		owner[code] = slug
	}
	for code, slug := range map[string]string{"tg": "telegram", "wa": "whatsapp", "go": "google", "ig": "instagram", "fb": "facebook",
		"tw": "twitter", "ds": "discord", "ub": "uber", "am": "amazon", "oi": "tinder", "ts": "paypal", "dr": "openai"} {
		if owner[code] != slug {
			t.Errorf("code %q is %q's, want %q's", code, owner[code], slug)
		}
	}
	if len(owner) < 60 {
		t.Errorf("%d default services have a code, want at least 60", len(owner))
	}
}

// TestActivationCodesDocumented: docs/SMS-ACTIVATE.md's table of service codes
// is the default catalog's, row for row.
func TestActivationCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "SMS-ACTIVATE.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9]+)` \\| (.+) \\| (\\$\\d+\\.\\d\\d) \\|$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = m[2] + " " + m[3]
	}
	want := map[string]string{}
	for _, s := range DefaultCatalog() {
		if s.ActivationCode != "" {
			want[s.ActivationCode] = s.Name + " " + Dollars(s.PriceCents)
		}
	}
	for code, w := range want {
		if documented[code] != w {
			t.Errorf("code %s: documented %q, want %q", code, documented[code], w)
		}
	}
	for code := range documented {
		if want[code] == "" {
			t.Errorf("code %s documented, but no default service has it", code)
		}
	}
}
