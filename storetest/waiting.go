package storetest

import (
	"context"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testWaitingOnGateway: the purchases waiting for an SMS on a gateway's
// numbers, and only those (the sandbox's SIM bank answers them).
func testWaitingOnGateway(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 4)
	u := f.user(t, 100_000)
	other, err := f.db.CreateGateway(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "whatsapp"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	vs, rs, err := f.db.WaitingOnGateway(ctx, f.gateway.ID, 10)
	if err != nil || len(vs) != 2 || len(rs) != 1 || vs[0].ID != v1.ID || vs[1].ID != v2.ID || rs[0].ID != r.ID {
		t.Fatalf("waiting: %v %v %v", vs, rs, err)
	}
	if vs[0].ServiceSlug != "telegram" || vs[0].Number == "" || rs[0].Number == "" {
		t.Errorf("rows lack what the SIM bank needs: %+v %+v", vs[0], rs[0])
	}
	if vs, rs, err := f.db.WaitingOnGateway(ctx, f.gateway.ID, 1); err != nil || len(vs) != 1 || len(rs) != 1 {
		t.Errorf("limit 1: %d %d %v", len(vs), len(rs), err)
	}
	if vs, rs, err := f.db.WaitingOnGateway(ctx, other.ID, 10); err != nil || len(vs)+len(rs) != 0 {
		t.Errorf("another gateway's: %v %v %v", vs, rs, err)
	}
	// A code, a cancellation and a rental's first message end the wait.
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "w1", To: v1.Number, From: "Telegram", Body: "Telegram code: 123456"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CancelVerification(ctx, u.ID, v2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "w2", To: r.Number, From: "Uber", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	if vs, rs, err := f.db.WaitingOnGateway(ctx, f.gateway.ID, 10); err != nil || len(vs)+len(rs) != 0 {
		t.Errorf("after the answers: %v %v %v", vs, rs, err)
	}
}
