package storetest

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testVerificationByRef: a verification is found by its public ref, only by its
// owner, and a read by ref ends it first when its window has closed.
func testVerificationByRef(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	u, other := f.user(t, 140), f.user(t, 0)
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.db.VerificationByRef(ctx, u.ID, v.Ref)
	if err != nil || got.ID != v.ID || got.Ref != v.Ref || got.Number != v.Number || got.ServiceSlug != "telegram" || got.Status != "waiting" {
		t.Fatalf("by ref: %+v %v", got, err)
	}
	for who, ref := range map[string]string{other.ID: v.Ref, u.ID: "v_000000", "": v.Ref} {
		if _, err := f.db.VerificationByRef(ctx, who, ref); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Errorf("user %q, ref %q: %v, want not found", who, ref, err)
		}
	}
	for _, ref := range []string{"", "v_", "v_!!!!!!", "r_ABCDEF", v.Ref + "0", v.ID} {
		if _, err := f.db.VerificationByRef(ctx, u.ID, ref); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Errorf("ref %q: %v, want not found", ref, err)
		}
	}
	f.clock.Advance(fetchsms.VerificationWindow)
	got, err = f.db.VerificationByRef(ctx, u.ID, v.Ref)
	if err != nil || got.Status != "expired" {
		t.Fatalf("by ref after the window: %+v %v", got, err)
	}
	if b := f.balance(t, u.ID); b != 140 {
		t.Fatalf("balance %d after the expiry, want 140 (refunded)", b)
	}
}

// testMaxPrice: a purchase above the buyer's maximum is refused and changes
// nothing; at the maximum it goes through; the area-code surcharge counts.
func testMaxPrice(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 1)
	u := f.user(t, 1000)
	maxOf := func(c fetchsms.Cents) *fetchsms.Cents { return &c }
	_, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", MaxPriceCents: maxOf(69)})
	wantError(t, "below the price", err, fetchsms.ECONFLICT, "Telegram costs $0.70, more than your maximum of $0.69")
	if fetchsms.ErrorReason(err) != fetchsms.ReasonAboveMaxPrice {
		t.Fatalf("reason %q", fetchsms.ErrorReason(err))
	}
	_, err = f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "332", MaxPriceCents: maxOf(70)})
	wantError(t, "the surcharge over the maximum", err, fetchsms.ECONFLICT, "Telegram costs $0.80, more than your maximum of $0.70")
	if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", MaxPriceCents: maxOf(-1)}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("negative maximum: %v", err)
	}
	if b := f.balance(t, u.ID); b != 1000 {
		t.Fatalf("balance %d after refused purchases", b)
	}
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", MaxPriceCents: maxOf(70)})
	if err != nil || v.CostCents != 70 {
		t.Fatalf("at the maximum: %+v %v", v, err)
	}
}

// testOpenVerifications: the open verifications are the waiting ones and the
// received ones while their window runs, newest first, the owner's only.
func testOpenVerifications(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 4)
	u, other := f.user(t, 1000), f.user(t, 1000)
	buy := func(who *fetchsms.User) *fetchsms.Verification {
		t.Helper()
		v, err := f.db.CreateVerification(ctx, who.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
		return v
	}
	received, cancelled := buy(u), buy(u)
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m1", To: received.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CancelVerification(ctx, u.ID, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	waiting := buy(u)
	buy(other)
	ids := func() []string {
		t.Helper()
		list, err := f.db.OpenVerifications(ctx, u.ID, 200)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range list {
			out = append(out, v.ID)
		}
		return out
	}
	if got := ids(); len(got) != 2 || got[0] != waiting.ID || got[1] != received.ID {
		t.Fatalf("open: %v, want [%s %s]", got, waiting.ID, received.ID)
	}
	if list, err := f.db.OpenVerifications(ctx, u.ID, 1); err != nil || len(list) != 1 || list[0].ID != waiting.ID {
		t.Fatalf("limit 1: %v %v", list, err)
	}
	// The received one's window closes first (bought first): it leaves the list;
	// then the waiting one's, which expires.
	f.clock.Advance(fetchsms.VerificationWindow - 3*time.Second)
	if got := ids(); len(got) != 1 || got[0] != waiting.ID {
		t.Fatalf("after the first window: %v", got)
	}
	f.clock.Advance(2 * time.Second)
	if got := ids(); len(got) != 0 {
		t.Fatalf("after every window: %v", got)
	}
}
