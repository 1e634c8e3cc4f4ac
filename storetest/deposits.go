package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// provider is a payment provider under the test's control.
type provider struct {
	completes bool  // takes the money at once, as the sandbox does
	fail      error // the provider cannot be reached
	begun     []string
}

func (p *provider) Name() string { return "test" }

func (p *provider) Begin(_ context.Context, d *fetchsms.Deposit) (string, string, bool, error) {
	if p.fail != nil {
		return "", "", false, p.fail
	}
	p.begun = append(p.begun, d.ID)
	if p.completes {
		return "ref-" + d.ID, "", true, nil
	}
	return "cs_" + d.ID, "https://pay.example/" + d.ID, false, nil
}

// testDeposits: a deposit is bounded, asks the provider before anything is
// stored, and is credited once, for the amount it was created with, however
// often and however concurrently its completion arrives.
func testDeposits(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	withProvider := func(p fetchsms.PaymentProvider) *fetchsms.App {
		a, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Payments: p})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	if _, err := f.db.Deposit(ctx, u.ID, 1000); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("a deposit without a provider: %v, want ECONFLICT", err)
	}
	instant := withProvider(&provider{completes: true})
	for _, amount := range []fetchsms.Cents{0, 99, fetchsms.MaxDeposit + 1, -500} {
		if _, err := instant.Deposit(ctx, u.ID, amount); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("deposit of %d: %v, want EUNPROCESSABLE", amount, err)
		}
	}
	d, err := instant.Deposit(ctx, u.ID, 1500)
	if err != nil || d.Status != fetchsms.DepositCompleted || f.balance(t, u.ID) != 1500 {
		t.Fatalf("an instant deposit: %+v %v, balance %d", d, err, f.balance(t, u.ID))
	}

	down := &provider{fail: errors.New("connection refused")}
	if _, err := withProvider(down).Deposit(ctx, u.ID, 1000); err == nil {
		t.Fatal("a deposit through an unreachable provider succeeded")
	}
	if f.balance(t, u.ID) != 1500 {
		t.Fatalf("balance after a failed provider: %d", f.balance(t, u.ID))
	}

	hosted := &provider{}
	d, err = withProvider(hosted).Deposit(ctx, u.ID, 2000)
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
			if got, err := f.db.CompleteDeposit(ctx, d.ID, "cs_"+d.ID); err != nil || got.Status != fetchsms.DepositCompleted || got.AmountCents != 2000 {
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
