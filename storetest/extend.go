package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testExtend: POST /v1/rentals/{id}/extend's rule and the expiry reminder
// (issue 20): the long-term price of the days added, one ledger entry each, a
// refund of all it cost when cancelled before any message, at most 365 days
// ahead, and one reminder per end.
func testExtend(t *testing.T, open Opener) {
	ctx := context.Background()
	rent := func(t *testing.T, f *fixture, u *fetchsms.User, days int) *fetchsms.Rental {
		t.Helper()
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: days})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	purchases := func(t *testing.T, f *fixture, u *fetchsms.User, rentalID string) (n int, refunds int) {
		t.Helper()
		entries, _, err := f.db.Ledger(ctx, u.ID, fetchsms.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.RentalID == rentalID && e.Kind == fetchsms.LedgerPurchase {
				n++
			}
			if e.RentalID == rentalID && e.Kind == fetchsms.LedgerRefund {
				refunds++
			}
		}
		return n, refunds
	}

	t.Run("ExtendThenCancelRefundsAll", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 2000)
		r := rent(t, f, u, 7)
		x, err := f.db.ExtendRental(ctx, u.ID, r.ID, 30)
		if err != nil {
			t.Fatal(err)
		}
		if x.ExtendedDays != 30 || x.DurationDays != 7 || !x.ExpiresAt.Equal(r.ExpiresAt.AddDate(0, 0, 30)) || x.CostCents != 600+1200 {
			t.Fatalf("extended %+v of %+v", x, r)
		}
		if b := f.balance(t, u.ID); b != 2000-1800 {
			t.Fatalf("balance %d", b)
		}
		if n, _ := purchases(t, f, u, r.ID); n != 2 {
			t.Fatalf("%d purchase entries, want the rental's and the extension's", n)
		}
		if _, err := f.db.CancelRental(ctx, u.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if b := f.balance(t, u.ID); b != 2000 {
			t.Fatalf("balance %d after the cancel: all it cost comes back", b)
		}
		if _, refunds := purchases(t, f, u, r.ID); refunds != 1 {
			t.Fatalf("%d refunds", refunds)
		}
		if _, err := f.db.ExtendRental(ctx, u.ID, r.ID, 1); fetchsms.ErrorReason(err) != fetchsms.ReasonNotWaiting {
			t.Fatalf("extend a cancelled rental: %v", err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 2)
		u := f.user(t, 9000+600)
		r := rent(t, f, u, 365)
		for _, days := range []int{0, -1, 2, 366, 1000} {
			if _, err := f.db.ExtendRental(ctx, u.ID, r.ID, days); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
				t.Fatalf("extend by %d: %v", days, err)
			}
		}
		// A year's rental runs 365 days ahead already.
		if _, err := f.db.ExtendRental(ctx, u.ID, r.ID, 1); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Fatalf("past 365 days ahead: %v", err)
		}
		other := f.user(t, 1000)
		if _, err := f.db.ExtendRental(ctx, other.ID, r.ID, 1); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("another's rental: %v", err)
		}
		// Near its end it can run longer; the balance must cover it.
		f.clock.Advance(360 * 24 * time.Hour)
		if _, err := f.db.ExtendRental(ctx, u.ID, r.ID, 90); fetchsms.ErrorCode(err) != fetchsms.EPAYMENT {
			t.Fatalf("extend without the money: %v", err)
		}
		if n, _ := purchases(t, f, u, r.ID); n != 1 {
			t.Fatalf("a refused extension wrote %d purchases", n)
		}
		if x, err := f.db.ExtendRental(ctx, u.ID, r.ID, 7); err != nil || x.ExtendedDays != 7 {
			t.Fatalf("extend near the end: %+v %v", x, err)
		}
		// Ended: not_waiting.
		f.clock.Advance(20 * 24 * time.Hour)
		if _, err := f.db.ExtendRental(ctx, u.ID, r.ID, 1); fetchsms.ErrorReason(err) != fetchsms.ReasonNotWaiting {
			t.Fatalf("extend an expired rental: %v", err)
		}
	})

	t.Run("ReminderOncePerEnd", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 2)
		u := f.user(t, 2000)
		week := rent(t, f, u, 7)
		day := rent(t, f, u, 1)
		remind := func(want int) {
			t.Helper()
			if n, err := f.db.RemindExpiring(ctx, 100); err != nil || n != want {
				t.Fatalf("reminders %d (%v), want %d", n, err, want)
			}
		}
		remind(0)
		// A 1-day rental: a quarter of its term, 6 h before its end.
		f.clock.Advance(17 * time.Hour)
		remind(0)
		f.clock.Advance(time.Hour)
		remind(1)
		remind(0)
		// A week's: 24 h before.
		f.clock.Advance(5*24*time.Hour + 5*time.Hour)
		remind(0)
		f.clock.Advance(time.Hour)
		remind(1)
		// An extension moves the end: another reminder before the new one.
		if _, err := f.db.ExtendRental(ctx, u.ID, week.ID, 7); err != nil {
			t.Fatal(err)
		}
		remind(0)
		f.clock.Advance(7 * 24 * time.Hour)
		remind(1)
		remind(0)
		_ = day
	})

	t.Run("ParallelExtensionsNeverOverdraw", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 600+5*300)
		r := rent(t, f, u, 7)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, short := 0, 0
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.db.ExtendRental(ctx, u.ID, r.ID, 1)
				mu.Lock()
				defer mu.Unlock()
				switch fetchsms.ErrorCode(err) {
				case "":
					ok++
				case fetchsms.EPAYMENT:
					short++
				default:
					t.Errorf("extend: %v", err)
				}
			}()
		}
		wg.Wait()
		x, err := f.db.Rental(ctx, u.ID, r.ID)
		if err != nil || ok != 5 || short != 5 || x.ExtendedDays != 5 || !x.ExpiresAt.Equal(r.ExpiresAt.AddDate(0, 0, 5)) || x.CostCents != 600+1500 {
			t.Fatalf("%d extended, %d refused: %+v %v", ok, short, x, err)
		}
		if b := f.balance(t, u.ID); b != 0 {
			t.Fatalf("balance %d", b)
		}
	})
}
