package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAdminInboundLogAndNumberStatus drives the admin inbound log (every stored
// SMS, unmatched ones as unrouted) and disabling a pool number, over JSON and the
// admin pages.
func TestAdminInboundLogAndNumberStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	// A gateway with one number in an area code of its own, so that a purchase in
	// that area code can only take this number.
	gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "SIM bank 9"}, http.StatusCreated)
	s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
		map[string]any{"gateway_id": str(t, gw["id"]), "numbers": []string{"+19075550100"}}, http.StatusCreated)

	t.Run("InboundLog", func(t *testing.T) {
		if got := s.list(t, "/v1/admin/inbound", s.AdminSession); len(got) != 0 {
			t.Fatalf("log before any SMS: %v", got)
		}
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.sms(t, e164(t, str(t, v["number"])), "Telegram", "Telegram code: 482910")
		s.sms(t, "+19075550100", "+15550001111", "nobody bought this number")

		status, hdr, raw := s.do(t, http.MethodGet, "/v1/admin/inbound?limit=1", s.AdminSession, nil)
		if status != http.StatusOK || hdr.Get("X-Next-Cursor") == "" {
			t.Fatalf("page 1: %d %v %s", status, hdr, raw)
		}
		page1 := decode[[]map[string]any](t, raw)
		if len(page1) != 1 {
			t.Fatalf("page 1: %v", page1)
		}
		un := page1[0]
		if un["to"] != "+19075550100" || un["from"] != "+15550001111" || un["body"] != "nobody bought this number" || un["routed"] != "unrouted" ||
			un["service"] != nil || un["code"] != nil || un["verification_ref"] != nil || un["rental_ref"] != nil || un["gateway"] != "SIM bank 9" {
			t.Fatalf("unmatched SMS: %v", un)
		}
		page2 := s.list(t, "/v1/admin/inbound?limit=1&cursor="+hdr.Get("X-Next-Cursor"), s.AdminSession)
		if len(page2) != 1 {
			t.Fatalf("page 2: %v", page2)
		}
		m := page2[0]
		if m["routed"] != "verification" || m["verification_id"] != v["id"] || m["verification_ref"] != v["ref"] || m["code"] != "482910" ||
			m["service"] != "Telegram" || m["rental_id"] != nil || m["received_at"] == nil {
			t.Fatalf("routed SMS: %v (verification %v)", m, v)
		}

		// Only administrators read it.
		s.expect(t, http.MethodGet, "/v1/admin/inbound", s.DemoSession, nil, http.StatusForbidden)
		resp, body := s.page(t, "GET", "/admin/inbound", s.AdminSession, nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "nobody bought this number") || !strings.Contains(body, "unrouted") ||
			!strings.Contains(body, str(t, v["ref"])) {
			t.Fatalf("inbound page: %d", resp.StatusCode)
		}
	})

	t.Run("ServicesPage", func(t *testing.T) {
		resp, body := s.page(t, "GET", "/admin/services", s.AdminSession, nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Telegram") {
			t.Fatalf("services page: %d", resp.StatusCode)
		}
		token := csrfMeta.FindStringSubmatch(body)[1]
		form := url.Values{"csrf_token": {token}, "slug": {"page-chat"}, "name": {"Page Chat"}, "price": {"0.45"},
			"senders": {"PageChat, 55501"}, "keywords": {"Page Chat\npagechat"}, "enabled": {"1"}, "activation_code": {" PGC "}}
		resp, _ = s.page(t, "POST", "/admin/services", s.AdminSession, form, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/services" {
			t.Fatalf("add service: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var svc map[string]any
		for _, x := range s.list(t, "/v1/admin/services", s.AdminSession) {
			if x["slug"] == "page-chat" {
				svc = x
			}
		}
		if svc == nil || num(t, svc["price_cents"]) != 45 || svc["enabled"] != true || len(svc["senders"].([]any)) != 2 || len(svc["keywords"].([]any)) != 2 ||
			svc["activation_code"] != "pgc" {
			t.Fatalf("added service: %v", svc)
		}
		edit := "/admin/services/" + strconv.FormatInt(num(t, svc["id"]), 10)
		if resp, body := s.page(t, "GET", edit, s.AdminSession, nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="0.45"`) ||
			!strings.Contains(body, `name="activation_code" type="text" maxlength="10" pattern="[a-z0-9]*" value="pgc"`) {
			t.Fatalf("edit page: %d", resp.StatusCode)
		}
		// A code another service has is refused, and nothing changes.
		resp, _ = s.page(t, "POST", edit, s.AdminSession, url.Values{"csrf_token": {token}, "name": {"Page Chat X"}, "price": {"0.45"}, "activation_code": {"tg"}, "enabled": {"1"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != edit {
			t.Fatalf("taken code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = s.page(t, "POST", edit, s.AdminSession, url.Values{"csrf_token": {token}, "name": {"Page Chat"}, "price": {"abc"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != edit {
			t.Fatalf("bad price: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Unticked "enabled" disables it; the public catalog drops it at once.
		resp, _ = s.page(t, "POST", edit, s.AdminSession, url.Values{"csrf_token": {token}, "name": {"Page Chat 2"}, "price": {"0.50"}, "senders": {"PageChat"}, "keywords": {"pagechat"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/services" {
			t.Fatalf("edit: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, x := range s.list(t, "/v1/admin/services", s.AdminSession) {
			// The form without the code field leaves the code as it was.
			if x["slug"] == "page-chat" && (x["name"] != "Page Chat 2" || num(t, x["price_cents"]) != 50 || x["enabled"] != false || len(x["senders"].([]any)) != 1 ||
				x["activation_code"] != "pgc") {
				t.Fatalf("edited service: %v", x)
			}
		}
		if _, _, raw := s.do(t, http.MethodGet, "/v1/services", "", nil); strings.Contains(string(raw), "page-chat") {
			t.Fatal("a disabled service is still in the public catalog")
		}
		s.page(t, "POST", edit, s.AdminSession, url.Values{"csrf_token": {token}, "name": {"Page Chat"}, "price": {"0.50"}, "enabled": {"1"}, "activation_code": {""}}, nil)
		if _, _, raw := s.do(t, http.MethodGet, "/v1/services", "", nil); !strings.Contains(string(raw), "page-chat") {
			t.Fatal("a re-enabled service is not in the public catalog")
		}
		for _, x := range s.list(t, "/v1/admin/services", s.AdminSession) {
			if x["slug"] == "page-chat" && x["activation_code"] != nil {
				t.Fatalf("an emptied code field keeps the code: %v", x)
			}
		}
		if resp, _ := s.page(t, "GET", "/admin/services", s.DemoSession, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("customer on the services page: %d", resp.StatusCode)
		}
	})

	t.Run("DisableEnable", func(t *testing.T) {
		_, poolPage := s.page(t, "GET", "/admin/numbers", s.AdminSession, nil, nil)
		m := regexp.MustCompile(`action="/admin/numbers/([0-9a-f-]{36})/disable"`).FindStringSubmatch(poolPage)
		if m == nil || !strings.Contains(poolPage, "(907) 555-0100") {
			t.Fatal("no disable form for the new number on the pool page")
		}
		id := m[1] // newest first: the number just imported
		buy907 := map[string]any{"service": "whatsapp", "area_code": "907"}

		got := s.call(t, http.MethodPost, "/v1/admin/numbers/"+id+"/disable", s.AdminSession, nil, http.StatusOK)
		if got["id"] != id || got["status"] != "disabled" {
			t.Fatalf("disable: %v", got)
		}
		s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, buy907, http.StatusConflict)
		s.expect(t, http.MethodPost, "/v1/admin/numbers/"+id+"/disable", s.DemoSession, nil, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/admin/numbers/00000000-0000-4000-8000-000000000000/disable", s.AdminSession, nil, http.StatusNotFound)

		s.call(t, http.MethodPost, "/v1/admin/numbers/"+id+"/enable", s.AdminSession, nil, http.StatusOK)
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, buy907, http.StatusCreated)
		if e164(t, str(t, v["number"])) != "+19075550100" {
			t.Fatalf("bought %v", v["number"])
		}

		// The page's form disables it too; the held number stays held.
		token := csrfMeta.FindStringSubmatch(poolPage)[1]
		resp, _ := s.page(t, "POST", "/admin/numbers/"+id+"/disable", s.AdminSession, url.Values{"csrf_token": {token}, "number": {"+19075550100"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/numbers" {
			t.Fatalf("disable form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if w := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK); w["status"] != "waiting" {
			t.Fatalf("held verification after disable: %v", w)
		}
		_, poolPage = s.page(t, "GET", "/admin/numbers", s.AdminSession, nil, nil)
		if !strings.Contains(poolPage, `action="/admin/numbers/`+id+`/enable"`) {
			t.Fatal("disabled number has no enable form")
		}
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, buy907, http.StatusConflict)
	})
}

// TestAdminSearch: the admins' lists of users and numbers take ?q= (a part of
// the email; the digits of a number), over JSON and the console's pages, on
// every engine; a search that cannot be one is 400.
func TestAdminSearch(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "search bank"}, http.StatusCreated)
		s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": str(t, gw["id"]), "numbers": []string{"+19075550177", "+19075550188"}}, http.StatusCreated)

		users := s.list(t, "/v1/admin/users?q=DEMO", s.AdminSession)
		if len(users) != 1 || !strings.Contains(str(t, users[0]["email"]), "demo") {
			t.Fatalf("users matching DEMO: %v", users)
		}
		if got := s.list(t, "/v1/admin/users?q=nobody-has-this", s.AdminSession); len(got) != 0 {
			t.Fatalf("users matching nothing: %v", got)
		}
		for q, want := range map[string]int{"(907) 555-0177": 1, "1907555": 2, "19075550188": 1, "000000000": 0} {
			if got := s.list(t, "/v1/admin/numbers?q="+url.QueryEscape(q), s.AdminSession); len(got) != want {
				t.Fatalf("numbers matching %q: %d, want %d: %v", q, len(got), want, got)
			}
		}
		s.expect(t, http.MethodGet, "/v1/admin/numbers?q=abc", s.AdminSession, nil, http.StatusBadRequest)
		s.expect(t, http.MethodGet, "/v1/admin/users?q="+strings.Repeat("x", 101), s.AdminSession, nil, http.StatusBadRequest)

		_, body := s.page(t, "GET", "/admin/numbers?q=0177", s.AdminSession, nil, nil)
		if !strings.Contains(body, "(907) 555-0177") || strings.Contains(body, "555-0188") {
			t.Fatal("the pool page's search shows the wrong numbers")
		}
		_, body = s.page(t, "GET", "/admin/users?q=nobody-has-this", s.AdminSession, nil, nil)
		if !strings.Contains(body, "No user") {
			t.Fatal("the users page's empty search says nothing")
		}
	})
}
