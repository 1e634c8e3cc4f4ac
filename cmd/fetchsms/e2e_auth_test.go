package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestCredentials checks SPEC §2: three kinds of credential, never interchangeable;
// the wrong kind is 403, a missing or bad one 401, another customer's resource 404.
func TestCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "auth-test gateway"}, http.StatusCreated)
	gwToken := str(t, gw["token"])
	if !strings.HasPrefix(gwToken, "fsg_") {
		t.Fatalf("gateway token %q, want fsg_…", gwToken)
	}

	t.Run("MissingIs401", func(t *testing.T) {
		for _, p := range []string{"/v1/verifications", "/v1/wallet", "/v1/account", "/v1/admin/users", "/v1/rentals"} {
			s.expect(t, http.MethodGet, p, "", nil, http.StatusUnauthorized)
		}
		s.expect(t, http.MethodPost, "/v1/inbound/sms", "", map[string]any{"id": "x", "to": "+13325550100", "from": "Telegram", "body": "x"}, http.StatusUnauthorized)
	})
	t.Run("GarbageIs401", func(t *testing.T) {
		for _, tok := range []string{"garbage", "fsk_notarealkey", "fss_notarealsession", "fsg_notarealgateway"} {
			s.expect(t, http.MethodGet, "/v1/verifications", tok, nil, http.StatusUnauthorized)
		}
		status, _, raw := s.doHeader(t, http.MethodGet, "/v1/verifications", "Basic Zm9vOmJhcg==")
		if status != http.StatusUnauthorized {
			t.Errorf("Basic auth: %d %s, want 401", status, raw)
		}
	})
	t.Run("APIKeyRefusedOnDashboardRoutes", func(t *testing.T) {
		for _, p := range []string{"/v1/wallet", "/v1/wallet/ledger", "/v1/account", "/v1/api-keys", "/v1/admin/users"} {
			s.expect(t, http.MethodGet, p, s.APIKey, nil, http.StatusForbidden)
		}
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", s.APIKey, map[string]any{"amount_cents": 1000}, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/api-keys", s.APIKey, map[string]any{"name": "sneaky"}, http.StatusForbidden)
	})
	t.Run("APIKeyAndSessionWorkOnVerifications", func(t *testing.T) {
		s.call(t, http.MethodPost, "/v1/verifications", s.DemoSession, map[string]any{"service": 4}, http.StatusCreated)
		s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
		s.list(t, "/v1/verifications", s.DemoSession)
		s.list(t, "/v1/rentals", s.APIKey)
	})
	t.Run("GatewayTokenRefusedOnCustomerRoutes", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/verifications", gwToken, map[string]any{"service": 4}, http.StatusForbidden)
		s.expect(t, http.MethodGet, "/v1/verifications", gwToken, nil, http.StatusForbidden)
		s.expect(t, http.MethodGet, "/v1/wallet", gwToken, nil, http.StatusForbidden)
		s.expect(t, http.MethodGet, "/v1/admin/users", gwToken, nil, http.StatusForbidden)
	})
	t.Run("CustomerCredentialsRefusedOnInbound", func(t *testing.T) {
		body := map[string]any{"id": "auth-1", "to": "+13325550100", "from": "Telegram", "body": "Telegram code: 111111"}
		s.expect(t, http.MethodPost, "/v1/inbound/sms", s.APIKey, body, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/inbound/sms", s.DemoSession, body, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/inbound/sms", s.AdminSession, body, http.StatusForbidden)
	})
	t.Run("CustomerSessionRefusedOnAdmin", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/admin/users", s.DemoSession, nil, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/admin/gateways", s.DemoSession, map[string]any{"name": "x"}, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/sandbox/clock/advance", s.DemoSession, map[string]any{"seconds": 60}, http.StatusForbidden)
		s.list(t, "/v1/admin/users", s.AdminSession)
	})

	t.Run("OtherCustomersPurchasesAre404", func(t *testing.T) {
		other, otherID := s.signup(t)
		s.call(t, http.MethodPost, "/v1/wallet/deposits", other, map[string]any{"amount_cents": 2000}, http.StatusCreated)
		v := s.call(t, http.MethodPost, "/v1/verifications", other, map[string]any{"service": 4}, http.StatusCreated)
		r := s.call(t, http.MethodPost, "/v1/rentals", other, map[string]any{"service": 1, "days": 1}, http.StatusCreated)
		vid, rid := str(t, v["id"]), str(t, r["id"])
		for _, tok := range []string{s.APIKey, s.DemoSession} {
			s.expect(t, http.MethodGet, "/v1/verifications/"+vid, tok, nil, http.StatusNotFound)
			s.expect(t, http.MethodPost, "/v1/verifications/"+vid+"/cancel", tok, nil, http.StatusNotFound)
			s.expect(t, http.MethodGet, "/v1/rentals/"+rid, tok, nil, http.StatusNotFound)
			s.expect(t, http.MethodGet, "/v1/rentals/"+rid+"/messages", tok, nil, http.StatusNotFound)
			s.expect(t, http.MethodPost, "/v1/rentals/"+rid+"/cancel", tok, nil, http.StatusNotFound)
		}
		for _, x := range s.list(t, "/v1/verifications?tab=active", s.DemoSession) {
			if x["id"] == vid {
				t.Errorf("the demo user's list shows another customer's verification")
			}
		}
		// The owner still sees them, untouched.
		if got := s.call(t, http.MethodGet, "/v1/verifications/"+vid, other, nil, http.StatusOK); got["status"] != "waiting" {
			t.Errorf("owner's verification = %v, want waiting", got)
		}
		s.expect(t, http.MethodGet, "/v1/verifications/not-a-uuid", other, nil, http.StatusNotFound)
		_ = otherID
	})

	t.Run("SignupLoginLogout", func(t *testing.T) {
		email := "login-" + randomHex(4) + "@example.com"
		su := s.call(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": email, "password": "long enough pw"}, http.StatusCreated)
		s.expect(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": email, "password": "long enough pw"}, http.StatusConflict)
		s.expect(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": "x" + email, "password": "short"}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": "not-an-email", "password": "long enough pw"}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email}, http.StatusBadRequest)
		acct := s.call(t, http.MethodGet, "/v1/account", str(t, su["token"]), nil, http.StatusOK)
		if acct["email"] != email || acct["role"] != "customer" || acct["id"] == nil {
			t.Errorf("account = %v", acct)
		}
		parseTS(t, acct["created_at"])

		s.expect(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email, "password": "wrong password"}, http.StatusUnauthorized)
		s.expect(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": "nobody-" + email, "password": "long enough pw"}, http.StatusUnauthorized)
		li := s.call(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email, "password": "long enough pw"}, http.StatusOK)
		tok := str(t, li["token"])
		parseTS(t, li["expires_at"])
		if u, _ := li["user"].(map[string]any); u == nil || u["email"] != email {
			t.Errorf("login user = %v", li["user"])
		}
		s.call(t, http.MethodGet, "/v1/wallet", tok, nil, http.StatusOK)
		s.call(t, http.MethodPost, "/v1/auth/logout", tok, nil, http.StatusNoContent)
		s.expect(t, http.MethodGet, "/v1/wallet", tok, nil, http.StatusUnauthorized)
		s.expect(t, http.MethodGet, "/v1/verifications", tok, nil, http.StatusUnauthorized)
		// The signup session is a different session and keeps working.
		s.call(t, http.MethodGet, "/v1/account", str(t, su["token"]), nil, http.StatusOK)
	})

	t.Run("DisabledAccountCredentialsAre401", func(t *testing.T) {
		email := "disabled-" + randomHex(4) + "@example.com"
		su := s.call(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": email, "password": "long enough pw"}, http.StatusCreated)
		sess, uid := str(t, su["token"]), str(t, su["user"].(map[string]any)["id"])
		key := str(t, s.call(t, http.MethodPost, "/v1/api-keys", sess, map[string]any{"name": "k"}, http.StatusCreated)["key"])
		u := s.call(t, http.MethodPost, "/v1/admin/users/"+uid+"/disable", s.AdminSession, nil, http.StatusOK)
		if u["disabled"] != true {
			t.Errorf("disable answer = %v", u)
		}
		s.expect(t, http.MethodGet, "/v1/account", sess, nil, http.StatusUnauthorized)
		s.expect(t, http.MethodGet, "/v1/verifications", key, nil, http.StatusUnauthorized)
		st, _, raw := s.do(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email, "password": "long enough pw"})
		if st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("login of a disabled account: %d %s, want 401 or 403", st, raw)
		}
		s.call(t, http.MethodPost, "/v1/admin/users/"+uid+"/enable", s.AdminSession, nil, http.StatusOK)
		s.call(t, http.MethodGet, "/v1/account", sess, nil, http.StatusOK)
		s.list(t, "/v1/verifications", key)
	})
	t.Run("APIKeyLifecycle", func(t *testing.T) {
		sess, _ := s.signup(t)
		created := s.call(t, http.MethodPost, "/v1/api-keys", sess, map[string]any{"name": "ci"}, http.StatusCreated)
		key := str(t, created["key"])
		if !strings.HasPrefix(key, "fsk_") || created["name"] != "ci" {
			t.Fatalf("created key = %v", created)
		}
		id := str(t, created["id"])
		s.list(t, "/v1/verifications", key)

		keys := s.list(t, "/v1/api-keys", sess)
		if len(keys) != 1 || keys[0]["id"] != id {
			t.Fatalf("api key list = %v, want the one key", keys)
		}
		for _, k := range keys {
			if _, ok := k["key"]; ok {
				t.Errorf("list shows the secret: %v", k)
			}
			for _, v := range k {
				if sv, ok := v.(string); ok && sv == key {
					t.Errorf("list leaks the secret in %v", k)
				}
			}
		}

		rot := s.call(t, http.MethodPost, "/v1/api-keys/"+id+"/rotate", sess, nil, http.StatusCreated)
		newKey := str(t, rot["key"])
		if newKey == key || !strings.HasPrefix(newKey, "fsk_") {
			t.Fatalf("rotated key = %q", newKey)
		}
		s.expect(t, http.MethodGet, "/v1/verifications", key, nil, http.StatusUnauthorized)
		s.list(t, "/v1/verifications", newKey)
		for _, k := range s.list(t, "/v1/api-keys", sess) {
			if _, ok := k["key"]; ok {
				t.Errorf("list after rotate shows a secret: %v", k)
			}
		}

		s.call(t, http.MethodDelete, "/v1/api-keys/"+str(t, rot["id"]), sess, nil, http.StatusNoContent)
		s.expect(t, http.MethodGet, "/v1/verifications", newKey, nil, http.StatusUnauthorized)
		s.expect(t, http.MethodPost, "/v1/verifications", newKey, map[string]any{"service": 4}, http.StatusUnauthorized)

		// Another customer cannot touch this account's keys.
		s.expect(t, http.MethodPost, "/v1/api-keys/"+id+"/rotate", s.DemoSession, nil, http.StatusNotFound)
		s.expect(t, http.MethodPost, "/v1/api-keys", sess, map[string]any{"name": ""}, http.StatusUnprocessableEntity)
	})
}

// doHeader sends a GET with a raw Authorization header value.
func (s *testServer) doHeader(t *testing.T, method, path, authorization string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode >= 400 {
		assertErrorBody(t, method+" "+path, resp.Header, []byte(b.String()))
	}
	return resp.StatusCode, resp.Header, []byte(b.String())
}
