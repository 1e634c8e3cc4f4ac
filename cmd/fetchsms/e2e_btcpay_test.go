package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fetchsms/fetchsms/btcpay/btcpaytest"
)

// TestBTCPayDeposits: with BTCPay Server configured, a deposit is an invoice of
// the stand-in; its signed notifications credit it once, for the amount it was
// created with, as the invoice read back says; a forged or unsigned one is 400
// and changes nothing; an unreachable BTCPay Server is 502 and leaves no
// deposit behind, or, while a notification is read, is 502 so that BTCPay sends
// it again. On every engine.
func TestBTCPayDeposits(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		const apiKey, storeID, secret = "btcpay-e2e-api-key", "StoreE2E", "btcpay-e2e-webhook-secret"
		api := btcpaytest.New(t, apiKey, storeID)
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--btcpay-url", api.URL, "--btcpay-api-key", apiKey,
			"--btcpay-store-id", storeID, "--btcpay-webhook-secret", secret)
		webhook := s.BaseURL + "/v1/payments/btcpay/webhook"
		api.SetWebhook(webhook, secret)
		sess, _ := s.signup(t)
		deposit := func(cents int64) (id, invoice string) {
			t.Helper()
			d := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": cents, "provider": "btcpay"}, http.StatusCreated)
			invs := api.Invoices()
			inv := invs[len(invs)-1]
			if d["status"] != "pending" || d["provider"] != "btcpay" || d["checkout_url"] != api.URL+"/i/"+inv.ID || inv.Metadata["orderId"] != d["id"] {
				t.Fatalf("deposit = %v, invoice %+v", d, inv)
			}
			return str(t, d["id"]), inv.ID
		}
		post := func(body []byte, sig string) (int, string) {
			t.Helper()
			h := http.Header{}
			if sig != "" {
				h.Set("BTCPay-Sig", sig)
			}
			status, _, raw, err := s.sendWith(http.MethodPost, "/v1/payments/btcpay/webhook", "", body, h)
			if err != nil {
				t.Fatal(err)
			}
			return status, string(raw)
		}
		statusOf := func(depositID string) string {
			t.Helper()
			for _, d := range s.list(t, "/v1/wallet/deposits", sess) {
				if d["id"] == depositID {
					return str(t, d["status"])
				}
			}
			t.Fatalf("deposit %s is not listed", depositID)
			return ""
		}

		id, inv := deposit(2500)
		if i := api.Invoices()[0]; i.Amount != "25.00" || i.Currency != "USD" || !strings.HasSuffix(i.RedirectURL, "/dashboard/wallet?deposit="+id) {
			t.Fatalf("invoice asked for: %+v", i)
		}
		if b := s.balance(t, sess); b != 0 {
			t.Fatalf("a pending deposit was credited: %d", b)
		}

		// A forged notification (the invoice swapped after signing), an unsigned
		// one, one signed with another secret, one without "sha256=".
		api.Settle(inv)
		n := api.Event("InvoiceSettled", inv)
		sig := btcpaytest.Sign(n.Body, secret)
		forged := []byte(strings.Replace(string(n.Body), `"type":"InvoiceSettled"`, `"type":"InvoiceSettled","overPaid":true`, 1))
		for _, c := range []struct {
			body []byte
			sig  string
		}{{forged, sig}, {n.Body, ""}, {n.Body, btcpaytest.Sign(n.Body, "another-secret")}, {n.Body, strings.TrimPrefix(sig, "sha256=")}} {
			if st, raw := post(c.body, c.sig); st != http.StatusBadRequest || !strings.Contains(raw, `"detail"`) {
				t.Fatalf("a forged notification: %d %s", st, raw)
			}
		}
		if b := s.balance(t, sess); b != 0 || statusOf(id) != "pending" {
			t.Fatalf("a forged notification moved money: %d", b)
		}

		// The real one, delivered six times at once, and redelivered: one credit.
		results := make(chan string, 6)
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, raw, err := n.Send(webhook, secret)
				if err != nil || st != http.StatusOK {
					t.Errorf("the settled notification: %d %s %v", st, raw, err)
				}
				results <- string(raw)
			}()
		}
		wg.Wait()
		close(results)
		credited := 0
		for r := range results {
			if strings.Contains(r, `"credited"`) {
				credited++
			} else if !strings.Contains(r, `"duplicate"`) {
				t.Errorf("a concurrent delivery: %s", r)
			}
		}
		if credited != 1 {
			t.Errorf("%d deliveries credited, want 1", credited)
		}
		if st, raw, err := n.Redelivery().Send(webhook, secret); err != nil || st != http.StatusOK || !strings.Contains(string(raw), `"duplicate"`) {
			t.Fatalf("a redelivery: %d %s %v", st, raw, err)
		}
		if b := s.balance(t, sess); b != 2500 || statusOf(id) != "succeeded" {
			t.Fatalf("balance %d after the payment, want 2500 (credited once)", b)
		}

		// An invoice that expired fails its deposit.
		expiredID, expired := deposit(1000)
		api.Expire(expired)
		api.Notify(t, webhook, secret, "InvoiceExpired", expired)
		if st := statusOf(expiredID); st != "failed" {
			t.Fatalf("an expired invoice's deposit is %s, want failed", st)
		}

		// An invoice of another amount than its deposit: recorded, not credited.
		shortID, short := deposit(2500)
		api.SetAmount(short, "24.00")
		api.Settle(short)
		shortN := api.Event("InvoiceSettled", short)
		if st, raw, err := shortN.Send(webhook, secret); err != nil || st != http.StatusOK || !strings.Contains(string(raw), "amount mismatch") {
			t.Fatalf("a short invoice: %d %s %v", st, raw, err)
		}
		if b := s.balance(t, sess); b != 2500 || statusOf(shortID) != "pending" {
			t.Fatalf("a short invoice was credited: balance %d", b)
		}

		// BTCPay Server down while a notification is read: 502, nothing kept;
		// the redelivery once it is back credits once.
		lateID, late := deposit(500)
		api.Settle(late)
		lateN := api.Event("InvoiceSettled", late)
		api.SetFail(true)
		if st, raw, err := lateN.Send(webhook, secret); err != nil || st != http.StatusBadGateway || !strings.Contains(string(raw), `"detail"`) {
			t.Fatalf("a notification with BTCPay Server down: %d %s %v", st, raw, err)
		}

		// BTCPay Server down when a deposit starts: 502 with a clear detail, and no
		// deposit is left behind.
		before := len(s.list(t, "/v1/wallet/deposits", sess))
		raw := s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1500, "provider": "btcpay"}, http.StatusBadGateway)
		if !strings.Contains(raw, "payment provider") || strings.Contains(raw, apiKey) {
			t.Errorf("502 detail: %s", raw)
		}
		if after := len(s.list(t, "/v1/wallet/deposits", sess)); after != before {
			t.Errorf("after a failed provider: %d deposits, want %d", after, before)
		}

		api.SetFail(false)
		if st, raw, err := lateN.Redelivery().Send(webhook, secret); err != nil || st != http.StatusOK || !strings.Contains(string(raw), `"credited"`) {
			t.Fatalf("the redelivery once BTCPay Server is back: %d %s %v", st, raw, err)
		}
		if st, raw, err := lateN.Redelivery().Send(webhook, secret); err != nil || st != http.StatusOK || !strings.Contains(string(raw), `"duplicate"`) {
			t.Fatalf("a second redelivery: %d %s %v", st, raw, err)
		}
		if b := s.balance(t, sess); b != 3000 || statusOf(lateID) != "succeeded" {
			t.Fatalf("balance %d, want 3000", b)
		}

		// The customer's way: the checkout page, its Pay button, back to the
		// wallet; the stand-in notifies the server as BTCPay Server would.
		payID, pay := deposit(1000)
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.Get(api.URL + "/i/" + pay)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Pay 10.00 USD") {
			t.Fatalf("checkout page: %d %s", resp.StatusCode, page)
		}
		resp, err = browser.PostForm(api.URL+"/i/"+pay+"/pay", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != s.BaseURL+"/dashboard/wallet?deposit="+payID {
			t.Fatalf("after Pay: %d to %q", resp.StatusCode, loc)
		}
		if b := s.balance(t, sess); b != 4000 || statusOf(payID) != "succeeded" {
			t.Fatalf("balance %d after paying on the checkout page, want 4000", b)
		}

		// Other notifications are kept and change nothing.
		created := api.Notify(t, webhook, secret, "InvoiceCreated", expired)

		// Admins see every notification with what became of it.
		events := map[string]map[string]any{}
		for _, e := range s.list(t, "/v1/admin/payment-events?limit=100", s.AdminSession) {
			if e["provider"] == "btcpay" {
				events[str(t, e["id"])] = e
			}
		}
		if e := events[n.DeliveryID]; e == nil || e["result"] != "credited" || e["deposit_id"] != id || e["type"] != "InvoiceSettled" {
			t.Errorf("the settled notification: %v", e)
		}
		if e := events[shortN.DeliveryID]; e == nil || !strings.HasPrefix(str(t, e["result"]), "amount mismatch") || num(t, e["amount_cents"]) != 2400 || e["currency"] != "usd" {
			t.Errorf("the short notification: %v", e)
		}
		if e := events[lateN.DeliveryID]; e == nil || e["result"] != "credited" {
			t.Errorf("the notification redelivered after BTCPay Server came back: %v", e)
		}
		if e := events[created]; e == nil || e["result"] != "ignored" {
			t.Errorf("an InvoiceCreated notification: %v", e)
		}
		if len(events) != 6 { // settled, expired, short, late, paid on the page, created
			t.Errorf("%d btcpay events kept, want 6: %v", len(events), events)
		}

		// The provider is chosen per deposit; an unknown one is refused.
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1000, "provider": "nope"}, http.StatusUnprocessableEntity)
		d := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1000, "provider": "sandbox"}, http.StatusCreated)
		if d["status"] != "succeeded" || d["provider"] != "sandbox" {
			t.Errorf("a sandbox deposit: %v", d)
		}
		if b := s.balance(t, sess); b != 5000 {
			t.Errorf("balance %d after a sandbox deposit, want 5000", b)
		}
		// An admin refunds a paid deposit: BTCPay refunds the invoice as a pull
		// payment at the current rate, the wallet gives the money up, once.
		got := s.call(t, http.MethodPost, "/v1/admin/deposits/"+payID+"/refund", s.AdminSession, map[string]any{"reason": "customer asked"}, http.StatusOK)
		if got["status"] != "refunded" || got["refunded_cents"] != 1000.0 {
			t.Fatalf("refund = %v", got)
		}
		if r := api.Refunds(); len(r) != 1 || r[0].InvoiceID != pay || r[0].Request["refundVariant"] != "CurrentRate" {
			t.Fatalf("refunds asked of BTCPay Server: %+v", r)
		}
		s.expect(t, http.MethodPost, "/v1/admin/deposits/"+payID+"/refund", s.AdminSession, nil, http.StatusConflict)
		if b := s.balance(t, sess); b != 4000 || len(api.Refunds()) != 1 {
			t.Fatalf("balance %d after the refund, want 4000; refunds %+v", b, api.Refunds())
		}

		// Without a provider, the first real one: BTCPay Server.
		if d := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1000}, http.StatusCreated); d["provider"] != "btcpay" {
			t.Errorf("the default provider: %v", d)
		}
	})
}

// TestBTCPayFlags: the four BTCPay flags go together, from the command line or
// the environment, and the URL must be http(s). Not parallel: it sets the
// environment.
func TestBTCPayFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	serve := func(args ...string) error {
		return run(context.Background(), append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
	}
	if err := serve("--btcpay-url", "https://btcpay.example", "--btcpay-store-id", "S"); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("two of four flags: %v", err)
	}
	t.Setenv("FETCHSMS_BTCPAY_URL", "ftp://btcpay.example")
	t.Setenv("FETCHSMS_BTCPAY_API_KEY", "k")
	t.Setenv("FETCHSMS_BTCPAY_STORE_ID", "S")
	if err := serve(); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("three of four variables: %v", err)
	}
	t.Setenv("FETCHSMS_BTCPAY_WEBHOOK_SECRET", "w")
	if err := serve(); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("an ftp URL: %v", err)
	}
}
