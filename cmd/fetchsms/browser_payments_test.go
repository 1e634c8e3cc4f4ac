package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// startHostedStripe starts a sandbox server whose deposits go through the Stripe
// stand-in's hosted checkout (the stand-in first: the server needs its URL, and
// the stand-in then needs the server's webhook). Payments' events are held until
// the test releases them, so that the customer is back before Stripe's event.
func startHostedStripe(t *testing.T) (*testServer, *stripetest.API) {
	t.Helper()
	const whsec = "whsec_browser_payments"
	s, api, _ := startStripeServer(t, engineSQLite, whsec)
	api.Hosted(t, s.BaseURL+"/v1/payments/stripe/webhook", whsec)
	api.HoldEvents()
	return s, api
}

// browserSignup signs a new customer up in the browser; they land on the wallet.
func browserSignup(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	email := fmt.Sprintf("payer-%d@example.com", time.Now().UnixNano())
	step(t, ctx, "sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("balance")),
	)
	return email
}

// TestBrowserPayments: Add funds by card → the stand-in's checkout page → Pay →
// back on the wallet, which shows the deposit pending and then, when Stripe's
// event arrives, credited with the new balance, without a reload; a second
// deposit cancelled at the checkout says nothing was charged; the admin sees
// both deposits and the event that credited the first.
func TestBrowserPayments(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s, api := startHostedStripe(t)
	shot := newScreenshots(t, "payments")
	base := s.BaseURL
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	email := browserSignup(t, ctx, base)

	// Add $25 by card: the server offers the choice, card first.
	step(t, ctx, "add funds",
		chromedp.WaitVisible(id("providers")),
		chromedp.Click(css(`input[name="provider"][value="stripe"]`)),
		chromedp.SetValue(id("amount"), "25"),
		shot.take("wallet-add-funds"),
		chromedp.Submit(id("amount")),
	)
	waitJS(t, ctx, "the stand-in's checkout page", fmt.Sprintf(`location.href.startsWith(%q) && document.querySelector("#pay") !== null`, api.URL+"/pay/cs_test_"))
	if amount := read(t, ctx, "checkout amount", chromedp.Text(id("amount"))); amount != "$25.00 USD" {
		t.Fatalf("the checkout page asks for %q", amount)
	}
	step(t, ctx, "pay", shot.take("stripe-checkout"), chromedp.Submit(id("pay")))

	// Back on the wallet before Stripe's event: pending, then credited in place.
	waitJS(t, ctx, "back, pending", `location.pathname === "/dashboard/wallet" && /deposit=/.test(location.search) &&
		/Payment received by Stripe, waiting for confirmation/.test(document.querySelector("#deposit-box")?.textContent)`)
	read(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__noReload = true`))
	step(t, ctx, "pending screenshot", shot.take("deposit-pending"))
	if b := read(t, ctx, "balance while pending", chromedp.Text(id("balance"))); b != "$0.00" {
		t.Fatalf("balance %s before the payment is confirmed", b)
	}
	if err := api.ReleaseEvents(); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "credited", `/Credited \$25\.00 — your balance is now \$25\.00/.test(document.querySelector("#deposit-box")?.textContent) &&
		document.querySelector("#balance").textContent === "$25.00" && document.querySelector("#deposits .badge")?.textContent === "Credited"`)
	if same := read(t, ctx, "reload check", chromedp.Evaluate[bool](`window.__noReload === true`)); !same {
		t.Fatal("the page was reloaded: the box should update in place")
	}
	step(t, ctx, "credited screenshot", shot.take("deposit-credited"))

	// A second deposit, cancelled at the checkout.
	step(t, ctx, "second deposit",
		chromedp.SetValue(id("amount"), "10"),
		chromedp.Submit(id("amount")),
	)
	waitJS(t, ctx, "the second checkout page", `document.querySelector("#cancel") !== null`)
	step(t, ctx, "cancel", chromedp.Submit(id("cancel")))
	waitJS(t, ctx, "cancelled", `/cancelled=1/.test(location.search) && /Checkout cancelled — nothing was charged/.test(document.querySelector("#deposit-box")?.textContent)`)
	step(t, ctx, "cancelled screenshot", shot.take("deposit-cancelled"))
	if b := read(t, ctx, "balance after cancel", chromedp.Text(id("balance"))); b != "$25.00" {
		t.Fatalf("balance %s after a cancelled checkout", b)
	}

	// The admin sees both deposits, and the event that credited the first.
	step(t, ctx, "admin", append(adminLogin(),
		chromedp.Navigate(base+"/admin/payments"),
		chromedp.WaitVisible(id("payments")),
		shot.take("admin-payments"),
	)...)
	rows := read(t, ctx, "payments", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#payments tbody tr")].map(r => r.innerText.replace(/\s+/g, " "))`))
	if len(rows) != 2 || !strings.Contains(rows[0], email) || !strings.Contains(rows[0], "$10.00") || !strings.Contains(rows[0], "Pending") ||
		!strings.Contains(rows[1], "$25.00") || !strings.Contains(rows[1], "Credited") || !strings.Contains(rows[1], "cs_test_") {
		t.Fatalf("the admin's payments: %q", rows)
	}
	step(t, ctx, "payment events",
		follow(`.subnav a[href="/admin/payment-events"]`),
		chromedp.WaitVisible(id("payment-events")),
		shot.take("admin-payment-events"),
	)
	events := read(t, ctx, "events", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#payment-events tbody tr")].map(r => r.innerText.replace(/\s+/g, " "))`))
	if len(events) != 1 || !strings.Contains(events[0], "evt_paid_") || !strings.Contains(events[0], "checkout.session.completed") ||
		!strings.Contains(events[0], "25.00 USD") || !strings.HasSuffix(strings.TrimSpace(events[0]), "credited") {
		t.Fatalf("the admin's payment events: %q", events)
	}
}

// TestBrowserPaymentsWithoutJavaScript: with scripts off, Add funds still
// reaches the checkout (the page moves on by a meta refresh), and back on the
// wallet the pending deposit says to press Refresh; after Stripe's event,
// Refresh shows it credited.
func TestBrowserPaymentsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turning scripts off: %v", err)
	}
	s, api := startHostedStripe(t)
	shot := newScreenshots(t, "nojs-payments")
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	browserSignup(t, ctx, s.BaseURL)

	step(t, ctx, "add funds", chromedp.SetValue(id("amount"), "25"), chromedp.Click(css(`#add-funds button[type="submit"]:not([name])`)))
	waitJS(t, ctx, "the stand-in's checkout page", fmt.Sprintf(`location.href.startsWith(%q) && document.querySelector("#pay") !== null`, api.URL+"/pay/"))
	step(t, ctx, "pay", chromedp.Click(id("pay")))
	waitJS(t, ctx, "back, pending", `location.pathname === "/dashboard/wallet" && document.querySelector("#deposit-box") !== null`)
	if ran := read(t, ctx, "scripts off", chromedp.Evaluate[bool](`document.documentElement.classList.contains("js")`)); ran {
		t.Fatal("app.js ran: the page's scripts are not off")
	}
	step(t, ctx, "pending screenshot", shot.take("deposit-pending"))
	if box := read(t, ctx, "pending box", chromedp.Text(id("deposit-box"))); !strings.Contains(box, "waiting for confirmation") || !strings.Contains(box, "Press Refresh") ||
		strings.Contains(box, "by itself") {
		t.Fatalf("without scripts the box should say to refresh: %q", box)
	}
	if err := api.ReleaseEvents(); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "refresh", chromedp.Click(css(`#deposit-box a.btn.no-js`)))
	waitJS(t, ctx, "credited", `/Credited \$25\.00 — your balance is now \$25\.00/.test(document.querySelector("#deposit-box")?.textContent) &&
		document.querySelector("#balance").textContent === "$25.00"`)
	step(t, ctx, "credited screenshot", shot.take("deposit-credited"))
}
