package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// testClock is a movable clock for store tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db      *sqlite.DB
	clock   *testClock
	gateway *fetchsms.Gateway
	numbers []string
}

// setup opens a fresh database with the default catalog, one gateway and n numbers.
func setup(t *testing.T, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &testClock{t: time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC)}
	db.Clock = clock
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	services, err := db.AllServices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Detector = fetchsms.NewDetector(services)
	gw, err := db.CreateGateway(ctx, "bank")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, clock: clock, gateway: gw}
	for i := 0; i < n; i++ {
		f.numbers = append(f.numbers, fmt.Sprintf("+1332555%04d", 1000+i))
	}
	if n > 0 {
		if _, _, err := db.ImportNumbers(ctx, gw.ID, f.numbers); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { f.checkInvariants(t) })
	return f
}

func (f *fixture) user(t *testing.T, balance fetchsms.Cents) *fetchsms.User {
	t.Helper()
	ctx := context.Background()
	u, err := f.db.CreateUser(ctx, fmt.Sprintf("u%d@example.com", time.Now().UnixNano()), "password123", fetchsms.RoleCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := f.db.Adjust(ctx, u.ID, balance, "test credit"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func (f *fixture) checkInvariants(t *testing.T) {
	t.Helper()
	c, err := f.db.CheckInvariants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !c.OK() {
		t.Errorf("invariants broken: %+v", c)
	}
}

func TestVerificationLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ReceivedChargesAndSpendsNumberForService", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 1000)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != "waiting" || v.CostCents != 70 || !v.ExpiresAt.Equal(v.CreatedAt.Add(15*time.Minute)) {
			t.Fatalf("got %+v", v)
		}
		// A WhatsApp message does not release a Telegram code.
		res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m1", To: v.Number, From: "WhatsApp", Body: "Your WhatsApp code: 821-193"})
		if err != nil || res.VerificationID != "" {
			t.Fatalf("foreign SMS routed: %+v %v", res, err)
		}
		res, err = f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m2", To: v.Number, From: "Telegram", Body: "Telegram code: 482910. Do not give this code to anyone."})
		if err != nil || res.VerificationID != v.ID {
			t.Fatalf("routed %+v %v", res, err)
		}
		// The same gateway message again changes nothing and answers the same.
		again, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m2", To: v.Number, From: "Telegram", Body: "Telegram code: 111111"})
		if err != nil || *again != *res {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != "received" || got.Code != "482910" {
			t.Fatalf("got %+v %v", got, err)
		}
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("cancel after code: %v", err)
		}
		// The only number already gave a Telegram code: Telegram is out of stock,
		// WhatsApp is not.
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("telegram again: %v", err)
		}
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); err != nil {
			t.Fatalf("whatsapp: %v", err)
		}
	})

	t.Run("ExpiredIsRefundedOnce", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 70)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 0 {
			t.Fatalf("balance %d after purchase", b)
		}
		f.clock.Advance(15 * time.Minute)
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != "expired" {
			t.Fatalf("read at expires_at: %+v %v", got, err)
		}
		if n, err := f.db.ExpireDue(ctx, 100); err != nil || n != 0 {
			t.Fatalf("second expiry: %d %v", n, err)
		}
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("cancel expired: %v", err)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 70 {
			t.Fatalf("balance %d after refund", b)
		}
		// A code after expiry is not released.
		res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "late", To: v.Number, From: "Telegram", Body: "Telegram code: 482910"})
		if err != nil || res.VerificationID != "" {
			t.Fatalf("late code routed: %+v %v", res, err)
		}
	})

	t.Run("CancelRefunds", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 140)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "2"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.db.CancelVerification(ctx, u.ID, v.ID)
		if err != nil || c.Status != "cancelled" {
			t.Fatalf("%+v %v", c, err)
		}
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("second cancel: %v", err)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 140 {
			t.Fatalf("balance %d", b)
		}
	})

	t.Run("OtherCustomerSeesNotFound", func(t *testing.T) {
		f := setup(t, 1)
		u, other := f.user(t, 100), f.user(t, 0)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Verification(ctx, other.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("other read: %v", err)
		}
		if _, err := f.db.CancelVerification(ctx, other.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("other cancel: %v", err)
		}
	})

	t.Run("InsufficientFundsChangesNothing", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 69)
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"}); fetchsms.ErrorCode(err) != fetchsms.EPAYMENT {
			t.Fatalf("got %v", err)
		}
		cat, _ := f.db.Catalog(ctx)
		for _, s := range cat {
			if s.ID == 4 && s.ShortAvailable != 1 {
				t.Fatalf("number held after failed purchase: %+v", s)
			}
		}
	})
}

func TestRentalLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TermEndsWithoutCodeRefunded", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 300)
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 1})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(24 * time.Hour)
		got, err := f.db.Rental(ctx, u.ID, r.ID)
		if err != nil || got.Status != "expired" {
			t.Fatalf("%+v %v", got, err)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 300 {
			t.Fatalf("balance %d", b)
		}
	})

	t.Run("TermEndsAfterCodeKeepsCharge", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 600)
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "x", To: r.Number, From: "Telegram", Body: "Telegram code: 12345"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.CancelRental(ctx, u.ID, r.ID); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("cancel after code: %v", err)
		}
		f.clock.Advance(7 * 24 * time.Hour)
		if n, err := f.db.ExpireDue(ctx, 10); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		got, _ := f.db.Rental(ctx, u.ID, r.ID)
		if got.Status != "expired" || got.LastCode != "12345" {
			t.Fatalf("%+v", got)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 0 {
			t.Fatalf("balance %d", b)
		}
		// The number is no longer pristine: no second rental.
		f.user(t, 0)
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 1}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("rental of a used number: %v", err)
		}
	})

	t.Run("UnsupportedTerm", func(t *testing.T) {
		f := setup(t, 1)
		u := f.user(t, 10000)
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 45}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Fatalf("got %v", err)
		}
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "4", Days: 30}); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Fatalf("short service as rental: %v", err)
		}
	})
}

func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	u := f.user(t, 500)
	entries, _, err := f.db.Ledger(context.Background(), u.ID, fetchsms.Page{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%v %v", entries, err)
	}
	if err := f.db.TamperLedgerForTest(context.Background(), entries[0].ID); err == nil {
		t.Fatal("a ledger entry could be changed")
	}
}

// TestConcurrentPurchaseCancelExpireReceive races purchases, cancels, expiries and
// codes on a small pool and checks that money and inventory stay exact.
func TestConcurrentPurchaseCancelExpireReceive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 8)
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
