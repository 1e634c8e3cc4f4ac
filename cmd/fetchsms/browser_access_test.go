package main

// HTTP-level tests of the dashboard's security rules (no browser needed): who may
// see which page, CSRF on forms and on cookie-authenticated JSON writes, the
// session cookie's attributes, and the support API of SPEC §3.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// page sends a request as a browser would: the session in a cookie, redirects
// not followed.
func (s *testServer) page(t *testing.T, method, path, session string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.BaseURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "fetchsms_session", Value: session})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func TestDashboardAccessAndCSRF(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")

	t.Run("NoCookieGoesToLogin", func(t *testing.T) {
		resp, _ := s.page(t, "GET", "/dashboard/wallet", "", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fdashboard%2Fwallet" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("CustomerOnAdminPageIs403", func(t *testing.T) {
		resp, body := s.page(t, "GET", "/admin/users", s.DemoSession, nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "staff only") {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("PagesCarryCSPAndNoStore", func(t *testing.T) {
		resp, _ := s.page(t, "GET", "/dashboard", s.DemoSession, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
	})

	_, home := s.page(t, "GET", "/dashboard", s.DemoSession, nil, nil)
	m := csrfMeta.FindStringSubmatch(home)
	if m == nil {
		t.Fatal("no csrf-token meta on the dashboard")
	}
	token := m[1]

	t.Run("FormWithoutTokenIs403", func(t *testing.T) {
		for name, form := range map[string]url.Values{"missing": {"name": {"x"}}, "wrong": {"name": {"x"}, "csrf_token": {"AAAA" + token[4:]}}} {
			resp, _ := s.page(t, "POST", "/dashboard/api/keys", s.DemoSession, form, nil)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s token: %d", name, resp.StatusCode)
			}
		}
	})
	t.Run("FormFromAnotherOriginIs403", func(t *testing.T) {
		resp, _ := s.page(t, "POST", "/dashboard/api/keys", s.DemoSession, url.Values{"name": {"x"}, "csrf_token": {token}}, map[string]string{"Origin": "https://evil.example"})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("FormWithTokenWorks", func(t *testing.T) {
		// POST-redirect-GET: the new key crosses the redirect sealed in a cookie,
		// is shown once, and a reload of the page shows it no more.
		resp, body := s.page(t, "POST", "/dashboard/api/keys", s.DemoSession, url.Values{"name": {"form key"}, "csrf_token": {token}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/api" || strings.Contains(body, "fsk_") {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var shown *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "fetchsms_shown" {
				shown = c
			}
		}
		if shown == nil || !shown.HttpOnly || shown.Path != "/dashboard/api" || strings.Contains(shown.Value, "fsk_") {
			t.Fatalf("shown cookie: %+v", shown)
		}
		get := func(session string) (*http.Response, string) {
			return s.page(t, "GET", "/dashboard/api", "", nil, map[string]string{"Cookie": "fetchsms_session=" + session + "; fetchsms_shown=" + shown.Value})
		}
		// Another account's page never opens it.
		if _, body := get(s.AdminSession); strings.Contains(body, `id="new-secret"`) {
			t.Fatal("another account was shown the key")
		}
		resp, body = get(s.DemoSession)
		key := regexp.MustCompile(`fsk_[A-Za-z0-9_-]+`).FindString(body)
		if resp.StatusCode != http.StatusOK || key == "" {
			t.Fatalf("after the redirect: %d, key %q", resp.StatusCode, key)
		}
		if st, _, _ := s.do(t, "GET", "/v1/balance", key, nil); st != http.StatusOK {
			t.Fatalf("the key shown does not work: %d", st)
		}
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || c.Name == "fetchsms_shown" && c.MaxAge < 0
		}
		if !cleared {
			t.Fatal("the page that showed the key did not delete its cookie")
		}
		if _, body := s.page(t, "GET", "/dashboard/api", s.DemoSession, nil, nil); strings.Contains(body, key) {
			t.Fatal("a reload shows the key again")
		}
	})
	t.Run("RotateWebhookSecret", func(t *testing.T) {
		ep := s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": "http://127.0.0.1:9/hooks"}, http.StatusCreated)
		old := str(t, ep["secret"])
		resp, _ := s.page(t, "POST", "/dashboard/api/webhooks/"+str(t, ep["id"])+"/rotate", s.DemoSession, url.Values{"csrf_token": {token}}, nil)
		var shown *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "fetchsms_shown" {
				shown = c
			}
		}
		if resp.StatusCode != http.StatusSeeOther || shown == nil {
			t.Fatalf("rotate: %d, shown cookie %v", resp.StatusCode, shown)
		}
		_, body := s.page(t, "GET", "/dashboard/api", "", nil, map[string]string{"Cookie": "fetchsms_session=" + s.DemoSession + "; fetchsms_shown=" + shown.Value})
		secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(body)
		if secret == "" || secret == old || !strings.Contains(body, "previous one") {
			t.Fatalf("the new secret is not shown once after the rotation: %q", secret)
		}
		// The endpoint's page says until when the previous secret signs.
		if _, body := s.page(t, "GET", "/dashboard/api/webhooks/"+str(t, ep["id"]), s.DemoSession, nil, nil); !strings.Contains(body, `id="previous-secret"`) {
			t.Fatal("the endpoint's page does not say the previous secret still signs")
		}
		// Rotating with no overlap: the old secret stops at once, and the
		// API says so; an overlap beyond 7 days is refused, nothing rotated.
		resp, _ = s.page(t, "POST", "/dashboard/api/webhooks/"+str(t, ep["id"])+"/rotate", s.DemoSession, url.Values{"csrf_token": {token}, "overlap": {"0"}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("rotate with no overlap: %d", resp.StatusCode)
		}
		_, _, raw := s.do(t, http.MethodGet, "/v1/webhooks", s.DemoSession, nil)
		var list []map[string]any
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e["id"] == ep["id"] && e["previous_secret_expires_at"] != nil {
				t.Fatalf("after a rotation with no overlap: %v", e)
			}
		}
		if _, body := s.page(t, "GET", "/dashboard/api/webhooks/"+str(t, ep["id"]), s.DemoSession, nil, nil); strings.Contains(body, `id="previous-secret"`) {
			t.Fatal("the endpoint's page says a previous secret signs after a rotation with no overlap")
		}
		resp, _ = s.page(t, "POST", "/dashboard/api/webhooks/"+str(t, ep["id"])+"/rotate", s.DemoSession, url.Values{"csrf_token": {token}, "overlap": {"604801"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/dashboard/api") {
			t.Fatalf("rotate with too long an overlap: %d", resp.StatusCode)
		}
	})
	t.Run("FailedFormKeepsWhatWasTyped", func(t *testing.T) {
		long := strings.Repeat("k", 101)
		resp, body := s.page(t, "POST", "/dashboard/api/keys", s.DemoSession, url.Values{"name": {long}, "csrf_token": {token}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="`+long+`"`) || !strings.Contains(body, "flash-err") {
			t.Fatalf("%d %s", resp.StatusCode, truncateText(body, 300))
		}
		resp, body = s.page(t, "POST", "/dashboard/api/webhooks", s.DemoSession, url.Values{"url": {"ftp://nope.example/x"}, "events": {"sms.received"}, "csrf_token": {token}}, nil)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, `value="ftp://nope.example/x"`) {
			t.Fatalf("webhook: %d %s", resp.StatusCode, truncateText(body, 300))
		}
	})
	t.Run("AnotherSessionsTokenIs403", func(t *testing.T) {
		resp, _ := s.page(t, "POST", "/dashboard/api/keys", s.AdminSession, url.Values{"name": {"x"}, "csrf_token": {token}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("CookieJSONWriteNeedsHeader", func(t *testing.T) {
		cookie := map[string]string{"Cookie": "fetchsms_session=" + s.DemoSession}
		st, _, _, err := s.sendWith("POST", "/v1/api-keys", "", map[string]string{"name": "x"}, toHeader(cookie))
		if err != nil || st != http.StatusForbidden {
			t.Fatalf("cookie without X-CSRF-Token: %d %v", st, err)
		}
		cookie["X-CSRF-Token"] = token
		if st, _, raw, _ := s.sendWith("POST", "/v1/api-keys", "", map[string]string{"name": "x"}, toHeader(cookie)); st != http.StatusCreated {
			t.Fatalf("cookie with X-CSRF-Token: %d %s", st, raw)
		}
		if st, _, _, _ := s.sendWith("GET", "/v1/wallet", "", nil, toHeader(map[string]string{"Cookie": "fetchsms_session=" + s.DemoSession})); st != http.StatusOK {
			t.Fatalf("cookie read: %d", st)
		}
		s.call(t, "POST", "/v1/api-keys", s.DemoSession, map[string]string{"name": "bearer"}, http.StatusCreated)
	})
	t.Run("LoginSetsAStrictCookie", func(t *testing.T) {
		resp, body := s.page(t, "GET", "/login", "", nil, nil)
		var pre *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "fetchsms_csrf" {
				pre = c
			}
		}
		field := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
		if pre == nil || field == nil || field[1] != pre.Value {
			t.Fatal("login form without its double-submit token")
		}
		form := url.Values{"email": {"demo@fetchsms.dev"}, "password": {"sandbox-demo"}, "csrf_token": {field[1]}, "next": {"//evil.example"}}
		if resp, _ := s.page(t, "POST", "/login", "", form, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("login without the pre-session cookie: %d", resp.StatusCode)
		}
		resp, _ = s.page(t, "POST", "/login", "", form, map[string]string{"Cookie": "fetchsms_csrf=" + pre.Value})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard" {
			t.Fatalf("login: %d → %s (an off-site next must be dropped)", resp.StatusCode, resp.Header.Get("Location"))
		}
		sc := resp.Header.Get("Set-Cookie")
		if !strings.HasPrefix(sc, "fetchsms_session=fss_") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
			t.Fatalf("session cookie over plain HTTP: %s", sc)
		}
		bad := url.Values{"email": {"demo@fetchsms.dev"}, "password": {"wrong-password"}, "csrf_token": {pre.Value}}
		if resp, body := s.page(t, "POST", "/login", "", bad, map[string]string{"Cookie": "fetchsms_csrf=" + pre.Value}); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
			t.Fatalf("bad password: %d", resp.StatusCode)
		}
	})
}

func toHeader(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func TestSupportAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	other := s.call(t, "POST", "/v1/auth/signup", "", map[string]string{"email": "other@example.com", "password": "password123"}, http.StatusCreated)
	otherSession := str(t, other["token"])

	t.Run("APIKeyIs403", func(t *testing.T) {
		s.call(t, "GET", "/v1/support/tickets", s.APIKey, nil, http.StatusForbidden)
	})
	t.Run("Validation", func(t *testing.T) {
		s.call(t, "POST", "/v1/support/tickets", s.DemoSession, map[string]string{"body": "x"}, http.StatusBadRequest)
		s.call(t, "POST", "/v1/support/tickets", s.DemoSession, map[string]string{"subject": "s", "body": "b", "verification_id": "nope"}, http.StatusNotFound)
		s.call(t, "POST", "/v1/support/tickets", s.DemoSession, map[string]any{"subject": "s", "body": "b", "extra": 1}, http.StatusBadRequest)
	})
	var ids []string
	for _, subj := range []string{"first", "second", "third"} {
		tk := s.call(t, "POST", "/v1/support/tickets", s.DemoSession, map[string]string{"subject": subj, "body": "help with " + subj}, http.StatusCreated)
		if tk["status"] != "open" || len(tk["messages"].([]any)) != 1 {
			t.Fatalf("created: %v", tk)
		}
		ids = append(ids, str(t, tk["id"]))
	}
	st, hdr, raw := s.do(t, "GET", "/v1/support/tickets?limit=2", s.DemoSession, nil)
	if st != 200 || hdr.Get("X-Next-Cursor") == "" || !strings.Contains(string(raw), `"third"`) || strings.Contains(string(raw), `"first"`) {
		t.Fatalf("list: %d %s %s", st, hdr.Get("X-Next-Cursor"), raw)
	}
	s.call(t, "GET", "/v1/support/tickets/"+ids[0], otherSession, nil, http.StatusNotFound)
	s.call(t, "POST", "/v1/support/tickets/"+ids[0]+"/messages", otherSession, map[string]string{"body": "mine?"}, http.StatusNotFound)
	s.call(t, "GET", "/v1/admin/support/tickets", s.DemoSession, nil, http.StatusForbidden)

	reply := s.call(t, "POST", "/v1/admin/support/tickets/"+ids[0]+"/messages", s.AdminSession, map[string]string{"body": "On it."}, http.StatusCreated)
	if reply["author"] != "staff" {
		t.Fatalf("reply: %v", reply)
	}
	got := s.call(t, "GET", "/v1/support/tickets/"+ids[0], s.DemoSession, nil, http.StatusOK)
	if got["status"] != "answered" || len(got["messages"].([]any)) != 2 {
		t.Fatalf("after reply: %v", got)
	}
	closed := s.call(t, "POST", "/v1/admin/support/tickets/"+ids[0]+"/close", s.AdminSession, nil, http.StatusOK)
	if closed["status"] != "closed" || closed["email"] != "demo@fetchsms.dev" {
		t.Fatalf("closed: %v", closed)
	}
	queue := s.call(t, "GET", "/v1/admin/support/tickets/"+ids[1], s.AdminSession, nil, http.StatusOK)
	if queue["subject"] != "second" {
		t.Fatalf("admin read: %v", queue)
	}
	s.call(t, "GET", "/v1/admin/support/tickets?status=bogus", s.AdminSession, nil, http.StatusUnprocessableEntity)
	s.call(t, "POST", "/v1/support/tickets/"+ids[0]+"/messages", s.DemoSession, map[string]string{"body": "Still broken"}, http.StatusCreated)
	if got := s.call(t, "GET", "/v1/support/tickets/"+ids[0], s.DemoSession, nil, http.StatusOK); got["status"] != "open" {
		t.Fatalf("a customer's reply reopens: %v", got["status"])
	}
}
