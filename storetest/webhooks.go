package storetest

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

func testWebhooks(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	u := f.user(t, 1000)
	ep, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m1", To: v.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.db.DeliveriesDue():
	case <-time.After(5 * time.Second):
		t.Fatal("DeliveriesDue not signalled after an SMS enqueued a delivery")
	}
	if n, err := f.db.PendingDeliveries(ctx); err != nil || n != 1 {
		t.Fatalf("pending: %d %v", n, err)
	}
	ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].EventType != fetchsms.EventSMSReceived || ds[0].Secret != ep.Secret {
		t.Fatalf("claim: %+v %v", ds, err)
	}
	// Leased: nobody else gets it.
	if again, err := f.db.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice: %+v %v", again, err)
	}
	if err := f.db.RecordAttempt(ctx, ds[0], fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 500, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// The retry is due after the first step of the schedule, by the business clock.
	if again, err := f.db.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("retried early: %+v %v", again, err)
	}
	f.clock.Advance(fetchsms.RetrySchedule[0] * 2)
	ds, err = f.db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("retry: %+v %v", ds, err)
	}
	if err := f.db.RecordAttempt(ctx, ds[0], fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 204, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.PendingDeliveries(ctx); n != 0 {
		t.Fatalf("%d pending after success", n)
	}
	list, _, err := f.db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if err != nil || len(list) != 1 || list[0].Status != "delivered" || len(list[0].History) != 2 {
		t.Fatalf("deliveries: %+v %v", list, err)
	}
	if err := f.db.Redeliver(ctx, u.ID, ep.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.PendingDeliveries(ctx); n != 1 {
		t.Fatalf("%d pending after redeliver", n)
	}
	other := f.user(t, 0)
	if err := f.db.Redeliver(ctx, other.ID, ep.ID, list[0].ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("another user's redeliver: %v", err)
	}
	id, err := f.db.SendTestEvent(ctx, u.ID, ep.ID)
	if err != nil || id == "" {
		t.Fatalf("test event: %q %v", id, err)
	}
	if err := f.db.DeleteEndpoint(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.PendingDeliveries(ctx); n != 0 {
		t.Fatalf("%d pending after the endpoint was deleted", n)
	}
	if _, err := f.db.Endpoint(ctx, u.ID, ep.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("deleted endpoint: %v", err)
	}
	for i := 0; i < 20; i++ {
		if _, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/h", []string{fetchsms.EventRentalExpired}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/h", nil); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("21st endpoint: %v", err)
	}
}
