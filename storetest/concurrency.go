package storetest

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testConcurrentPurchaseCancelExpireReceive races purchases, cancels, expiries and
// codes on a small pool and checks that money and inventory stay exact.
func testConcurrentPurchaseCancelExpireReceive(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 8)
	u := f.user(t, 70*10)

	var wg sync.WaitGroup
	var mu sync.Mutex
	created, paid, conflicts := 0, 0, 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
			mu.Lock()
			switch fetchsms.ErrorCode(err) {
			case "":
				created++
			case fetchsms.EPAYMENT:
				paid++
			case fetchsms.ECONFLICT:
				conflicts++
			default:
				t.Errorf("purchase: %v", err)
			}
			mu.Unlock()
			if err != nil {
				return
			}
			// Race a cancel, a code and an expiry on the same verification.
			var inner sync.WaitGroup
			inner.Add(3)
			go func() { defer inner.Done(); f.db.CancelVerification(ctx, u.ID, v.ID) }()
			go func() {
				defer inner.Done()
				f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: fmt.Sprint("c", i), To: v.Number, From: "Telegram", Body: "Telegram code: 55555"})
			}()
			go func() { defer inner.Done(); f.db.ExpireDue(ctx, 100) }()
			inner.Wait()
		}(i)
	}
	wg.Wait()
	if created == 0 || created+paid+conflicts != 40 {
		t.Fatalf("created %d, 402 %d, 409 %d", created, paid, conflicts)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.db.ExpireDue(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.CheckInvariants(ctx)
	if err != nil || !c.OK() || c.WaitingPastExpiry != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	t.Logf("created %d, 402 %d, 409 %d", created, paid, conflicts)
}

// testConcurrent races the operations whose rules hold only if the engine's
// transactions are right: the same wallet, number, key, message or delivery
// touched from many goroutines at once (many connections, as several servers are).
func testConcurrent(t *testing.T, open Opener) {
	t.Run("PurchaseCancelExpireReceive", func(t *testing.T) { t.Parallel(); testConcurrentPurchaseCancelExpireReceive(t, open) })
	t.Run("RefsUnique", func(t *testing.T) {
		t.Parallel()
		testConcurrentRefsUnique(t, open)
	})
	t.Run("WalletNeverOverdrawn", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 0)
		u := f.user(t, 100)
		ok := parallel(30, func(i int) error {
			_, err := f.db.Adjust(ctx, u.ID, -10, "debit")
			if err != nil && fetchsms.ErrorCode(err) != fetchsms.EPAYMENT {
				t.Errorf("debit: %v", err)
			}
			return err
		})
		if ok != 10 || f.balance(t, u.ID) != 0 {
			t.Fatalf("%d debits of 10 from 100 went through; balance %d", ok, f.balance(t, u.ID))
		}
	})
	t.Run("OneNumberOneBuyer", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 5)
		var mu sync.Mutex
		seen := map[string]bool{}
		ok := parallel(20, func(i int) error {
			u := f.user(t, 1000)
			var number string
			var err error
			if i%2 == 0 {
				var v *fetchsms.Verification
				if v, err = f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"}); err == nil {
					number = v.Number
				}
			} else {
				var r *fetchsms.Rental
				if r, err = f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 1}); err == nil {
					number = r.Number
				}
			}
			if err != nil {
				if fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
					t.Errorf("purchase: %v", err)
				}
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[number] {
				t.Errorf("number %s sold twice", number)
			}
			seen[number] = true
			return nil
		})
		if ok != 5 {
			t.Fatalf("%d purchases from a pool of 5", ok)
		}
	})
	t.Run("ExpiryRefundedOnce", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 10)
		u := f.user(t, 700)
		for i := 0; i < 10; i++ {
			if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"}); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(time.Hour)
		var mu sync.Mutex
		total := 0
		parallel(8, func(i int) error {
			n, err := f.db.ExpireDue(ctx, 100)
			if err != nil {
				t.Errorf("sweep: %v", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
		if total != 10 || f.balance(t, u.ID) != 700 {
			t.Fatalf("8 sweeps expired %d of 10; balance %d, want 700", total, f.balance(t, u.ID))
		}
	})
	t.Run("DuplicateInboundRoutedOnce", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		ids := map[string]bool{}
		parallel(12, func(i int) error {
			res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "same", To: r.Number, From: "Telegram", Body: "Telegram code: 55555"})
			if err != nil {
				t.Errorf("receive: %v", err)
				return err
			}
			if res.RentalID != r.ID {
				t.Errorf("repeat answered differently: %+v", res)
			}
			mu.Lock()
			ids[res.MessageID] = true
			mu.Unlock()
			return nil
		})
		msgs, _, err := f.db.RentalMessages(ctx, u.ID, r.ID, fetchsms.Page{})
		if err != nil || len(msgs) != 1 || len(ids) != 1 {
			t.Fatalf("one gateway message stored %d times, answered with %d ids (%v)", len(msgs), len(ids), err)
		}
		if n, _ := f.db.PendingDeliveries(ctx); n != 1 {
			t.Fatalf("one message enqueued %d deliveries", n)
		}
	})
	t.Run("IdempotencyKeyRunsOnce", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 0)
		u := f.user(t, 0)
		runners := parallel(16, func(i int) error {
			st, err := f.db.BeginIdempotent(ctx, u.ID, "one-key", []byte("hash"))
			if err != nil && fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
				t.Errorf("begin: %v", err)
			}
			if err == nil && st != nil {
				t.Errorf("begin answered %+v", st)
			}
			return err
		})
		if runners != 1 {
			t.Fatalf("%d requests with one key ran", runners)
		}
	})
	t.Run("DeliveryClaimsDisjoint", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := setup(t, open, 0)
		u := f.user(t, 0)
		ep, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 30; i++ {
			if _, err := f.db.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		parallel(6, func(i int) error {
			for {
				ds, err := f.db.ClaimDeliveries(ctx, 4, time.Minute, nil)
				if err != nil {
					t.Errorf("claim: %v", err)
					return err
				}
				if len(ds) == 0 {
					return nil
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		})
		if len(claimed) != 30 {
			t.Fatalf("%d of 30 deliveries claimed", len(claimed))
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("delivery %s claimed %d times", id, n)
			}
		}
	})
}

// parallel runs fn(0…n-1) at once and returns how many returned nil.
func parallel(n int, fn func(i int) error) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if fn(i) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}(i)
	}
	close(start)
	wg.Wait()
	return ok
}

var refFormat = regexp.MustCompile(`^v_[0-9A-Za-z]{6}$`)

// testConcurrentRefsUnique: verifications bought at once from many goroutines
// (each a purchase and a cancel, so numbers return to the pool) all get refs in the
// published form, none repeated.
func testConcurrentRefsUnique(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 16)
	u := f.user(t, 70*1000)
	var mu sync.Mutex
	refs := map[string]string{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
				if fetchsms.ErrorCode(err) == fetchsms.ECONFLICT {
					continue // every number held at this instant
				}
				if err != nil {
					t.Errorf("purchase: %v", err)
					return
				}
				mu.Lock()
				if other, ok := refs[v.Ref]; ok || !refFormat.MatchString(v.Ref) {
					t.Errorf("ref %q of %s: malformed or already given to %s", v.Ref, v.ID, other)
				}
				refs[v.Ref] = v.ID
				mu.Unlock()
				if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); err != nil {
					t.Errorf("cancel: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(refs) < 64 {
		t.Fatalf("only %d purchases went through", len(refs))
	}
}
