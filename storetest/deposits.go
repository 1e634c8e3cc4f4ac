package storetest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// provider is a payment provider under the test's control.
type provider struct {
	completes bool  // takes the money at once, as the sandbox does
	fail      error // the provider cannot be reached
	mu        sync.Mutex
	begun     []string
	refunded  []string
}

func (p *provider) Name() string { return "test" }

func (p *provider) Begin(_ context.Context, d *fetchsms.Deposit) (string, string, bool, error) {
	if p.fail != nil {
		return "", "", false, p.fail
	}
	p.mu.Lock()
	p.begun = append(p.begun, d.ID)
	p.mu.Unlock()
	if p.completes {
		return "ref-" + d.ID, "", true, nil
	}
	return "cs_" + d.ID, "https://pay.example/" + d.ID, false, nil
}

func (p *provider) ParseEvent(context.Context, []byte, http.Header) (*fetchsms.PaymentEvent, error) {
	return nil, fetchsms.ErrPaymentSignature
}

func (p *provider) Refund(_ context.Context, d *fetchsms.Deposit) error {
	if p.fail != nil {
		return p.fail
	}
	p.mu.Lock()
	p.refunded = append(p.refunded, d.ID)
	p.mu.Unlock()
	return nil
}

// testDeposits: a deposit is bounded, asks the provider before anything is
// stored, and is credited once, for the amount it was created with, however
// often and however concurrently its completion arrives.
func testDeposits(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	withProvider := func(p fetchsms.PaymentProvider) *fetchsms.App {
		a, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Payments: []fetchsms.PaymentProvider{p}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	if _, err := f.db.Deposit(ctx, u.ID, "", 1000, ""); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("a deposit without a provider: %v, want ECONFLICT", err)
	}
	instant := withProvider(&provider{completes: true})
	for _, amount := range []fetchsms.Cents{0, 99, fetchsms.MaxDeposit + 1, -500} {
		if _, err := instant.Deposit(ctx, u.ID, "", amount, ""); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("deposit of %d: %v, want EUNPROCESSABLE", amount, err)
		}
	}
	d, err := instant.Deposit(ctx, u.ID, "", 1500, "")
	if err != nil || d.Status != fetchsms.DepositSucceeded || f.balance(t, u.ID) != 1500 {
		t.Fatalf("an instant deposit: %+v %v, balance %d", d, err, f.balance(t, u.ID))
	}

	down := &provider{fail: errors.New("connection refused")}
	if _, err := withProvider(down).Deposit(ctx, u.ID, "", 1000, ""); err == nil {
		t.Fatal("a deposit through an unreachable provider succeeded")
	}
	if f.balance(t, u.ID) != 1500 {
		t.Fatalf("balance after a failed provider: %d", f.balance(t, u.ID))
	}

	hosted := &provider{}
	d, err = withProvider(hosted).Deposit(ctx, u.ID, "", 2000, "")
	if err != nil || d.Status != fetchsms.DepositPending || d.CheckoutURL != "https://pay.example/"+d.ID || hosted.begun[0] != d.ID {
		t.Fatalf("a hosted deposit: %+v %v (provider saw %v)", d, err, hosted.begun)
	}
	if f.balance(t, u.ID) != 1500 {
		t.Fatalf("a pending deposit was credited: balance %d", f.balance(t, u.ID))
	}
	// The provider's confirmation arrives eight times at once, then again.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := f.db.CompleteDeposit(ctx, d.ID, "cs_"+d.ID); err != nil || got.Status != fetchsms.DepositSucceeded || got.AmountCents != 2000 {
				t.Errorf("completion: %+v %v", got, err)
			}
		}()
	}
	wg.Wait()
	if _, err := f.db.CompleteDeposit(ctx, d.ID, "cs_"+d.ID); err != nil {
		t.Fatal(err)
	}
	if b := f.balance(t, u.ID); b != 3500 {
		t.Fatalf("balance after a repeated completion: %d, want 3500 (credited once)", b)
	}
	if _, err := f.db.CompleteDeposit(ctx, fetchsms.NewID(), "x"); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("completing an unknown deposit: %v, want ENOTFOUND", err)
	}
}

// testPaymentEvents: a provider's events credit a deposit once, for its own
// amount, whatever their order, repetition or concurrency; every event is kept
// with what became of it.
func testPaymentEvents(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	app, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Payments: []fetchsms.PaymentProvider{&provider{}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := app.Deposit(ctx, u.ID, "", 2500, "")
	if err != nil {
		t.Fatal(err)
	}
	paid := func(id string, amount fetchsms.Cents, currency string) fetchsms.PaymentEvent {
		return fetchsms.PaymentEvent{Provider: "test", ID: id, Type: "checkout.session.completed", DepositID: d.ID, ProviderRef: "cs_1",
			AmountCents: amount, Currency: currency, Outcome: fetchsms.PaymentPaid, Payload: []byte(`{"id":"` + id + `"}`)}
	}
	expect := func(ev fetchsms.PaymentEvent, want string, balance fetchsms.Cents) {
		t.Helper()
		got, err := app.HandlePaymentEvent(ctx, ev)
		if err != nil || got != want {
			t.Fatalf("event %s: %q %v, want %q", ev.ID, got, err, want)
		}
		if b := f.balance(t, u.ID); b != balance {
			t.Fatalf("after event %s: balance %d, want %d", ev.ID, b, balance)
		}
	}
	expect(fetchsms.PaymentEvent{Provider: "test", ID: "evt_0", Type: "payment_intent.created", Payload: []byte(`{}`)}, "ignored", 0)
	expect(paid("evt_1", 2400, "usd"), "amount mismatch: paid 2400 usd for a deposit of 2500 usd; not credited", 0)
	expect(paid("evt_2", 2500, "eur"), "amount mismatch: paid 2500 eur for a deposit of 2500 usd; not credited", 0)
	unknown := paid("evt_3", 2500, "usd")
	unknown.DepositID = fetchsms.NewID()
	expect(unknown, "unknown deposit", 0)
	otherProvider := paid("evt_4", 2500, "usd")
	otherProvider.Provider = "other"
	expect(otherProvider, "unknown deposit", 0)

	// The payment's event arrives eight times at once: one credit.
	var wg sync.WaitGroup
	results := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := app.HandlePaymentEvent(ctx, paid("evt_5", 2500, "usd"))
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	credited := 0
	for r := range results {
		if r == "credited" {
			credited++
		} else if r != "duplicate" {
			t.Errorf("a repeat of the payment event: %q", r)
		}
	}
	if credited != 1 || f.balance(t, u.ID) != 2500 {
		t.Fatalf("%d credits, balance %d; want one credit of 2500", credited, f.balance(t, u.ID))
	}
	// Another event for the same payment (the async success after the session's
	// completion), and a failure arriving late: neither changes anything.
	expect(paid("evt_6", 2500, "usd"), "already succeeded", 2500)
	late := paid("evt_7", 2500, "usd")
	late.Outcome = fetchsms.PaymentFailed
	expect(late, "already succeeded", 2500)

	// A failure first, then a payment: the deposit stays failed and is not credited.
	d2, err := app.Deposit(ctx, u.ID, "", 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	failed := fetchsms.PaymentEvent{Provider: "test", ID: "evt_8", DepositID: d2.ID, Outcome: fetchsms.PaymentFailed, Payload: []byte(`{}`)}
	expect(failed, "failed", 2500)
	after := paid("evt_9", 1000, "usd")
	after.DepositID = d2.ID
	expect(after, "already failed", 2500)
	ds, _, err := f.db.Deposits(ctx, u.ID, fetchsms.Page{})
	if err != nil || len(ds) != 2 || ds[0].Status != fetchsms.DepositFailed || ds[1].Status != fetchsms.DepositSucceeded {
		t.Fatalf("deposits %+v %v", ds, err)
	}
}
