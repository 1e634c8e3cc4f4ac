package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"net/http/httptest"

	"github.com/chromedp/chromedp"
)

// loginLink is the sign-in link the tests' messages carry; the '&' checks
// that every answer writes it as sent (and the pages escape it).
const loginLink = "https://telegram.org/login/AbC123?t=9&u=2"

// TestLoginLinks: a message whose only secret is a sign-in link releases the
// verification with the link beside a null code, through the real inbound path
// (the sandbox's SMS endpoint), on every engine: the JSON API (one and the
// list), the sms.received webhook, the event stream's verification.updated,
// the SMS-Activate protocol, a rental's messages and the dashboard page (as
// text, never as an anchor). A code wins when both are present; another
// service's link and a URL that is no sign-in link release nothing (issue 26).
func TestLoginLinks(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		rc := &hookReceiver{}
		recv := httptest.NewServer(rc)
		defer recv.Close()
		s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL + "/hooks"}, http.StatusCreated)
		start := s.balance(t, s.DemoSession)

		stream := openEvents(t, s, "", bearer(s.APIKey))
		defer stream.close()
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		if _, ok := v["link"]; !ok || v["link"] != nil {
			t.Fatalf("a new verification's link: %v", v)
		}
		path := "/v1/verifications/" + str(t, v["id"])
		routed := s.sms(t, str(t, v["number"]), "Telegram", "Tap to log in to Telegram: "+loginLink+". Never share it.")
		if rt, _ := routed["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != v["id"] {
			t.Fatalf("routed: %v", routed)
		}
		got := s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK)
		if got["status"] != "received" || got["link"] != loginLink || got["code"] != nil {
			t.Fatalf("after the link: %v", got)
		}
		found := false
		for _, x := range s.list(t, "/v1/verifications?tab=history", s.APIKey) {
			found = found || x["id"] == v["id"] && x["link"] == loginLink
		}
		if !found {
			t.Fatal("the list does not carry the link")
		}
		// Charged, never refunded: cancel is refused.
		if raw := s.errorCode(t, http.MethodPost, path+"/cancel", s.APIKey, nil, http.StatusConflict); raw != "already_received" {
			t.Fatalf("cancel after the link: %s", raw)
		}
		if b := s.balance(t, s.DemoSession); b != start-num(t, v["cost_cents"]) {
			t.Fatalf("balance %d, want %d", b, start-num(t, v["cost_cents"]))
		}
		// The webhook and the stream.
		h := rc.wait(t, "sms.received", str(t, v["id"]))
		var p struct{ Data map[string]any }
		if err := json.Unmarshal(h.Body, &p); err != nil || p.Data["link"] != loginLink || p.Data["code"] != "" || strings.Contains(string(h.Body), "Never share") {
			t.Fatalf("webhook payload %s", h.Body)
		}
		for {
			ev := stream.next(t)
			if ev.Type == "verification.updated" {
				if d := payload(t, ev).Data; d["status"] != "received" || d["link"] != loginLink {
					t.Fatalf("verification.updated %+v", d)
				}
				break
			}
		}

		// The dashboard shows the link as text to copy, never as an anchor.
		_, html := s.page(t, "GET", "/dashboard/verifications/"+str(t, v["id"]), s.DemoSession, nil, nil)
		escaped := strings.ReplaceAll(loginLink, "&", "&amp;")
		if !strings.Contains(html, `id="link">`+escaped+`<`) || !strings.Contains(html, `data-copy="#link"`) {
			t.Fatalf("the page does not show the link to copy:\n%s", html)
		}
		if strings.Contains(html, `href="`+escaped) || strings.Contains(html, `href="https://telegram.org`) {
			t.Fatal("the page links to the sign-in link")
		}

		// A code wins; the link rides along.
		v2 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.sms(t, str(t, v2["number"]), "Telegram", "Telegram code 482910. Or log in with "+loginLink)
		if got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v2["id"]), s.APIKey, nil, http.StatusOK); got["code"] != "482910" || got["link"] != loginLink {
			t.Fatalf("code and link: %v", got)
		}

		// Another service's link, and a URL that is no sign-in link: nothing.
		w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		s.sms(t, str(t, w["number"]), "Telegram", "Tap to log in to Telegram: "+loginLink)
		s.sms(t, str(t, w["number"]), "WhatsApp", "WhatsApp: see what's new https://whatsapp.com/new")
		if got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, w["id"]), s.APIKey, nil, http.StatusOK); got["status"] != "waiting" || got["link"] != nil {
			t.Fatalf("a link that is not the service's: %v", got)
		}
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, w["id"])+"/cancel", s.APIKey, nil, http.StatusOK)

		// SMS-Activate: the link where the protocol puts the code.
		id, number := s.buyHA(t, s.APIKey, "service", "tg", "country", "187")
		s.sms(t, number, "Telegram", "Your Telegram login link: "+loginLink)
		wantWord(t, s.haKey(t, s.APIKey, "action", "getStatus", "id", id), "STATUS_OK:"+loginLink)
		var v2s struct {
			SMS struct{ Code, Text string } `json:"sms"`
		}
		if raw := s.haKey(t, s.APIKey, "action", "getStatusV2", "id", id); json.Unmarshal([]byte(raw), &v2s) != nil || v2s.SMS.Text != loginLink || v2s.SMS.Code != "" {
			t.Fatalf("getStatusV2: %s", raw)
		}

		// A rental's messages carry their links.
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 1}, http.StatusCreated)
		s.sms(t, str(t, r["number"]), "Telegram", "Tap to log in to Telegram: "+loginLink)
		ms := s.list(t, "/v1/rentals/"+str(t, r["id"])+"/messages", s.APIKey)
		if len(ms) != 1 || ms[0]["link"] != loginLink || ms[0]["code"] != nil {
			t.Fatalf("rental messages: %v", ms)
		}
		_, html = s.page(t, "GET", "/dashboard/rentals/"+str(t, r["id"]), s.DemoSession, nil, nil)
		if !strings.Contains(html, `id="link-`+str(t, ms[0]["id"])+`">`+escaped+`<`) || strings.Contains(html, `href="https://telegram.org`) {
			t.Fatalf("the rental page does not show the link to copy (or links to it):\n%s", html)
		}
	})
}

// TestBrowserLoginLink: the verification page shows a released sign-in link as
// text with a copy button, appearing without a reload, and the page holds no
// anchor to it (issue 26).
func TestBrowserLoginLink(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	shot := newScreenshots(t, "link")
	step(t, ctx, "log in",
		chromedp.Navigate(s.BaseURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "demo@fetchsms.dev"),
		chromedp.SendKeys(chromedp.ID("password"), "sandbox-demo"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("balance")),
	)
	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
	step(t, ctx, "waiting page", chromedp.Navigate(s.BaseURL+"/dashboard/verifications/"+str(t, v["id"])), chromedp.WaitVisible(chromedp.ID("vstatus")))
	s.sms(t, str(t, v["number"]), "Telegram", "Tap to log in to Telegram: "+loginLink)
	step(t, ctx, "link appears", chromedp.WaitVisible(chromedp.ID("link")), shot.take("verification-link"))
	if got := read(t, ctx, "link", chromedp.Text(chromedp.ID("link"))); got != loginLink {
		t.Fatalf("link %q", got)
	}
	if n := read(t, ctx, "anchors", chromedp.Evaluate[int](`document.querySelectorAll('a[href*="telegram.org"]').length`)); n != 0 {
		t.Fatalf("%d anchors to the sign-in link", n)
	}
	if visible := read(t, ctx, "copy button", chromedp.Evaluate[bool](`!document.querySelector('[data-copy="#link"]').hidden`)); !visible {
		t.Fatal("no copy button for the link")
	}
	if n := read(t, ctx, "no code box", chromedp.Evaluate[int](`document.querySelectorAll('#code').length`)); n != 0 {
		t.Fatal("a code box for a link-only release")
	}
}
