package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testInboundLog covers the admin inbound log (every stored SMS, routed or not,
// newest first) and disabling pool numbers.
func testInboundLog(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("Log", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 3)
		u := f.user(t, 5000)
		if list, next, err := f.db.ListInboundMessages(ctx, fetchsms.Page{}); err != nil || len(list) != 0 || next != 0 {
			t.Fatalf("empty log: %+v %d %v", list, next, err)
		}
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		var free string
		for _, n := range f.numbers {
			if n != v.Number && n != r.Number {
				free = n
			}
		}
		at := f.clock.Now()
		for _, in := range []fetchsms.InboundSMS{
			{ID: "m1", To: v.Number, From: "Telegram", Body: "Telegram code: 482910"},
			{ID: "m2", To: free, From: "+15550001111", Body: "hello, nobody is listening"},
			{ID: "m3", To: r.Number, From: "WhatsApp", Body: "Your WhatsApp code: 123-456"},
		} {
			f.clock.Advance(time.Second)
			if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		page1, next, err := f.db.ListInboundMessages(ctx, fetchsms.Page{Limit: 2})
		if err != nil || len(page1) != 2 || next == 0 {
			t.Fatalf("page 1: %+v %d %v", page1, next, err)
		}
		page2, next2, err := f.db.ListInboundMessages(ctx, fetchsms.Page{Limit: 2, Cursor: next})
		if err != nil || len(page2) != 1 || next2 != 0 {
			t.Fatalf("page 2: %+v %d %v", page2, next2, err)
		}
		rental, unrouted, verif := page1[0], page1[1], page2[0]

		if verif.To != v.Number || verif.Sender != "Telegram" || verif.Body != "Telegram code: 482910" || verif.Code != "482910" ||
			verif.ServiceName != "Telegram" || verif.ServiceID != v.ServiceID || verif.GatewayID != f.gateway.ID || verif.GatewayName != "bank" ||
			verif.VerificationID != v.ID || verif.VerificationRef != v.Ref || verif.RentalID != "" || !verif.Routed() ||
			!verif.ReceivedAt.Equal(at.Add(time.Second)) || verif.ID == "" {
			t.Fatalf("verification message: %+v (verification %s %s)", verif, v.ID, v.Ref)
		}
		if unrouted.To != free || unrouted.Code != "" || unrouted.ServiceID != 0 || unrouted.ServiceName != "" || unrouted.Routed() ||
			unrouted.VerificationRef != "" || unrouted.RentalRef != "" || unrouted.Body != "hello, nobody is listening" {
			t.Fatalf("unrouted message: %+v", unrouted)
		}
		if rental.To != r.Number || rental.RentalID != r.ID || rental.RentalRef != r.Ref || rental.VerificationID != "" || !rental.Routed() ||
			rental.ServiceName != "WhatsApp" || rental.Code == "" {
			t.Fatalf("rental message: %+v (rental %s %s)", rental, r.ID, r.Ref)
		}
	})

	t.Run("DisabledNumberNotSold", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 5000)
		nums, _, err := f.db.ListNumbers(ctx, fetchsms.Page{})
		if err != nil || len(nums) != 1 {
			t.Fatalf("%+v %v", nums, err)
		}
		id := nums[0].ID
		var stockChanges atomic.Int32
		f.db.Listen(func(_ context.Context, change any) {
			if _, ok := change.(fetchsms.StockChanged); ok {
				stockChanges.Add(1)
			}
		})
		wantError(t, "bad status", f.db.SetNumberStatus(ctx, id, "retired"), fetchsms.EINVALID, `status must be "active" or "disabled"`)
		wantError(t, "unknown number", f.db.SetNumberStatus(ctx, "no-such-number", fetchsms.NumberDisabled), fetchsms.ENOTFOUND, "number not found")
		if n := stockChanges.Load(); n != 0 {
			t.Fatalf("%d stock changes announced for refused calls", n)
		}
		if err := f.db.SetNumberStatus(ctx, id, fetchsms.NumberDisabled); err != nil {
			t.Fatal(err)
		}
		if n := stockChanges.Load(); n != 1 {
			t.Fatalf("%d stock changes announced after a number was disabled, want 1", n)
		}
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("verification on a disabled pool: %v", err)
		}
		if _, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("rental on a disabled pool: %v", err)
		}
		if b, _ := f.db.Balance(ctx, u.ID); b != 5000 {
			t.Fatalf("balance after refused purchases: %d", b)
		}
		if nums, _, _ := f.db.ListNumbers(ctx, fetchsms.Page{}); nums[0].Status != fetchsms.NumberDisabled {
			t.Fatalf("listed: %+v", nums[0])
		}
		if err := f.db.SetNumberStatus(ctx, id, fetchsms.NumberActive); err != nil {
			t.Fatal(err)
		}
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatalf("after enable: %v", err)
		}

		// Disabling a held number keeps it held: the purchase runs to its end.
		if err := f.db.SetNumberStatus(ctx, id, fetchsms.NumberDisabled); err != nil {
			t.Fatal(err)
		}
		nums, _, _ = f.db.ListNumbers(ctx, fetchsms.Page{})
		if nums[0].Status != fetchsms.NumberDisabled || nums[0].Holder == "" {
			t.Fatalf("held then disabled: %+v", nums[0])
		}
		if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "d1", To: v.Number, From: "Telegram", Body: "Telegram code: 771204"}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.db.Verification(ctx, u.ID, v.ID); err != nil || got.Status != fetchsms.StatusReceived || got.Code != "771204" {
			t.Fatalf("held purchase after disable: %+v %v", got, err)
		}
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Fatalf("released disabled number sold again: %v", err)
		}
	})
}
