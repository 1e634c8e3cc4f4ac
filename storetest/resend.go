package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testResend: another code on the same number after the first (issue 20). The
// engine keeps every code oldest first, holds the number again, and the end of
// that wait never refunds.
func testResend(t *testing.T, open Opener) {
	ctx := context.Background()
	code := func(t *testing.T, f *fixture, v *fetchsms.Verification, id, c string) {
		t.Helper()
		res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: id, To: v.Number, From: "Telegram", Body: "Telegram code: " + c})
		if err != nil || res.VerificationID != v.ID {
			t.Fatalf("code %s routed %+v %v", c, res, err)
		}
	}

	// withCode: one number, and a user's Telegram verification that received 111111.
	withCode := func(t *testing.T) (*fixture, *fetchsms.User, *fetchsms.Verification) {
		t.Helper()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatal(err)
		}
		code(t, f, v, "m1", "111111")
		return f, u, v
	}

	t.Run("CodesAndNoRefund", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); fetchsms.ErrorReason(err) != fetchsms.ReasonNoCodeYet {
			t.Fatalf("resend before a code: %v", err)
		}
		code(t, f, v, "m1", "111111")
		r, err := f.db.ResendVerification(ctx, u.ID, v.ID)
		if err != nil || r.Status != fetchsms.StatusWaiting || r.Code != "111111" || strings.Join(r.Codes, ",") != "111111" {
			t.Fatalf("resend: %+v %v", r, err)
		}
		// The number is held again: no other purchase can take it.
		other := f.user(t, 1000)
		if _, err := f.db.CreateVerification(ctx, other.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); fetchsms.ErrorReason(err) != fetchsms.ReasonOutOfStock {
			t.Fatalf("the held number sold again: %v", err)
		}
		code(t, f, v, "m2", "222222")
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusReceived || got.Code != "222222" || strings.Join(got.Codes, ",") != "111111,222222" {
			t.Fatalf("after the second code: %+v %v", got, err)
		}
		// A resend's wait that expires: received again, not refunded.
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(fetchsms.VerificationWindow)
		if n, err := f.db.ExpireDue(ctx, 100); err != nil || n != 1 {
			t.Fatalf("expiry of the resend's wait: %d %v", n, err)
		}
		got, err = f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusReceived || got.Code != "222222" || len(got.Codes) != 2 {
			t.Fatalf("after the wait expired: %+v %v", got, err)
		}
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); fetchsms.ErrorReason(err) != fetchsms.ReasonWindowClosed {
			t.Fatalf("resend after the window: %v", err)
		}
		if b := f.balance(t, u.ID); b != 1000-v.CostCents {
			t.Fatalf("balance %d, want %d", b, 1000-v.CostCents)
		}
		// The number is free again.
		if _, err := f.db.CreateVerification(ctx, other.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); err != nil {
			t.Fatalf("the number after the wait: %v", err)
		}
	})

	t.Run("NumberTakenMeanwhile", func(t *testing.T) {
		t.Parallel()
		f, u, v := withCode(t)
		other := f.user(t, 1000)
		if _, err := f.db.CreateVerification(ctx, other.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); fetchsms.ErrorReason(err) != fetchsms.ReasonNumberUnavailable {
			t.Fatalf("resend of a number sold meanwhile: %v", err)
		}
		if got, _ := f.db.Verification(ctx, u.ID, v.ID); got.Status != fetchsms.StatusReceived {
			t.Fatalf("a refused resend moved it: %+v", got)
		}
		if _, err := f.db.ResendVerification(ctx, other.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("another's resend: %v", err)
		}
	})

	t.Run("CancelledWaitKeepsTheCharge", func(t *testing.T) {
		t.Parallel()
		f, u, v := withCode(t)
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		c, err := f.db.CancelVerification(ctx, u.ID, v.ID)
		if err != nil || c.Status != fetchsms.StatusReceived || c.Code != "111111" {
			t.Fatalf("cancel of a resend's wait: %+v %v", c, err)
		}
		if b := f.balance(t, u.ID); b != 1000-v.CostCents {
			t.Fatalf("balance %d after the cancel, want %d", b, 1000-v.CostCents)
		}
	})

	t.Run("RacingResendsAndCancels", func(t *testing.T) {
		t.Parallel()
		f, u, v := withCode(t)
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = f.db.ResendVerification(ctx, u.ID, v.ID)
				} else {
					_, err = f.db.CancelVerification(ctx, u.ID, v.ID)
					if fetchsms.ErrorReason(err) == fetchsms.ReasonAlreadyReceived {
						err = nil
					}
				}
				if err != nil {
					t.Errorf("racer %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		f.clock.Advance(time.Hour)
		if _, err := f.db.ExpireDue(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if b := f.balance(t, u.ID); b != 1000-v.CostCents {
			t.Fatalf("balance %d after the races, want %d", b, 1000-v.CostCents)
		}
	})
}
