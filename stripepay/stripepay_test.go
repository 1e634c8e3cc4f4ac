package stripepay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

const secret = "whsec_test_secret"

func TestBeginCreatesACheckoutSession(t *testing.T) {
	api := stripetest.NewAPI(t)
	p := New("sk_test_123", secret, api.URL)
	d := &fetchsms.Deposit{ID: "dep-1", AmountCents: 2500, ReturnURL: "https://fetchsms.example/dashboard/wallet"}
	ref, url, completed, err := p.Begin(context.Background(), d)
	if err != nil || completed || ref != "cs_test_dep-1" || url != "https://checkout.stripe.test/c/pay/cs_test_dep-1" {
		t.Fatalf("Begin: %q %q %v %v", ref, url, completed, err)
	}
	f := api.Sessions()[0]
	for k, want := range map[string]string{
		"mode": "payment", "client_reference_id": "dep-1", "metadata[deposit_id]": "dep-1",
		"line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "usd", "line_items[0][price_data][unit_amount]": "2500",
		"success_url": "https://fetchsms.example/dashboard/wallet?deposit=dep-1",
	} {
		if f[k] != want {
			t.Errorf("form %s = %q, want %q (all: %v)", k, f[k], want, f)
		}
	}

	api.SetFail(true)
	_, _, _, err = p.Begin(context.Background(), &fetchsms.Deposit{ID: "dep-2", AmountCents: 100})
	if fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Fatalf("Begin against a failing Stripe: %v, want EUPSTREAM", err)
	}
	api.Close()
	if _, _, _, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: "dep-3", AmountCents: 100}); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Fatalf("Begin against an unreachable Stripe: %v, want EUPSTREAM", err)
	}
}

func signed(t testing.TB, id, typ, deposit, status string, amount int64, at time.Time) ([]byte, string) {
	return stripetest.Event(t, secret, id, typ, deposit, status, amount, at)
}

func TestParseEvent(t *testing.T) {
	p := New("sk_test_123", secret, "")
	now := time.Now()
	for _, c := range []struct {
		typ, status string
		outcome     string
	}{
		{"checkout.session.completed", "paid", fetchsms.PaymentPaid},
		{"checkout.session.completed", "unpaid", ""},
		{"checkout.session.async_payment_succeeded", "paid", fetchsms.PaymentPaid},
		{"checkout.session.async_payment_failed", "unpaid", fetchsms.PaymentFailed},
		{"checkout.session.expired", "unpaid", fetchsms.PaymentFailed},
	} {
		body, sig := signed(t, "evt_1", c.typ, "dep-1", c.status, 2500, now)
		ev, err := p.ParseEvent(context.Background(), body, http.Header{"Stripe-Signature": {sig}})
		if err != nil || ev.Outcome != c.outcome || ev.DepositID != "dep-1" || ev.AmountCents != 2500 || ev.Currency != "usd" ||
			ev.ProviderRef != "cs_test_dep-1" || ev.ID != "evt_1" || ev.Provider != "stripe" {
			t.Errorf("%s/%s: %+v %v", c.typ, c.status, ev, err)
		}
	}
	other, sig := signed(t, "evt_2", "charge.succeeded", "", "", 0, now)
	if ev, err := p.ParseEvent(context.Background(), other, http.Header{"Stripe-Signature": {sig}}); err != nil || ev.Outcome != "" || ev.DepositID != "" {
		t.Errorf("another event: %+v %v", ev, err)
	}

	body, sig := signed(t, "evt_3", "checkout.session.completed", "dep-1", "paid", 2500, now)
	forged := []byte(strings.Replace(string(body), "2500", "250000", 1))
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"forged body":  {forged, sig},
		"no signature": {body, ""},
		"other secret": {body, stripetest.Sign(body, "whsec_other", now)},
	} {
		if _, err := p.ParseEvent(context.Background(), c.body, http.Header{"Stripe-Signature": {c.sig}}); !errors.Is(err, fetchsms.ErrPaymentSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	old, oldSig := signed(t, "evt_4", "checkout.session.completed", "dep-1", "paid", 2500, now.Add(-time.Hour))
	if _, err := p.ParseEvent(context.Background(), old, http.Header{"Stripe-Signature": {oldSig}}); !errors.Is(err, fetchsms.ErrPaymentSignature) {
		t.Errorf("an event signed an hour ago (a replay): %v, want ErrSignature", err)
	}
}
