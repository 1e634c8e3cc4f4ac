package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// confirmAnswer makes the page's next confirmation dialogs answer yes or no
// (headless Chromium would otherwise wait on them).
func confirmAnswer(yes bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`window.confirm = (q) => { window.__asked = q; return %v; }, true`, yes))(ctx, target)
		return err
	})
}

// TestBrowserGatewayHealth: the admin console's gateway page shows each
// gateway's health, when it was last heard from, its numbers for sale and its
// traffic; it rotates a token (shown once, with the warning that the old one
// stopped), and disables and enables a gateway after a confirmation. The pool
// page edits a number's device and slot; the inbound page lists unmatched
// messages.
func TestBrowserGatewayHealth(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits", "--gateway-silence", "5s")
	shot := newScreenshots(t, "gateways")
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(what, sel string) string { return read(t, ctx, what, chromedp.Text(css(sel))) }

	// A gateway with three numbers (one in a device slot) sends a message and
	// one for a number that is not its own.
	gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "Edge bank"}, http.StatusCreated)
	gwID, token := str(t, gw["id"]), str(t, gw["token"])
	s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": gwID, "numbers": []any{
		"+12015550100", "+12015550101", map[string]any{"number": "+12015550102", "device_id": "bank-1", "sim_slot": 1}}}, http.StatusCreated)
	s.call(t, http.MethodPost, "/v1/inbound/sms", token, map[string]any{"id": "edge-1", "to": "+12015550100", "from": "+15550001111", "body": "Hello from the edge"}, http.StatusAccepted)
	s.expect(t, http.MethodPost, "/v1/inbound/sms", token, map[string]any{"id": "edge-2", "to": "+13105550100", "from": "+15550002222", "body": "For a number we never had"}, http.StatusNotFound)

	// Heard from just before the page is read (a loaded machine may take
	// seconds to sign in; the silence allowed is 5 s).
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusNoContent)
	step(t, ctx, "admin signs in",
		chromedp.Navigate(s.BaseURL+"/login?next=/admin/gateways"),
		chromedp.SendKeys(id("email"), "admin@fetchsms.dev"),
		chromedp.SendKeys(id("password"), "sandbox-admin"),
		chromedp.Click(css(`main form button`)),
		chromedp.WaitVisible(id("gateways")),
		shot.take("healthy"),
	)
	row := `#gateways tr[data-name="Edge bank"]`
	if h, n := text("health", row+" td.health"), text("numbers", row+" td.for-sale"); !strings.HasPrefix(h, "ok") || n != "3 / 3" {
		t.Fatalf("the new gateway: health %q, numbers %q", h, n)
	}
	if traffic := text("traffic", row+" + tr.gw-traffic"); !strings.Contains(traffic, "Hello from the edge") || !strings.Contains(traffic, "(201) 555-0100") {
		t.Fatalf("its recent traffic: %q", traffic)
	}
	if sim := text("sandbox", `#gateways tr[data-name="Sandbox SIM bank"] td.health`); !strings.HasPrefix(sim, "ok") {
		t.Fatalf("the sandbox SIM bank: %q", sim)
	}

	// The gateway falls silent: its numbers are off sale.
	deadline := time.Now().Add(40 * time.Second)
	for {
		step(t, ctx, "reload", chromedp.Navigate(s.BaseURL+"/admin/gateways"), chromedp.WaitVisible(id("gateways")))
		if strings.HasPrefix(text("health", row+" td.health"), "silent") && text("numbers", row+" td.for-sale") == "0 / 3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway is not shown silent with nothing for sale after 40 s: %q", text("row", row))
		}
		time.Sleep(200 * time.Millisecond)
	}
	step(t, ctx, "silent screenshot", shot.take("silent"))

	// Rotate, answering no, then yes: the new token is shown once, with the
	// warning; the old one stops, the new one is heard and relists it.
	step(t, ctx, "rotate declined", confirmAnswer(false), chromedp.Click(css(row+` form[action$="/rotate"] button`)))
	if asked := read(t, ctx, "question", chromedp.Evaluate[string](`window.__asked || ""`)); !strings.Contains(asked, "old token stops working at once") {
		t.Fatalf("the rotate confirmation asked %q", asked)
	}
	if has := read(t, ctx, "no secret", chromedp.Evaluate[bool](`document.querySelector("#new-secret") === null`)); !has {
		t.Fatal("a declined rotation showed a token")
	}
	step(t, ctx, "rotate", confirmAnswer(true), chromedp.Click(css(row+` form[action$="/rotate"] button`)))
	waitJS(t, ctx, "new token shown", `/^fsg_/.test(document.querySelector("#new-secret")?.textContent)`)
	step(t, ctx, "rotated screenshot", shot.take("rotated"))
	rotated := text("new token", "#new-secret")
	if warn := text("warning", "#token-warning"); !strings.HasPrefix(rotated, "fsg_") || !strings.Contains(warn, "old token of Edge bank stopped working") {
		t.Fatalf("rotation: token %q, warning %q", rotated, warn)
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusUnauthorized)
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", rotated, nil, http.StatusNoContent)
	step(t, ctx, "back on sale", chromedp.Navigate(s.BaseURL+"/admin/gateways"), chromedp.WaitVisible(id("gateways")))
	if h, n := text("health", row+" td.health"), text("numbers", row+" td.for-sale"); !strings.HasPrefix(h, "ok") || n != "3 / 3" {
		t.Fatalf("after its heartbeat: health %q, numbers %q", h, n)
	}

	// Disable and enable, each after its confirmation.
	step(t, ctx, "disable", confirmAnswer(true), chromedp.Click(css(row+` form[action$="/disable"] button`)))
	waitJS(t, ctx, "disabled", `/Edge bank is disabled/.test(document.querySelector(".flash-ok")?.textContent)`)
	step(t, ctx, "disabled screenshot", shot.take("disabled"))
	if f, h := text("flash", ".flash-ok"), text("health", row+" td.health"); !strings.Contains(f, "Edge bank is disabled") || !strings.HasPrefix(h, "disabled") {
		t.Fatalf("disabled: flash %q, health %q", f, h)
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", rotated, nil, http.StatusUnauthorized)
	step(t, ctx, "enable", confirmAnswer(true), chromedp.Click(css(row+` form[action$="/enable"] button`)))
	waitJS(t, ctx, "enabled", `/Edge bank is enabled/.test(document.querySelector(".flash-ok")?.textContent)`)
	step(t, ctx, "enabled screenshot", shot.take("enabled"))

	// The pool page ties a number to a slot, and refuses a taken one.
	nrow := `#numbers tr[data-number="+12015550101"]`
	step(t, ctx, "device",
		chromedp.Navigate(s.BaseURL+"/admin/numbers"),
		chromedp.WaitVisible(id("numbers")),
		chromedp.Click(css(nrow+` div.device summary`)),
		chromedp.SetValue(css(nrow+` input[name="device_id"]`), "bank-1"),
		chromedp.SetValue(css(nrow+` input[name="sim_slot"]`), "2"),
		shot.take("device-edit"),
		chromedp.Click(css(nrow+` form.device-form button`)),
	)
	waitJS(t, ctx, "device saved", `/is in slot 2/.test(document.querySelector(".flash-ok")?.textContent)`)
	step(t, ctx, "device saved screenshot", shot.take("device-saved"))
	if f, where := text("flash", ".flash-ok"), text("where", nrow+" div.device .where"); !strings.Contains(f, "(201) 555-0101 is in slot 2 of device bank-1") || where != "bank-1 / 2" {
		t.Fatalf("device saved: flash %q, shown %q", f, where)
	}
	step(t, ctx, "slot taken",
		chromedp.Click(css(nrow+` div.device summary`)),
		chromedp.SetValue(css(nrow+` input[name="sim_slot"]`), "1"),
		chromedp.Click(css(nrow+` form.device-form button`)),
	)
	waitJS(t, ctx, "slot refused", `/already holds/.test(document.querySelector(".flash-err")?.textContent)`)
	step(t, ctx, "slot taken screenshot", shot.take("device-taken"))
	if f, where := text("flash", ".flash-err"), text("where", nrow+" div.device .where"); !strings.Contains(f, "already holds another number") || where != "bank-1 / 2" {
		t.Fatalf("a taken slot: flash %q, shown %q", f, where)
	}

	// The inbound page's unmatched view lists the message for no number of ours.
	step(t, ctx, "unmatched",
		chromedp.Navigate(s.BaseURL+"/admin/inbound"),
		chromedp.WaitVisible(id("inbound")),
		follow(`a[href="/admin/inbound?view=unmatched"]`),
		chromedp.WaitVisible(id("unmatched")),
		shot.take("unmatched"),
	)
	if un := text("unmatched", "#unmatched"); !strings.Contains(un, "For a number we never had") || !strings.Contains(un, "(310) 555-0100") || !strings.Contains(un, "Edge bank") {
		t.Fatalf("unmatched view: %q", un)
	}
}
