package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// startStripeServer starts a sandbox server whose Stripe is a local stand-in,
// and returns a function that posts a signed event to its webhook.
func startStripeServer(t *testing.T, engine, whsec string) (*testServer, *stripetest.API, func([]byte, string) (int, string)) {
	api := stripetest.NewAPI(t)
	s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--stripe-secret-key", "sk_test_e2e", "--stripe-webhook-secret", whsec, "--stripe-api-url", api.URL)
	return s, api, func(body []byte, sig string) (int, string) {
		t.Helper()
		status, _, raw, err := s.sendWith(http.MethodPost, "/v1/payments/stripe/webhook", "", body, http.Header{"Stripe-Signature": {sig}})
		if err != nil {
			t.Fatal(err)
		}
		return status, string(raw)
	}
}

// TestStripeDeposits: with Stripe configured, a deposit is a Checkout Session of
// the stand-in API; Stripe's signed events credit it once, for its own amount;
// a forged event is 400 and changes nothing; an unreachable Stripe is 502 and
// leaves no deposit behind. On every engine.
func TestStripeDeposits(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		const whsec = "whsec_e2e_secret"
		s, api, post := startStripeServer(t, engine, whsec)
		sess, _ := s.signup(t)

		d := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 2500}, http.StatusCreated)
		id := str(t, d["id"])
		if d["status"] != "pending" || d["provider"] != "stripe" || d["checkout_url"] != "https://checkout.stripe.test/c/pay/cs_test_"+id {
			t.Fatalf("deposit = %v", d)
		}
		if f := api.Sessions()[0]; f["client_reference_id"] != id || f["line_items[0][price_data][unit_amount]"] != "2500" ||
			!strings.HasSuffix(f["success_url"], "/dashboard/wallet?deposit="+id) {
			t.Fatalf("checkout session asked for: %v", f)
		}
		if b := s.balance(t, sess); b != 0 {
			t.Fatalf("a pending deposit was credited: %d", b)
		}

		// A forged event (the amount raised after signing) and an unsigned one.
		body, sig := stripetest.Event(t, whsec, "evt_paid", "checkout.session.completed", id, "paid", 2500, time.Now())
		forged := []byte(strings.Replace(string(body), `"amount_total":2500`, `"amount_total":250000`, 1))
		for _, c := range []struct {
			body []byte
			sig  string
		}{{forged, sig}, {body, ""}, {body, stripetest.Sign(body, "whsec_wrong", time.Now())}} {
			if st, raw := post(c.body, c.sig); st != http.StatusBadRequest || !strings.Contains(raw, `"detail"`) {
				t.Fatalf("a forged event: %d %s", st, raw)
			}
		}
		if b := s.balance(t, sess); b != 0 {
			t.Fatalf("a forged event moved money: %d", b)
		}

		// The real event, delivered six times at once and again later: one credit.
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if st, raw := post(body, sig); st != http.StatusOK {
					t.Errorf("the payment event: %d %s", st, raw)
				}
			}()
		}
		wg.Wait()
		if st, raw := post(body, sig); st != http.StatusOK || !strings.Contains(raw, `"duplicate"`) {
			t.Fatalf("a repeated event: %d %s", st, raw)
		}
		async, asig := stripetest.Event(t, whsec, "evt_async", "checkout.session.async_payment_succeeded", id, "paid", 2500, time.Now())
		if st, raw := post(async, asig); st != http.StatusOK || !strings.Contains(raw, "already succeeded") {
			t.Fatalf("a second success event: %d %s", st, raw)
		}
		if b := s.balance(t, sess); b != 2500 {
			t.Fatalf("balance %d after the payment, want 2500 (credited once)", b)
		}
		ds := s.list(t, "/v1/wallet/deposits", sess)
		if len(ds) != 1 || ds[0]["status"] != "succeeded" {
			t.Fatalf("deposits = %v", ds)
		}
		if one := s.call(t, http.MethodGet, "/v1/wallet/deposits/"+id, sess, nil, http.StatusOK); one["status"] != "succeeded" || one["amount_cents"] != 2500.0 {
			t.Fatalf("GET the deposit = %v", one)
		}
		other, _ := s.signup(t)
		for _, c := range []struct{ path, tok string }{{"/v1/wallet/deposits/" + id, other}, {"/v1/wallet/deposits/not-a-uuid", sess}} {
			s.expect(t, http.MethodGet, c.path, c.tok, nil, http.StatusNotFound)
		}

		// A session paid for a different amount is recorded, not credited.
		d2 := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1000}, http.StatusCreated)
		short, ssig := stripetest.Event(t, whsec, "evt_short", "checkout.session.completed", str(t, d2["id"]), "paid", 900, time.Now())
		if st, raw := post(short, ssig); st != http.StatusOK || !strings.Contains(raw, "amount mismatch") {
			t.Fatalf("a short payment: %d %s", st, raw)
		}
		if b := s.balance(t, sess); b != 2500 {
			t.Fatalf("a short payment was credited: balance %d", b)
		}

		// Stripe down: 502 with a clear detail, and no deposit is left behind.
		api.SetFail(true)
		raw := s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1500}, http.StatusBadGateway)
		if !strings.Contains(raw, "payment provider") {
			t.Errorf("502 detail: %s", raw)
		}
		if ds := s.list(t, "/v1/wallet/deposits", sess); len(ds) != 2 {
			t.Errorf("after a failed provider: %d deposits, want 2 (%v)", len(ds), ds)
		}

		// Admins see every deposit, and every event with what became of it.
		all := s.list(t, "/v1/admin/deposits", s.AdminSession)
		if len(all) != 2 || all[0]["id"] != d2["id"] || all[0]["status"] != "pending" || all[1]["provider_ref"] != "cs_test_"+id || all[1]["user_id"] == nil {
			t.Errorf("admin deposits = %v", all)
		}
		results := map[string]string{}
		for _, e := range s.list(t, "/v1/admin/payment-events", s.AdminSession) {
			results[str(t, e["id"])] = str(t, e["result"])
		}
		if len(results) != 3 || results["evt_paid"] != "credited" || results["evt_async"] != "already succeeded" ||
			!strings.HasPrefix(results["evt_short"], "amount mismatch") {
			t.Errorf("payment events = %v", results)
		}
		s.expect(t, http.MethodGet, "/v1/admin/payment-events", sess, nil, http.StatusForbidden)
	})
}

// TestStripeRefundsAndDisputes: an admin's refund goes through Stripe and takes
// the money from the wallet once (Stripe's own refund event changes nothing
// more); a dispute takes back what the wallet holds, the rest is owed and
// purchases stop until an admin settles; a dispute won gives back what it took,
// and a late "created" event is read against the dispute as Stripe holds it.
// On every engine.
func TestStripeRefundsAndDisputes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		const whsec = "whsec_e2e_refunds"
		s, api, post := startStripeServer(t, engine, whsec)
		sess, userID := s.signup(t)
		expectEvent := func(body []byte, sig, result string, balance int64) {
			t.Helper()
			if st, raw := post(body, sig); st != http.StatusOK || !strings.Contains(raw, `"result": "`+result+`"`) {
				t.Fatalf("event: %d %s, want result %q", st, raw, result)
			}
			if b := s.balance(t, sess); b != balance {
				t.Fatalf("balance %d, want %d", b, balance)
			}
		}
		paidDeposit := func(amount int64, evt string) string {
			t.Helper()
			before := s.balance(t, sess)
			id := str(t, s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": amount}, http.StatusCreated)["id"])
			body, sig := stripetest.Event(t, whsec, evt, "checkout.session.completed", id, "paid", amount, time.Now())
			expectEvent(body, sig, "credited", before+amount)
			return id
		}

		// An admin refunds a deposit the customer has not spent.
		d1 := paidDeposit(2500, "evt_pay1")
		s.expect(t, http.MethodPost, "/v1/admin/deposits/"+d1+"/refund", sess, nil, http.StatusForbidden)
		got := s.call(t, http.MethodPost, "/v1/admin/deposits/"+d1+"/refund", s.AdminSession, map[string]any{"reason": "customer asked"}, http.StatusOK)
		if got["status"] != "refunded" || got["refunded_cents"] != 2500.0 || got["payment_ref"] != stripetest.PaymentIntent(d1) {
			t.Fatalf("refund = %v", got)
		}
		if r := api.Refunds(); len(r) != 1 || r[0]["payment_intent"] != stripetest.PaymentIntent(d1) || r[0]["amount"] != "2500" {
			t.Fatalf("refunds asked of Stripe: %v", r)
		}
		if b := s.balance(t, sess); b != 0 {
			t.Fatalf("balance after the refund: %d", b)
		}
		body, sig := stripetest.ChargeRefunded(t, whsec, "evt_ref1", stripetest.PaymentIntent(d1), 2500, 2500, time.Now())
		expectEvent(body, sig, "already refunded", 0)
		s.expect(t, http.MethodPost, "/v1/admin/deposits/"+d1+"/refund", s.AdminSession, nil, http.StatusConflict)

		// Money the customer has spent is not refunded by an admin.
		d2 := paidDeposit(1000, "evt_pay2")
		s.fund(t, userID, -700)
		if raw := s.expect(t, http.MethodPost, "/v1/admin/deposits/"+d2+"/refund", s.AdminSession, nil, http.StatusConflict); !strings.Contains(raw, "spent") {
			t.Fatalf("refund of spent money: %s", raw)
		}

		// The payer disputes it: the $3.00 left is taken, $7.00 is owed, and
		// purchases stop.
		pi2 := stripetest.PaymentIntent(d2)
		api.SetDispute("dp_1", pi2, "needs_response", 1000)
		created, csig := stripetest.DisputeEvent(t, whsec, "evt_dp1", "charge.dispute.created", "dp_1", pi2, "needs_response", 1000, time.Now())
		expectEvent(created, csig, "disputed; $7.00 owed", 0)
		if d := s.call(t, http.MethodGet, "/v1/wallet/deposits/"+d2, sess, nil, http.StatusOK); d["status"] != "disputed" || d["owed_cents"] != 700.0 {
			t.Fatalf("the disputed deposit = %v", d)
		}
		s.fund(t, userID, 500)
		if raw := s.expect(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"}, http.StatusPaymentRequired); !strings.Contains(raw, "purchases are paused") {
			t.Fatalf("a purchase while owing: %s", raw)
		}
		// Stripe down while the event is read: 502, and Stripe's redelivery works.
		api.SetFail(true)
		if st, raw := post(created, csig); st != http.StatusBadGateway || !strings.Contains(raw, "dispute") {
			t.Fatalf("an event Stripe cannot be asked about: %d %s", st, raw)
		}
		api.SetFail(false)

		// An admin collects what the balance holds and forgives the rest.
		s.expect(t, http.MethodPost, "/v1/admin/deposits/"+d2+"/settle", s.AdminSession, map[string]any{"action": "collect"}, http.StatusUnprocessableEntity)
		if d := s.call(t, http.MethodPost, "/v1/admin/deposits/"+d2+"/settle", s.AdminSession, map[string]any{"action": "collect", "reason": "topped up"}, http.StatusOK); d["owed_cents"] != 200.0 {
			t.Fatalf("collect = %v", d)
		}
		if d := s.call(t, http.MethodPost, "/v1/admin/deposits/"+d2+"/settle", s.AdminSession, map[string]any{"action": "forgive", "reason": "small"}, http.StatusOK); d["owed_cents"] != 0.0 || d["forgiven_cents"] != 200.0 {
			t.Fatalf("forgive = %v", d)
		}
		s.fund(t, userID, 400)
		s.call(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"}, http.StatusCreated)
		spent := s.balance(t, sess)

		// The dispute is won: the $3.00 taken and the $5.00 collected come back;
		// the "created" event arriving again late takes nothing.
		api.SetDispute("dp_1", pi2, "won", 1000)
		closed, clsig := stripetest.DisputeEvent(t, whsec, "evt_dp2", "charge.dispute.closed", "dp_1", pi2, "won", 1000, time.Now())
		expectEvent(closed, clsig, "succeeded", spent+800)
		late, lsig := stripetest.DisputeEvent(t, whsec, "evt_dp3", "charge.dispute.created", "dp_1", pi2, "needs_response", 1000, time.Now())
		expectEvent(late, lsig, "already succeeded", spent+800)

		// The ledger names the deposit in every entry that moved its money.
		var forD2 []int64
		for _, e := range s.list(t, "/v1/wallet/ledger?limit=200", sess) {
			if e["deposit_id"] == d2 {
				forD2 = append(forD2, num(t, e["amount_cents"]))
			}
		}
		if len(forD2) != 4 { // +1000 credit, −300 dispute, −500 collected, +800 dispute won
			t.Fatalf("ledger entries of the disputed deposit: %v", forD2)
		}
	})
}
