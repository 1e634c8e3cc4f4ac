package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrors checks that bad requests get a 4xx with exactly {"detail": "…"} (the
// do helper asserts the body shape on every error) and never change anything.
func TestErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	before := s.balance(t, s.DemoSession)

	t.Run("MalformedJSONIs400", func(t *testing.T) {
		for _, body := range []string{`{"service": 4`, `{service: 4}`, `not json`, ``, `[1,2]`, `{"service": 4} {"service": 4}`} {
			d := s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, body, http.StatusBadRequest)
			if d == "" {
				t.Errorf("body %q: empty detail", body)
			}
		}
	})
	t.Run("UnknownFieldIs400", func(t *testing.T) {
		d := s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, `{"service": 4, "servise": 4}`, http.StatusBadRequest)
		if !strings.Contains(d, "servise") {
			t.Errorf("detail %q does not name the unknown field", d)
		}
	})
	t.Run("OversizedBodyIs413", func(t *testing.T) {
		big := `{"service": "` + strings.Repeat("a", 70<<10) + `"}`
		s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, big, http.StatusRequestEntityTooLarge)
	})
	t.Run("WrongTypeIs4xxNamingTheField", func(t *testing.T) {
		// field "" only requires a non-empty detail.
		for _, c := range []struct {
			path, body, field string
		}{
			{"/v1/verifications", `{"service": true}`, "service"},
			{"/v1/verifications", `{"service": 4, "area_code": 332}`, "area_code"},
			{"/v1/rentals", `{"service": 1, "days": "30"}`, ""},
			{"/v1/rentals", `{"service": 1, "days": 1.5}`, ""},
		} {
			status, _, raw := s.do(t, http.MethodPost, c.path, s.APIKey, c.body)
			if status < 400 || status >= 500 {
				t.Errorf("%s %s: %d, want 4xx", c.path, c.body, status)
				continue
			}
			d := decode[map[string]any](t, raw)["detail"].(string)
			if d == "" || !strings.Contains(d, c.field) {
				t.Errorf("%s %s: detail %q does not say what is wrong with %q", c.path, c.body, d, c.field)
			}
		}
	})
	t.Run("BadIDIs404", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/verifications/123", s.APIKey, nil, http.StatusNotFound)
		s.expect(t, http.MethodGet, "/v1/verifications/00000000-0000-4000-8000-000000000000", s.APIKey, nil, http.StatusNotFound)
		s.expect(t, http.MethodPost, "/v1/rentals/%27%20OR%201=1--/cancel", s.APIKey, nil, http.StatusNotFound)
	})
	t.Run("UnknownRouteIs404JSON", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/nope", "", nil, http.StatusNotFound)
		s.expect(t, http.MethodGet, "/", "", nil, http.StatusNotFound)
	})
	t.Run("WrongMethodIs405JSON", func(t *testing.T) {
		for _, c := range [][2]string{
			{http.MethodDelete, "/v1/services"},
			{http.MethodPost, "/v1/services/quote"},
			{http.MethodPut, "/v1/verifications"},
			{http.MethodDelete, "/v1/wallet"},
		} {
			status, hdr, raw := s.do(t, c[0], c[1], s.APIKey, nil)
			if status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d %s, want 405", c[0], c[1], status, raw)
				continue
			}
			if hdr.Get("Allow") == "" {
				t.Errorf("%s %s: 405 without an Allow header", c[0], c[1])
			}
		}
	})
	t.Run("NothingChanged", func(t *testing.T) {
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("bad requests changed the balance: %d → %d", before, b)
		}
		if l := s.list(t, "/v1/verifications?tab=active", s.APIKey); len(l) != 0 {
			t.Errorf("bad requests made verifications: %v", l)
		}
	})
}

// TestSandboxEndpointsAbsentOutsideSandbox: the test clock and fake SMS do not exist
// on a real server.
func TestSandboxEndpointsAbsentOutsideSandbox(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.expect(t, http.MethodPost, "/v1/sandbox/clock/advance", "", map[string]any{"seconds": 60}, http.StatusNotFound)
	s.expect(t, http.MethodPost, "/v1/sandbox/sms", "", map[string]any{"to": "+13325550100", "from": "Telegram", "body": "x"}, http.StatusNotFound)
	services := s.list(t, "/v1/services", "")
	if len(services) < 50 {
		t.Errorf("a plain server has %d services, want the default catalog", len(services))
	}
}

// TestErrorCodes: each error answer carries a stable machine-readable code
// beside the seed's detail, so clients need not match sentences (SPEC §3).
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	codeOf := func(method, path, token string, body any, want int) string {
		t.Helper()
		status, _, raw := s.do(t, method, path, token, body)
		if status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
		}
		c, _ := decode[map[string]any](t, raw)["code"].(string)
		return c
	}
	broke, _ := s.signup(t)
	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
	s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 555123")
	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
	}{
		{"POST", "/v1/verifications", s.APIKey, map[string]any{"service": "no-such-service"}, 404, "unknown_service"},
		{"POST", "/v1/verifications", broke, map[string]any{"service": "telegram"}, 402, "insufficient_balance"},
		{"POST", "/v1/verifications", s.APIKey, map[string]any{"service": "telegram", "area_code": "999"}, 409, "out_of_stock"},
		{"POST", "/v1/verifications/" + str(t, v["id"]) + "/cancel", s.APIKey, nil, 409, "already_received"},
		{"GET", "/v1/verifications", "", nil, 401, "unauthorized"},
		{"POST", "/v1/verifications", s.APIKey, "{", 400, "invalid_request"},
		{"GET", "/v1/nowhere", "", nil, 404, "not_found"},
		{"DELETE", "/v1/services", "", nil, 405, "method_not_allowed"},
	} {
		if got := codeOf(c.method, c.path, c.token, c.body, c.status); got != c.code {
			t.Errorf("%s %s: code %q, want %q", c.method, c.path, got, c.code)
		}
	}
}
