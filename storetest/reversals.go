package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testTakeBack: money the provider takes back after a credit (refunds, disputes)
// leaves the wallet once, whatever the order and repetition of the events; the
// balance never goes negative: what it cannot cover is owed, and an account that
// owes cannot buy until an admin collects or forgives it; a dispute won gives
// back exactly what it took. The fixture checks every invariant at the end
// (each deposit's ledger entries, each user's owed sum).
func testTakeBack(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 3)
	u := f.user(t, 0)
	p := &provider{}
	app, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Payments: []fetchsms.PaymentProvider{p}})
	if err != nil {
		t.Fatal(err)
	}
	seq := 0
	event := func(outcome, deposit, paymentRef string, amount fetchsms.Cents) fetchsms.PaymentEvent {
		seq++
		return fetchsms.PaymentEvent{Provider: "test", ID: "evt_" + string(rune('a'+seq/26)) + string(rune('a'+seq%26)), Type: outcome, DepositID: deposit,
			PaymentRef: paymentRef, AmountCents: amount, Currency: "usd", Outcome: outcome, Payload: []byte(`{}`)}
	}
	expect := func(ev fetchsms.PaymentEvent, want string, balance fetchsms.Cents) {
		t.Helper()
		got, err := app.HandlePaymentEvent(ctx, ev)
		if err != nil || got != want {
			t.Fatalf("event %s (%s %d): %q %v, want %q", ev.ID, ev.Outcome, ev.AmountCents, got, err, want)
		}
		if b := f.balance(t, u.ID); b != balance {
			t.Fatalf("after event %s (%s): balance %d, want %d", ev.ID, ev.Outcome, b, balance)
		}
	}
	deposit := func(amount fetchsms.Cents, pi string) *fetchsms.Deposit {
		t.Helper()
		d, err := app.Deposit(ctx, u.ID, "", amount, "")
		if err != nil {
			t.Fatal(err)
		}
		before := f.balance(t, u.ID)
		expect(event(fetchsms.PaymentPaid, d.ID, pi, amount), "credited", before+amount)
		return d
	}
	adjust := func(amount fetchsms.Cents) {
		t.Helper()
		if _, err := f.db.Adjust(ctx, u.ID, amount, "test"); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) *fetchsms.Deposit {
		t.Helper()
		d, err := f.db.UserDeposit(ctx, u.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// Nothing to take back from a deposit that was never paid.
	pending, err := app.Deposit(ctx, u.ID, "", 700, "")
	if err != nil {
		t.Fatal(err)
	}
	expect(event(fetchsms.PaymentRefunded, pending.ID, "", 700), "deposit was never credited (pending); nothing to take back", 0)
	expect(event(fetchsms.PaymentRefunded, "", "pi_nobody", 700), "unknown deposit", 0)

	// A partial refund, named by the payment only; its repeats and an older
	// total arriving late take nothing more.
	d1 := deposit(2500, "pi_1")
	expect(event(fetchsms.PaymentRefunded, "", "pi_1", 1000), "refunded", 1500)
	expect(event(fetchsms.PaymentRefunded, "", "pi_1", 1000), "already refunded", 1500)
	expect(event(fetchsms.PaymentRefunded, "", "pi_1", 500), "already refunded", 1500)
	eur := event(fetchsms.PaymentRefunded, "", "pi_1", 2500)
	eur.Currency = "eur"
	expect(eur, "currency mismatch: 2500 eur taken back from a usd deposit; not applied", 1500)

	// The customer spends most of it; then the rest is disputed: the balance
	// goes to zero and the remainder is owed.
	adjust(-1400)
	expect(event(fetchsms.PaymentDisputed, "", "pi_1", 1500), "disputed; $14.00 owed", 0)
	if d := status(d1.ID); d.Status != fetchsms.DepositDisputed || d.RefundedCents != 1000 || d.DisputedCents != 1500 || d.OwedCents != 1400 {
		t.Fatalf("deposit after the dispute: %+v", d)
	}

	// Owing, the account cannot buy, even with money in the wallet; nothing of
	// the purchase is left behind.
	adjust(500)
	_, err = f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if fetchsms.ErrorCode(err) != fetchsms.EPAYMENT || !strings.Contains(fetchsms.ErrorMessage(err), "$14.00 of it is still owed") {
		t.Fatalf("a purchase while owing: %v", err)
	}
	if b := f.balance(t, u.ID); b != 500 {
		t.Fatalf("a refused purchase moved money: balance %d", b)
	}

	// An admin settles: collects what the balance holds, then forgives the rest.
	for _, c := range []struct{ action, reason string }{{"take", "x"}, {fetchsms.SettleCollect, ""}} {
		if _, err := app.SettleDeposit(ctx, d1.ID, c.action, c.reason); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Fatalf("settle %q %q: %v, want EUNPROCESSABLE", c.action, c.reason, err)
		}
	}
	if d, err := app.SettleDeposit(ctx, d1.ID, fetchsms.SettleCollect, "paid by card"); err != nil || d.OwedCents != 900 || f.balance(t, u.ID) != 0 {
		t.Fatalf("collect: %+v %v (balance %d)", d, err, f.balance(t, u.ID))
	}
	if _, err := app.SettleDeposit(ctx, d1.ID, fetchsms.SettleCollect, "again"); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("collect from an empty balance: %v, want ECONFLICT", err)
	}
	if d, err := app.SettleDeposit(ctx, d1.ID, fetchsms.SettleForgive, "goodwill"); err != nil || d.OwedCents != 0 || d.ForgivenCents != 900 {
		t.Fatalf("forgive: %+v %v", d, err)
	}
	if _, err := app.SettleDeposit(ctx, d1.ID, fetchsms.SettleForgive, "again"); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("settling what is not owed: %v, want ECONFLICT", err)
	}
	adjust(1000)
	if v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"}); err != nil {
		t.Fatalf("a purchase once settled: %v", err)
	} else if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); err != nil {
		t.Fatal(err)
	}

	// The dispute is won: what it took comes back — the forgiven part is simply
	// no longer forgiven, the collected $5.00 and the $1.00 taken at first go
	// back to the wallet.
	expect(event(fetchsms.PaymentDisputeWon, "", "pi_1", 1500), "refunded", 1600)
	if d := status(d1.ID); d.DisputedCents != 0 || d.ForgivenCents != 0 || d.OwedCents != 0 || d.RefundedCents != 1000 {
		t.Fatalf("deposit after the dispute was won: %+v", d)
	}
	expect(event(fetchsms.PaymentDisputeWon, "", "pi_1", 1500), "already refunded", 1600)

	// A dispute won while still owed: the owed part is cancelled, no money moves
	// for it.
	d2 := deposit(800, "pi_2")
	adjust(-f.balance(t, u.ID) + 300)
	expect(event(fetchsms.PaymentDisputeLost, "", "pi_2", 800), "disputed; $5.00 owed", 0)
	expect(event(fetchsms.PaymentDisputed, "", "pi_2", 800), "already disputed", 0)
	expect(event(fetchsms.PaymentDisputeWon, d2.ID, "", 800), "succeeded", 300)

	// Eight different events with the same total, at once: one debit.
	d3 := deposit(1200, "pi_3")
	var wg sync.WaitGroup
	results := make(chan string, 8)
	for range 8 {
		ev := event(fetchsms.PaymentRefunded, "", "pi_3", 1200)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := app.HandlePaymentEvent(ctx, ev)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	applied := 0
	for r := range results {
		if r == "refunded" {
			applied++
		} else if r != "already refunded" {
			t.Errorf("a concurrent refund event: %q", r)
		}
	}
	if applied != 1 || f.balance(t, u.ID) != 300 || status(d3.ID).RefundedCents != 1200 {
		t.Fatalf("%d refunds applied, balance %d; want one, 300", applied, f.balance(t, u.ID))
	}

	// An admin's refund goes through the provider first; it refuses money the
	// customer has spent, and a deposit already taken back.
	d4 := deposit(2000, "pi_4")
	adjust(-600)
	if _, err := app.RefundDeposit(ctx, d4.ID, ""); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT || len(p.refunded) != 0 {
		t.Fatalf("refunding spent money: %v (provider saw %v)", err, p.refunded)
	}
	adjust(600)
	p.fail = errors.New("provider down")
	if _, err := app.RefundDeposit(ctx, d4.ID, ""); err == nil || f.balance(t, u.ID) != 2300 || status(d4.ID).Status != fetchsms.DepositSucceeded {
		t.Fatalf("a refund the provider refused: %v, balance %d", err, f.balance(t, u.ID))
	}
	p.fail = nil
	if d, err := app.RefundDeposit(ctx, d4.ID, "asked by the customer"); err != nil || d.Status != fetchsms.DepositRefunded || d.RefundedCents != 2000 ||
		len(p.refunded) != 1 || p.refunded[0] != d4.ID || f.balance(t, u.ID) != 300 {
		t.Fatalf("an admin's refund: %+v %v, provider saw %v, balance %d", d, err, p.refunded, f.balance(t, u.ID))
	}
	for _, id := range []string{d4.ID, d3.ID, pending.ID} {
		if _, err := app.RefundDeposit(ctx, id, ""); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("refunding deposit %s again: %v, want ECONFLICT", id, err)
		}
	}
	if _, err := app.RefundDeposit(ctx, fetchsms.NewID(), ""); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("refunding an unknown deposit: %v", err)
	}
	// The provider's own event for that refund comes later: nothing more.
	expect(event(fetchsms.PaymentRefunded, "", "pi_4", 2000), "already refunded", 300)
}
