package fetchsms_test

import (
	"testing"

	"github.com/fetchsms/fetchsms"
)

// TestCatalogSearch: the searches the dashboard's walk-through missed find their
// service, whatever the case and spacing, and a query for nothing finds nothing.
func TestCatalogSearch(t *testing.T) {
	t.Parallel()
	find := func(q string) []string {
		var out []string
		for _, s := range fetchsms.DefaultCatalog() {
			if s.Matches(q) {
				out = append(out, s.Slug)
			}
		}
		return out
	}
	has := func(list []string, slug string) bool {
		for _, s := range list {
			if s == slug {
				return true
			}
		}
		return false
	}
	for q, want := range map[string]string{
		"Uber Eats": "uber-eats", "ubereats": "uber-eats", "UBER EATS": "uber-eats", "uber-eats": "uber-eats",
		"Cash App": "cash-app", "cashapp": "cash-app", "ChatGPT": "openai", "chat gpt": "openai", "  Telegram ": "telegram",
	} {
		if got := find(q); !has(got, want) {
			t.Errorf("search %q found %v, want %s among them", q, got, want)
		}
	}
	if got := find("Uber Eats"); has(got, "uber") {
		t.Errorf("search \"Uber Eats\" also found uber: %v", got)
	}
	if got := find("zzzz-no-such"); len(got) != 0 {
		t.Errorf("search for nothing found %v", got)
	}
	if got := find(""); len(got) != len(fetchsms.DefaultCatalog()) {
		t.Errorf("empty search found %d of %d", len(got), len(fetchsms.DefaultCatalog()))
	}
}

func FuzzFoldSearch(f *testing.F) {
	for _, s := range []string{"Uber Eats", "OpenAI (ChatGPT)", "", "ÄÖü 12", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := fetchsms.FoldSearch(s)
		if fetchsms.FoldSearch(k) != k {
			t.Fatalf("FoldSearch(%q) = %q is not a fixed point", s, k)
		}
		svc := fetchsms.Service{Name: s, Slug: "x"}
		if !svc.Matches(s) {
			t.Fatalf("a service named %q does not match its own name", s)
		}
	})
}
