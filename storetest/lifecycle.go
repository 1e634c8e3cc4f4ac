package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

func testVerificationLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("ReceivedChargesAndSpendsNumberForService", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 69)
		_, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if fetchsms.ErrorCode(err) != fetchsms.EPAYMENT || !strings.Contains(fetchsms.ErrorMessage(err), "your balance is $0.69") {
			t.Fatalf("got %v", err)
		}
		if b := f.balance(t, u.ID); b != 69 {
			t.Fatalf("balance %d after a refused purchase", b)
		}
		cat, _ := f.db.Catalog(ctx)
		for _, s := range cat {
			if s.ID == 4 && s.ShortAvailable != 1 {
				t.Fatalf("number held after failed purchase: %+v", s)
			}
		}
	})
}

func testRentalLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("TermEndsWithoutCodeRefunded", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
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
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 10000)
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 45}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Fatalf("got %v", err)
		}
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "4", Days: 30}); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Fatalf("short service as rental: %v", err)
		}
	})
}

func testLedgerIsAppendOnly(t *testing.T, open Opener) {
	f := setup(t, open, 0)
	u := f.user(t, 500)
	entries, _, err := f.db.Ledger(context.Background(), u.ID, fetchsms.Page{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%v %v", entries, err)
	}
	tamper, ok := f.store.(LedgerTamperer)
	if !ok {
		t.Skip("the engine has no TamperLedgerForTest in its test build")
	}
	if err := tamper.TamperLedgerForTest(context.Background(), entries[0].ID); err == nil {
		t.Fatal("a ledger entry could be changed")
	}
}

// testCreditNeverLost: a credit's outcome is read by no step (on PostgreSQL it
// travels with the commit), so a credit that cannot apply (no such user) must
// fail the whole transaction, on every engine, and leave nothing behind.
func testCreditNeverLost(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 500)
	err := f.store.Update(ctx, "test", func(tx fetchsms.Tx) error {
		if err := tx.Credit(ctx, &fetchsms.LedgerEntry{ID: fetchsms.NewID(), UserID: u.ID, Kind: fetchsms.LedgerAdjustment, AmountCents: 100, Reason: "kept?", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Credit(ctx, &fetchsms.LedgerEntry{ID: fetchsms.NewID(), UserID: "no-such-user", Kind: fetchsms.LedgerAdjustment, AmountCents: 100, Reason: "lost?", CreatedAt: time.Now()})
	})
	if err == nil {
		t.Fatal("a credit to no user committed")
	}
	if bal, err := f.db.Balance(ctx, u.ID); err != nil || bal != 500 {
		t.Fatalf("balance %d, %v after the failed transaction; want 500 (its first credit rolled back)", bal, err)
	}
	if entries, _, err := f.db.Ledger(ctx, u.ID, fetchsms.Page{}); err != nil || len(entries) != 1 {
		t.Fatalf("ledger %v, %v; want the one entry from before", entries, err)
	}
}

// testLedgerNamesItsPurchases: a purchase's entries carry its service and
// number; a credit carries neither.
func testLedgerNamesItsPurchases(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	u := f.user(t, 10000)
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 7})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := f.db.Ledger(ctx, u.ID, fetchsms.Page{Limit: 10})
	if err != nil || len(entries) != 3 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	rent, buy, credit := entries[0], entries[1], entries[2]
	if rent.RentalID != x.ID || rent.Number != x.Number || rent.ServiceName == "" {
		t.Errorf("rental entry: %+v", rent)
	}
	if buy.VerificationID != v.ID || buy.Number != v.Number || buy.ServiceName != v.ServiceName {
		t.Errorf("verification entry: %+v, want %s %s", buy, v.ServiceName, v.Number)
	}
	if credit.ServiceName != "" || credit.Number != "" {
		t.Errorf("credit entry: %+v", credit)
	}
}
