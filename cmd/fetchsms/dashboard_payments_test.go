package main

// HTTP-level tests of the dashboard's payment pages (no browser needed): the
// wallet's deposits and the box of the deposit a provider sends the customer
// back with, the Add funds form's answers, and the admin's payment pages.

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// flashOf decodes the one-time message a form's answer leaves for the next page
// ("!" first for an error; the error's code, which the cookie carries before a
// "|", is left out).
func flashOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "fetchsms_flash" && c.Value != "" {
			b, err := base64.RawURLEncoding.DecodeString(c.Value)
			if err != nil {
				t.Fatal(err)
			}
			if f := string(b); strings.HasPrefix(f, "!") {
				if _, msg, ok := strings.Cut(f, "|"); ok {
					return "!" + msg
				}
			}
			return string(b)
		}
	}
	return ""
}

// csrfOf reads the CSRF token of a session from one of its pages.
func (s *testServer) csrfOf(t *testing.T, session string) string {
	t.Helper()
	_, body := s.page(t, "GET", "/dashboard", session, nil, nil)
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf-token meta on the dashboard")
	}
	return m[1]
}

var depositBox = regexp.MustCompile(`(?s)<section class="deposit-box" id="deposit-box".*?</section>`)

func TestDashboardPayments(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_dash_payments"
	s, _, post := startStripeServer(t, engineSQLite, whsec)
	sess, _ := s.signup(t)
	other, _ := s.signup(t)
	token := s.csrfOf(t, sess)
	event := func(id, typ, deposit, status string, amount int64) {
		t.Helper()
		if st, raw := post(stripetest.Event(t, whsec, id, typ, deposit, status, amount, time.Now())); st != http.StatusOK {
			t.Fatalf("event %s: %d %s", id, st, raw)
		}
	}
	wallet := func(session, query string) string {
		t.Helper()
		resp, body := s.page(t, "GET", "/dashboard/wallet"+query, session, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /dashboard/wallet%s: %d", query, resp.StatusCode)
		}
		return body
	}
	box := func(session, query string) string {
		t.Helper()
		return depositBox.FindString(wallet(session, query))
	}

	// Add funds by card: the answer moves on to Stripe's checkout by a page of
	// its own (a form's redirect to another site breaks the form-action CSP).
	resp, body := s.page(t, "POST", "/dashboard/wallet/deposits", sess, url.Values{"amount": {"25"}, "provider": {"stripe"}, "csrf_token": {token}}, nil)
	ds := s.list(t, "/v1/wallet/deposits", sess)
	if len(ds) != 1 || ds[0]["provider"] != "stripe" || ds[0]["amount_cents"] != 2500.0 {
		t.Fatalf("deposits after Add funds: %v", ds)
	}
	paid := str(t, ds[0]["id"])
	checkout := "https://checkout.stripe.test/c/pay/cs_test_" + paid
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<meta http-equiv="refresh" content="0; url=`+checkout+`">`) ||
		!strings.Contains(body, `href="`+checkout+`"`) || !strings.Contains(body, "Taking you to Stripe") {
		t.Fatalf("Add funds by card: %d %s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
		t.Fatalf("the checkout page's CSP: %q", csp)
	}
	// A quick amount's button, paid with the default provider (the card).
	if resp, _ := s.page(t, "POST", "/dashboard/wallet/deposits", sess, url.Values{"amount": {"25"}, "preset": {"10"}, "csrf_token": {token}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("a quick amount: %d", resp.StatusCode)
	}
	ds = s.list(t, "/v1/wallet/deposits", sess)
	if len(ds) != 2 || ds[0]["amount_cents"] != 1000.0 || ds[0]["provider"] != "stripe" {
		t.Fatalf("deposits after a quick amount: %v", ds)
	}
	unpaid := str(t, ds[0]["id"])
	// A provider the server does not have is refused with its own words.
	resp, _ = s.page(t, "POST", "/dashboard/wallet/deposits", sess, url.Values{"amount": {"25"}, "provider": {"paypal"}, "csrf_token": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/wallet" || flashOf(t, resp) != "!Choose how to pay from the list." {
		t.Fatalf("an unknown provider: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), flashOf(t, resp))
	}

	// The wallet offers the choice (card first) and lists the deposits.
	page := wallet(sess, "")
	if !strings.Contains(page, `value="stripe" checked`) || !strings.Contains(page, "Card (Stripe)") || !strings.Contains(page, `value="sandbox" >`) {
		t.Fatalf("the wallet's provider choice:\n%s", page)
	}
	if strings.Count(page, `<span class="badge badge-pending">Pending</span>`) != 2 || strings.Contains(page, `id="deposit-box"`) {
		t.Fatalf("the wallet's deposits:\n%s", page)
	}

	// Back from the checkout: pending, polled; cancelled, not polled.
	b := box(sess, "?deposit="+paid)
	if !strings.Contains(b, "Payment received by Stripe, waiting for confirmation…") || !strings.Contains(b, `data-deposit-poll="/v1/wallet/deposits/`+paid+`"`) ||
		!strings.Contains(b, "Press Refresh") || !strings.Contains(b, `href="/dashboard/wallet?deposit=`+paid+`"`) {
		t.Fatalf("the pending box: %s", b)
	}
	if b := box(sess, "?deposit="+unpaid+"&cancelled=1"); !strings.Contains(b, "Checkout cancelled — nothing was charged.") || strings.Contains(b, "data-deposit-poll") {
		t.Fatalf("the cancelled box: %s", b)
	}
	// Someone else's deposit, or garbage: no box, and nothing says why.
	for _, q := range []string{"?deposit=" + paid, "?deposit=" + paid + "&cancelled=1"} {
		if page := wallet(other, q); strings.Contains(page, "deposit-box") || strings.Contains(page, "not found") || strings.Contains(page, "$25.00") {
			t.Fatalf("another customer's deposit %s shows:\n%s", q, page)
		}
	}
	for _, q := range []string{"?deposit=nope", "?deposit=" + strings.Repeat("0", 36), "?deposit=%00", "?deposit=" + paid[:35]} {
		if page := wallet(sess, q); strings.Contains(page, "deposit-box") || strings.Contains(page, "not found") {
			t.Fatalf("?deposit=%s shows:\n%s", q, page)
		}
	}

	// Stripe's events: credited (with the balance), failed.
	event("evt_dash_paid", "checkout.session.completed", paid, "paid", 2500)
	if b := box(sess, "?deposit="+paid); !strings.Contains(b, "Credited $25.00 — your balance is now $25.00.") || strings.Contains(b, "data-deposit-poll") {
		t.Fatalf("the credited box: %s", b)
	}
	event("evt_dash_expired", "checkout.session.expired", unpaid, "unpaid", 1000)
	if b := box(sess, "?deposit="+unpaid); !strings.Contains(b, "The payment of $10.00 did not go through.") || strings.Contains(b, "data-deposit-poll") {
		t.Fatalf("the failed box: %s", b)
	}
	page = wallet(sess, "")
	if !strings.Contains(page, `<span class="badge badge-succeeded">Credited</span>`) || !strings.Contains(page, `<span class="badge badge-failed">Failed</span>`) {
		t.Fatalf("the wallet's deposits after the events:\n%s", page)
	}

	// The deposits page by ten, apart from the ledger's pages.
	for range 9 {
		s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 100}, http.StatusCreated)
	}
	page = wallet(sess, "")
	older := regexp.MustCompile(`href="\?deposits_cursor=(\d+)"`).FindStringSubmatch(page)
	if strings.Count(page, "<tr data-deposit=") != 10 || older == nil {
		t.Fatalf("the first page of 11 deposits:\n%s", page)
	}
	if page := wallet(sess, "?deposits_cursor="+older[1]); strings.Count(page, "<tr data-deposit=") != 1 || !strings.Contains(page, "badge-succeeded") {
		t.Fatalf("the second page of deposits:\n%s", page)
	}

	// A short payment is recorded, not credited, and stands out to admins.
	short := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 5000}, http.StatusCreated)
	event("evt_dash_short", "checkout.session.completed", str(t, short["id"]), "paid", 4000)

	// Admins: every deposit with its customer, every event with its result.
	if resp, _ := s.page(t, "GET", "/admin/payments", sess, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer on /admin/payments: %d", resp.StatusCode)
	}
	if resp, _ := s.page(t, "GET", "/admin/payment-events", sess, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer on /admin/payment-events: %d", resp.StatusCode)
	}
	resp, body = s.page(t, "GET", "/admin/payments", s.AdminSession, nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Count(body, "<tr data-deposit=") != 12 || !strings.Contains(body, `<a href="/admin/users/`) ||
		!strings.Contains(body, "@example.com</a>") || !strings.Contains(body, "cs_test_"+paid) {
		t.Fatalf("/admin/payments: %d\n%s", resp.StatusCode, body)
	}
	resp, body = s.page(t, "GET", "/admin/payment-events", s.AdminSession, nil, nil)
	rows := regexp.MustCompile(`(?s)<tr data-event="([^"]+)"( class="needs-look")?>`).FindAllStringSubmatch(body, -1)
	look := map[string]bool{}
	for _, r := range rows {
		look[r[1]] = r[2] != ""
	}
	if resp.StatusCode != http.StatusOK || len(rows) != 3 || look["evt_dash_paid"] || !look["evt_dash_short"] || !look["evt_dash_expired"] ||
		!strings.Contains(body, "amount mismatch") || !strings.Contains(body, "25.00 USD") {
		t.Fatalf("/admin/payment-events: %d %v\n%s", resp.StatusCode, look, body)
	}
}

// TestDashboardOneProvider: with a single payment provider the wallet offers no
// choice, and a deposit needs none.
func TestDashboardOneProvider(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	sess, _ := s.signup(t)
	_, body := s.page(t, "GET", "/dashboard/wallet", sess, nil, nil)
	if strings.Contains(body, `name="provider"`) || strings.Contains(body, "Pay with") {
		t.Fatalf("a choice of one provider:\n%s", body)
	}
	resp, _ := s.page(t, "POST", "/dashboard/wallet/deposits", sess, url.Values{"amount": {"12.50"}, "csrf_token": {s.csrfOf(t, sess)}}, nil)
	if resp.StatusCode != http.StatusSeeOther || flashOf(t, resp) != "Added $12.50 to your wallet." {
		t.Fatalf("a sandbox deposit: %d %q", resp.StatusCode, flashOf(t, resp))
	}
	if b := s.balance(t, sess); b != 1250 {
		t.Fatalf("balance %d, want 1250", b)
	}
	_, body = s.page(t, "GET", "/dashboard/wallet", sess, nil, nil)
	if !strings.Contains(body, "<td>Sandbox</td>") || !strings.Contains(body, `<span class="badge badge-succeeded">Credited</span>`) {
		t.Fatalf("the sandbox deposit in the list:\n%s", body)
	}
}

// TestDashboardAdminRefundsAndSettles: from the admin console's Payments page an
// admin refunds a credited deposit through Stripe, and collects or forgives what
// a customer owes after a dispute; each action answers with what happened.
func TestDashboardAdminRefundsAndSettles(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_dash_admin"
	s, api, post := startStripeServer(t, engineSQLite, whsec)
	sess, userID := s.signup(t)
	admin := s.csrfOf(t, s.AdminSession)
	deposit := func(amount int64, evt string) string {
		t.Helper()
		id := str(t, s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": amount}, http.StatusCreated)["id"])
		if st, raw := post(stripetest.Event(t, whsec, evt, "checkout.session.completed", id, "paid", amount, time.Now())); st != http.StatusOK {
			t.Fatalf("payment event: %d %s", st, raw)
		}
		return id
	}
	act := func(path string, form url.Values, want string) {
		t.Helper()
		form.Set("csrf_token", admin)
		resp, _ := s.page(t, "POST", path, s.AdminSession, form, nil)
		if got := flashOf(t, resp); !strings.Contains(got, want) {
			t.Fatalf("POST %s: flash %q, want %q", path, got, want)
		}
	}
	row := func(id string) string {
		t.Helper()
		_, body := s.page(t, "GET", "/admin/payments", s.AdminSession, nil, nil)
		m := regexp.MustCompile(`(?s)<tr data-deposit="` + id + `">.*?</tr>`).FindString(body)
		if m == "" {
			t.Fatalf("no row for deposit %s:\n%s", id, body)
		}
		return m
	}

	d1 := deposit(2500, "evt_adm_1")
	if !strings.Contains(row(d1), "/refund") {
		t.Fatalf("a credited deposit offers no refund:\n%s", row(d1))
	}
	act("/admin/deposits/"+d1+"/refund", url.Values{"reason": {"asked"}}, "Refunded $25.00 through Card (Stripe)")
	if b := s.balance(t, sess); b != 0 || len(api.Refunds()) != 1 || strings.Contains(row(d1), "/refund") {
		t.Fatalf("after the refund: balance %d, refunds %v, row:\n%s", b, api.Refunds(), row(d1))
	}
	act("/admin/deposits/"+d1+"/refund", url.Values{}, "!") // refused: already refunded

	// A dispute after the customer spent most of it: $7.00 owed.
	d2 := deposit(1000, "evt_adm_2")
	s.fund(t, userID, -700)
	pi := stripetest.PaymentIntent(d2)
	api.SetDispute("dp_adm", pi, "needs_response", 1000)
	if st, raw := post(stripetest.DisputeEvent(t, whsec, "evt_adm_3", "charge.dispute.created", "dp_adm", pi, "needs_response", 1000, time.Now())); st != http.StatusOK {
		t.Fatalf("dispute event: %d %s", st, raw)
	}
	if r := row(d2); !strings.Contains(r, "/settle") || !strings.Contains(r, "$7.00") {
		t.Fatalf("an owing deposit offers no settling:\n%s", r)
	}
	s.fund(t, userID, 500)
	act("/admin/deposits/"+d2+"/settle", url.Values{"action": {"collect"}, "reason": {"topped up"}}, "Still owed: $2.00.")
	act("/admin/deposits/"+d2+"/settle", url.Values{"action": {"forgive"}, "reason": {"small"}}, "Nothing is owed now")
	if strings.Contains(row(d2), "/settle") {
		t.Fatalf("a settled deposit still offers settling:\n%s", row(d2))
	}
	if raw := s.expect(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"}, http.StatusPaymentRequired); !strings.Contains(raw, "insufficient balance") {
		t.Fatalf("a purchase once settled (no longer paused, but $0.00): %s", raw)
	}
}
