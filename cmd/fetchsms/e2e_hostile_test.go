package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// hostileBodies are request bodies a careless or hostile client sends.
var hostileBodies = []string{
	``, `{`, `}`, `[]`, `null`, `true`, `"str"`, `12`, `{}`, `{"a":1}{"b":2}`, `{"service": null}`,
	`{"service": {}}`, `{"service": []}`, `{"service": 1e999}`, `{"service": -1}`, `{"service": 0}`,
	`{"service": "` + strings.Repeat("x", 5000) + `"}`, `{"service": 4, "area_code": 332}`,
	`{"service": 4, "area_code": "3\u0000"}`, `{"days": 1e10, "service": 1}`, `{"days": -9223372036854775808, "service": 1}`,
	`{"amount_cents": 9223372036854775807}`, `{"amount_cents": "100"}`, `{"seconds": 1.5}`,
	`{"email": 5, "password": []}`, `{"url": "http://[::1"}`, `{"numbers": "x", "gateway_id": 1}`,
	`{"to": "+1", "from": "", "body": null}`, `{"name": "` + strings.Repeat("é", 300) + `"}`,
	"\xff\xfe\xfd", `{"service": "telegram\u202e"}`,
}

// routes of the API, with {id} standing for path ids.
var hostileRoutes = []struct{ method, path string }{
	{"GET", "/v1/services"}, {"GET", "/v1/services/area-codes"}, {"GET", "/v1/services/quote"},
	{"POST", "/v1/verifications"}, {"GET", "/v1/verifications"}, {"GET", "/v1/verifications/{id}"}, {"POST", "/v1/verifications/{id}/cancel"},
	{"POST", "/v1/rentals"}, {"GET", "/v1/rentals"}, {"GET", "/v1/rentals/{id}"}, {"GET", "/v1/rentals/{id}/messages"}, {"POST", "/v1/rentals/{id}/cancel"},
	{"POST", "/v1/auth/signup"}, {"POST", "/v1/auth/login"}, {"POST", "/v1/auth/logout"}, {"GET", "/v1/account"},
	{"GET", "/v1/api-keys"}, {"POST", "/v1/api-keys"}, {"POST", "/v1/api-keys/{id}/rotate"}, {"DELETE", "/v1/api-keys/{id}"},
	{"GET", "/v1/wallet"}, {"GET", "/v1/wallet/ledger"}, {"POST", "/v1/wallet/deposits"}, {"GET", "/v1/wallet/deposits"}, {"GET", "/v1/wallet/deposits/{id}"},
	{"GET", "/v1/balance"}, {"POST", "/v1/payments/sandbox/webhook"}, {"POST", "/v1/payments/{id}/webhook"},
	{"GET", "/v1/admin/deposits"}, {"POST", "/v1/admin/deposits/{id}/refund"}, {"POST", "/v1/admin/deposits/{id}/settle"}, {"GET", "/v1/admin/payment-events"},
	{"GET", "/v1/webhooks"}, {"POST", "/v1/webhooks"}, {"DELETE", "/v1/webhooks/{id}"}, {"POST", "/v1/webhooks/{id}/test"}, {"GET", "/v1/webhooks/{id}/deliveries"},
	{"POST", "/v1/inbound/sms"}, {"POST", "/v1/inbound/android/{id}"}, {"POST", "/v1/inbound/twilio/{id}"}, {"POST", "/v1/inbound/ejoin/{id}"}, {"POST", "/v1/inbound/heartbeat"},
	{"GET", "/v1/admin/users"}, {"GET", "/v1/admin/users/{id}"}, {"POST", "/v1/admin/users/{id}/adjustments"},
	{"POST", "/v1/admin/gateways"}, {"POST", "/v1/admin/numbers"}, {"GET", "/v1/admin/gateways"},
	{"POST", "/v1/admin/gateways/{id}/rotate"}, {"POST", "/v1/admin/gateways/{id}/disable"}, {"POST", "/v1/admin/gateways/{id}/enable"},
	{"GET", "/v1/admin/inbound/unmatched"}, {"POST", "/v1/webhooks/{id}/deliveries/{id}/redeliver"},
	{"GET", "/v1/admin/numbers"}, {"PATCH", "/v1/admin/numbers/{id}"},
	{"POST", "/v1/sandbox/clock/advance"}, {"POST", "/v1/sandbox/sms"},
}

var hostileIDs = []string{"x", "00000000-0000-0000-0000-000000000000", "../../etc/passwd", "%00", strings.Repeat("a", 3000), "9f3e1c2a-…", "1%27%20OR%201=1"}

var hostileQueries = []string{"", "?tab=nope", "?limit=0", "?limit=-1", "?limit=99999999999999999999", "?cursor=abc", "?cursor=-5",
	"?service=4&mode=long&days=abc", "?service=%00&mode=short", "?mode=short&service=" + strings.Repeat("9", 40), "?custom_area_code=maybe&service=4&mode=short"}

// TestNoRouteCanBeMadeToFail sends every route hostile bodies, ids, queries and
// headers, with every kind of credential, and requires a 4xx (or success) with a
// JSON detail: never a 5xx, never a panic (the server's log is checked for errors
// when it stops). On every engine: PostgreSQL refuses bytes SQLite keeps (a NUL,
// text that is not UTF-8), and signed gateway routes need the secret key.
func TestNoRouteCanBeMadeToFail(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--no-ip-limits", "--secret-key-file", secretKeyFile(t))
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "hostile"}, http.StatusCreated)
		tokens := []string{"", "garbage", "fsk_x", s.APIKey, s.DemoSession, s.AdminSession, str(t, gw["token"])}
		rng := rand.New(rand.NewPCG(1, 2))
		n := 0
		for _, rt := range hostileRoutes {
			for _, tok := range tokens {
				for i := 0; i < 6; i++ {
					path := strings.ReplaceAll(rt.path, "{id}", hostileIDs[rng.IntN(len(hostileIDs))])
					path += hostileQueries[rng.IntN(len(hostileQueries))]
					body := hostileBodies[rng.IntN(len(hostileBodies))]
					req, err := http.NewRequestWithContext(hostile(context.Background()), rt.method, s.BaseURL+path, bytes.NewReader([]byte(body)))
					if err != nil {
						continue // not a URL a client could send
					}
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					if rng.IntN(3) == 0 {
						req.Header.Set("Idempotency-Key", fmt.Sprint("k", rng.IntN(4)))
					}
					if rng.IntN(5) == 0 {
						req.Header.Set("Content-Type", "text/plain")
					}
					resp, err := s.client.Do(req)
					if err != nil {
						t.Fatalf("%s %s: %v", rt.method, path, err)
					}
					var buf bytes.Buffer
					buf.ReadFrom(resp.Body)
					resp.Body.Close()
					n++
					if resp.StatusCode >= 500 {
						t.Errorf("%s %.80s with %.60q: %d %s", rt.method, path, body, resp.StatusCode, buf.Bytes())
					}
					if resp.StatusCode >= 400 && !strings.Contains(buf.String(), `"detail"`) {
						t.Errorf("%s %.80s: %d without a detail: %s", rt.method, path, resp.StatusCode, buf.Bytes())
					}
					if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
						t.Errorf("%s %.80s: security headers missing", rt.method, path)
					}
				}
			}
		}
		t.Logf("%d hostile requests, none answered 5xx", n)
	})
}

// TestNoOpenRedirect: a signed-in browser sent to /login?next=… goes only to a
// path of this site, whatever the next parameter hides (issue 19, finding 1:
// browsers strip a tab, so "/\t/evil.example" left the site).
func TestNoOpenRedirect(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	for next, want := range map[string]string{
		"/%09/evil.example": "/dashboard", "/%0a/evil.example": "/dashboard", "/%0d%0a/evil.example": "/dashboard",
		"//evil.example": "/dashboard", "/%5Cevil.example": "/dashboard", "https://evil.example": "/dashboard",
		"/%20/evil.example": "/dashboard", "/dashboard/wallet": "/dashboard/wallet",
	} {
		resp, _ := s.page(t, "GET", "/login?next="+next, s.DemoSession, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("/login?next=%s: %d Location %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}
