package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserWithoutJavaScript: the dashboard is server-rendered HTML with plain
// forms, and app.js only enhances it. With the page's scripts off, a customer
// still signs in, buys a number, sees its code by reloading, and creates an API
// key that works.
func TestBrowserWithoutJavaScript(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turning scripts off: %v", err)
	}
	s := startServer(t, "--sandbox", "--no-ip-limits")
	shot := newScreenshots(t, "nojs")
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	step(t, ctx, "sign in",
		chromedp.Navigate(s.BaseURL+"/login"),
		chromedp.SendKeys(id("email"), "demo@fetchsms.dev"),
		chromedp.SendKeys(id("password"), "sandbox-demo"),
		shot.take("login"),
		chromedp.Click(css(`main form button`)),
		chromedp.WaitVisible(id("balance")),
	)
	// app.js marks the page when it runs; here it must not have.
	if ran := read(t, ctx, "scripts off", chromedp.Evaluate[bool](`document.documentElement.classList.contains("js")`)); ran {
		t.Fatal("app.js ran: the page's scripts are not off")
	}
	before := read(t, ctx, "balance", chromedp.Text(id("balance")))

	step(t, ctx, "buy",
		chromedp.Navigate(s.BaseURL+"/dashboard/catalog"),
		chromedp.WaitVisible(id("services")),
		chromedp.Click(css(`tr[data-slug="telegram"] button`)),
		chromedp.WaitVisible(id("vstatus")),
		shot.take("verification-waiting"),
	)
	page := read(t, ctx, "verification page", chromedp.Location())
	if hint := read(t, ctx, "waiting hint", chromedp.Text(css(".waiting-box"))); !strings.Contains(hint, "Press Refresh") || strings.Contains(hint, "by itself") {
		t.Fatalf("without scripts the page should say to refresh: %q", hint)
	}
	// No polling without scripts: the customer presses Refresh until the code is
	// there (the simulated SIM bank answers within 1–3 s).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if has := read(t, ctx, "code shown", chromedp.Evaluate[bool](`document.querySelector("#code") !== null`)); has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no code on %s after reloading for 20 s", page)
		}
		time.Sleep(500 * time.Millisecond)
		step(t, ctx, "refresh", chromedp.Click(css(`#waiting-actions a.no-js`)), chromedp.WaitVisible(id("vstatus")))
	}
	step(t, ctx, "code screenshot", shot.take("verification-code"))
	code := read(t, ctx, "code", chromedp.Text(id("code")))
	if len(code) < 4 {
		t.Fatalf("code %q", code)
	}
	step(t, ctx, "wallet", chromedp.Navigate(s.BaseURL+"/dashboard/wallet"), chromedp.WaitVisible(id("balance")))
	if after := read(t, ctx, "balance", chromedp.Text(id("balance"))); after == before {
		t.Fatalf("balance still %s after a code arrived", after)
	}

	step(t, ctx, "create key",
		chromedp.Navigate(s.BaseURL+"/dashboard/api"),
		chromedp.SendKeys(id("key-name"), "nojs"),
		chromedp.Click(css(`form:has(#key-name) button`)),
		chromedp.WaitVisible(id("new-secret")),
		shot.take("api-key-created"),
	)
	key := read(t, ctx, "key", chromedp.Text(id("new-secret")))
	if !strings.HasPrefix(key, "fsk_") {
		t.Fatalf("key shown: %q", key)
	}
	if st, _, raw := s.do(t, "GET", "/v1/verifications?tab=history", key, nil); st != 200 || !strings.Contains(string(raw), code) {
		t.Fatalf("the new key lists the verification: %d %s", st, raw)
	}
}
