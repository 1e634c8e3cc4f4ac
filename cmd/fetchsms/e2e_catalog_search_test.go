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

// TestOtherService: the "Other / any service not listed" verification releases
// the first code-bearing message that names no listed service, and nothing else:
// not a listed service's code, not a message without a code.
func TestOtherService(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "other"}, http.StatusCreated)
		if v["service_name"] != "Other / any service not listed" {
			t.Fatalf("bought %v", v)
		}
		path := "/v1/verifications/" + str(t, v["id"])
		to := str(t, v["number"])
		s.sms(t, to, "Telegram", "Telegram code: 48291\n\nDo not give this code to anyone, even if they say they are from Telegram!")
		s.sms(t, to, "+14155550100", "Your Acme Widgets order has shipped.")
		s.sms(t, to, "22000", "G-412157 is your Google verification code.")
		if got := s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK); got["code"] != nil || got["status"] != "waiting" {
			t.Fatalf("released a listed service's message or one without a code: %v", got)
		}
		s.sms(t, to, "+14155550177", "Your Acme Widgets verification code is 730194. It expires in 10 minutes.")
		got := s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK)
		if got["code"] != "730194" || got["status"] != "received" {
			t.Fatalf("the unlisted service's code was not released: %v", got)
		}
		// A listed service's verification is unchanged: it never takes an unlisted sender's code.
		w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.sms(t, str(t, w["number"]), "+14155550177", "Your Acme Widgets verification code is 730195.")
		if got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, w["id"]), s.APIKey, nil, http.StatusOK); got["code"] != nil {
			t.Fatalf("a Telegram verification took another sender's code: %v", got)
		}
	})
}
