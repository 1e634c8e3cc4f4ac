package storetest

import (
	"context"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testLinks: a message whose only secret is a sign-in link releases it (issue
// 26), routed exactly as a code is; a code wins when both are there; a released
// link is charged like a code (never refunded after, even when a resend's wait
// expires); a rental's message keeps its link.
func testLinks(t *testing.T, open Opener) {
	ctx := context.Background()
	const link = "https://telegram.org/login/AbC123"
	buy := func(t *testing.T, f *fixture, u *fetchsms.User, service string) *fetchsms.Verification {
		t.Helper()
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	send := func(t *testing.T, f *fixture, to, id, from, body string) *fetchsms.InboundResult {
		t.Helper()
		res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: id, To: to, From: from, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("LinkOnly", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		if res := send(t, f, v.Number, "m1", "Telegram", "Tap to log in to Telegram: "+link+"."); res.VerificationID != v.ID {
			t.Fatalf("not routed: %+v", res)
		}
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusReceived || got.Link != link || got.Code != "" || len(got.Codes) != 0 || got.ReceivedAt.IsZero() {
			t.Fatalf("after the link: %+v %v", got, err)
		}
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); fetchsms.ErrorReason(err) != fetchsms.ReasonAlreadyReceived {
			t.Fatalf("cancel after the link: %v", err)
		}
		// Another code on the number, whose wait ends without one: received
		// again with its link, and never refunded (the link was charged).
		if r, err := f.db.ResendVerification(ctx, u.ID, v.ID); err != nil || r.Status != fetchsms.StatusWaiting || r.Link != link {
			t.Fatalf("resend after a link: %+v %v", r, err)
		}
		f.clock.Advance(fetchsms.VerificationWindow)
		if n, err := f.db.ExpireDue(ctx, 100); err != nil || n != 1 {
			t.Fatalf("expiry of the resend's wait: %d %v", n, err)
		}
		got, err = f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusReceived || got.Link != link {
			t.Fatalf("after the wait expired: %+v %v", got, err)
		}
		if b := f.balance(t, u.ID); b != 1000-v.CostCents {
			t.Fatalf("balance %d, want %d (charged once, never refunded)", b, 1000-v.CostCents)
		}
	})

	t.Run("CodeWins", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		send(t, f, v.Number, "m1", "Telegram", "Telegram code 482910. Or log in with "+link)
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusReceived || got.Code != "482910" || got.Link != link {
			t.Fatalf("code and link: %+v %v", got, err)
		}
		// The next release carries its own link, or none: a code-only message
		// clears the earlier link, the codes keep adding up.
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		send(t, f, v.Number, "m2", "Telegram", "Telegram code: 551177")
		got, err = f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Code != "551177" || got.Link != "" || len(got.Codes) != 2 {
			t.Fatalf("second release: %+v %v", got, err)
		}
	})

	t.Run("NotTheService", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v := buy(t, f, u, "whatsapp")
		// Another service's link, and the service's own URL that is no
		// sign-in link: neither releases.
		if res := send(t, f, v.Number, "m1", "Telegram", "Tap to log in to Telegram: "+link); res.VerificationID != "" {
			t.Fatalf("another service's link released: %+v", res)
		}
		if res := send(t, f, v.Number, "m2", "WhatsApp", "WhatsApp: new stickers are here https://whatsapp.com/stickers"); res.VerificationID != "" {
			t.Fatalf("a URL that is no sign-in link released: %+v", res)
		}
		got, err := f.db.Verification(ctx, u.ID, v.ID)
		if err != nil || got.Status != fetchsms.StatusWaiting || got.Link != "" {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatalf("cancel while waiting: %v", err)
		}
		if b := f.balance(t, u.ID); b != 1000 {
			t.Fatalf("balance %d after the refund", b)
		}
	})

	t.Run("RentalMessage", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 10000)
		r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		send(t, f, r.Number, "m1", "Telegram", "Tap to log in to Telegram: "+link)
		send(t, f, r.Number, "m2", "Telegram", "Telegram code: 482910")
		ms, _, err := f.db.RentalMessages(ctx, u.ID, r.ID, fetchsms.Page{})
		if err != nil || len(ms) != 2 {
			t.Fatalf("messages: %v %v", ms, err)
		}
		if ms[0].Code != "482910" || ms[0].Link != "" || ms[1].Link != link || ms[1].Code != "" {
			t.Fatalf("messages: %+v %+v", ms[0], ms[1])
		}
	})
}
