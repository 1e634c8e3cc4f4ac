package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCatalogSearch: the default catalog of 400+ services, each with a category,
// is searchable by name, alias, parent brand and category on both engines, and a
// new service's code (a bank's) is released like any other.
func TestCatalogSearch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		all := s.list(t, "/v1/services", "")
		if len(all) < 400 {
			t.Fatalf("catalog has %d services, want at least 400", len(all))
		}
		for _, c := range all {
			if cat, _ := c["category"].(string); cat == "" {
				t.Errorf("no category: %v", c)
			}
			if _, ok := c["aliases"].([]any); !ok {
				t.Errorf("aliases not a list: %v", c)
			}
		}
		slugs := func(q string) []string {
			var out []string
			for _, c := range s.list(t, "/v1/services?q="+url.QueryEscape(q), "") {
				out = append(out, str(t, c["slug"]))
			}
			return out
		}
		has := func(l []string, slug string) bool {
			for _, x := range l {
				if x == slug {
					return true
				}
			}
			return false
		}
		for q, want := range map[string]string{
			"Twitter": "twitter", "meta": "facebook", "ChatGPT": "openai", "  CLAUDE ": "anthropic",
			"uber": "uber-eats", "banking": "chase", "gmail": "google", "jpmorgan": "chase", "comcast": "xfinity",
		} {
			if got := slugs(q); !has(got, want) {
				t.Errorf("?q=%q found %v, want %s among them", q, got, want)
			}
		}
		if got := slugs("banking & investing"); len(got) < 30 || has(got, "whatsapp") {
			t.Errorf("the category search found %d services: %v", len(got), got)
		}
		if got := slugs("no such service at all"); len(got) != 0 {
			t.Errorf("a search for nothing found %v", got)
		}
		if got := slugs(""); len(got) != len(all) {
			t.Errorf("an empty q found %d services, want all %d", len(got), len(all))
		}
		s.expect(t, http.MethodGet, "/v1/services?q="+strings.Repeat("a", 101), "", nil, http.StatusBadRequest)
		s.expect(t, http.MethodGet, "/v1/services?q=%ff", "", nil, http.StatusBadRequest)

		// A new service is bought and its code released.
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "chase"}, http.StatusCreated)
		s.sms(t, str(t, v["number"]), "72975", "Chase: Your one-time code is 55120988. Don't share it. We'll never call you for it.")
		got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK)
		if got["code"] != "55120988" || got["service"] != "chase" || got["service_name"] != "Chase" {
			t.Fatalf("Chase code not released: %v", got)
		}
	})
}
