package fetchsms

import (
	"strings"
	"testing"
)

// TestDefaultCategoryTables: the category and alias tables name only default
// services, each once, with no empty alias.
func TestDefaultCategoryTables(t *testing.T) {
	slugs := map[string]bool{}
	for _, s := range DefaultCatalog() {
		slugs[s.Slug] = true
	}
	seen := map[string]string{}
	for cat, list := range defaultCategories {
		for _, s := range strings.Fields(list) {
			if !slugs[s] {
				t.Errorf("category %q names unknown service %q", cat, s)
			}
			if other, ok := seen[s]; ok {
				t.Errorf("%s is in both %q and %q", s, other, cat)
			}
			seen[s] = cat
		}
	}
	for slug, list := range defaultAliases {
		if !slugs[slug] {
			t.Errorf("aliases of unknown service %q", slug)
		}
		for _, a := range strings.Split(list, ",") {
			if strings.TrimSpace(a) != a || a == "" {
				t.Errorf("%s: alias %q empty or not trimmed", slug, a)
			}
		}
	}
}
