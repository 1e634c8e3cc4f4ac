package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLiveStream: the waiting page and the rental page follow the
// account's event stream (EventSource on /v1/events): a code, and a rental's
// message, appear on the open page without a reload, and without the 2 s
// polling (the watched element is not replaced until the event comes).
func TestBrowserLiveStream(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	shot := newScreenshots(t, "stream")
	step(t, ctx, "log in",
		chromedp.Navigate(s.BaseURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "demo@fetchsms.dev"),
		chromedp.SendKeys(chromedp.ID("password"), "sandbox-demo"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("balance")),
	)
	// settle waits for the stream, marks the page and the watched element,
	// and lets more than one polling period pass: nothing may replace it.
	settle := func(what, sel string) {
		waitJS(t, ctx, what+": stream open", `document.documentElement.dataset.stream === "open"`)
		time.Sleep(500 * time.Millisecond) // the fragment fetched on open is in
		read(t, ctx, what+": mark", chromedp.Evaluate[bool](`(window.__noReload = true) && (document.querySelector(`+"`"+sel+"`"+`).__same = true)`))
		time.Sleep(2500 * time.Millisecond)
		if same := read(t, ctx, what+": not polled", chromedp.Evaluate[bool](`document.querySelector(`+"`"+sel+"`"+`).__same === true`)); !same {
			t.Fatalf("%s: the element was replaced with no event: the page polls", what)
		}
	}

	// A verification's code.
	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
	step(t, ctx, "waiting page", chromedp.Navigate(s.BaseURL+"/dashboard/verifications/"+str(t, v["id"])), chromedp.WaitVisible(chromedp.ID("vstatus")))
	settle("verification", "#vstatus")
	s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 318274")
	step(t, ctx, "code appears", chromedp.WaitVisible(chromedp.ID("code")), shot.take("verification-code"))
	if code := read(t, ctx, "code", chromedp.Text(chromedp.ID("code"))); code != "318274" {
		t.Fatalf("code %q", code)
	}
	if same := read(t, ctx, "no reload", chromedp.Evaluate[bool](`window.__noReload === true`)); !same {
		t.Fatal("the page was reloaded")
	}

	// A rental's message.
	r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
	step(t, ctx, "rental page", chromedp.Navigate(s.BaseURL+"/dashboard/rentals/"+str(t, r["id"])), chromedp.WaitVisible(chromedp.ID("rmessages")))
	settle("rental", "#rmessages")
	s.sms(t, str(t, r["number"]), "AcmeBank", "Your AcmeBank login code is 604219")
	waitJS(t, ctx, "message appears", `/604219/.test(document.querySelector("#rmessages").textContent)`)
	step(t, ctx, "rental screenshot", shot.take("rental-message"))
	if same := read(t, ctx, "no reload", chromedp.Evaluate[bool](`window.__noReload === true`)); !same {
		t.Fatal("the rental page was reloaded")
	}
}
