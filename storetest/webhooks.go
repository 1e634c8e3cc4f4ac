package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

func testWebhooks(t *testing.T, open Opener) {
	t.Run("Ownership", func(t *testing.T) { t.Parallel(); testWebhookOwnership(t, open) })
	t.Run("RetriesAndDisable", func(t *testing.T) { t.Parallel(); testWebhookRetries(t, open) })
	t.Run("LeaseLapses", func(t *testing.T) { t.Parallel(); testWebhookLease(t, open) })
	t.Run("EndpointLimitUnderConcurrency", func(t *testing.T) { t.Parallel(); testEndpointLimit(t, open) })
	t.Run("SecretRotation", func(t *testing.T) { t.Parallel(); testWebhookSecretRotation(t, open) })
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
	ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil)
	if err != nil || len(ds) != 1 || ds[0].EventType != fetchsms.EventSMSReceived || ds[0].Secret != ep.Secret {
		t.Fatalf("claim: %+v %v", ds, err)
	}
	// Leased: nobody else gets it.
	if again, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice: %+v %v", again, err)
	}
	if err := f.db.RecordAttempt(ctx, ds[0], fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 500, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// The retry is due after the first step of the schedule, by the business clock.
	if again, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(again) != 0 {
		t.Fatalf("retried early: %+v %v", again, err)
	}
	f.clock.Advance(fetchsms.RetrySchedule[0] * 2)
	ds, err = f.db.ClaimDeliveries(ctx, 10, time.Minute, nil)
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
	_, err = f.db.CreateEndpoint(ctx, u.ID, "https://example.com/h", nil)
	wantError(t, "21st endpoint", err, fetchsms.ECONFLICT, "at most 20 webhook endpoints per account: delete one first")
}

// wantError fails the test unless err has code and message.
func wantError(t *testing.T, what string, err error, code, message string) {
	t.Helper()
	if fetchsms.ErrorCode(err) != code || fetchsms.ErrorMessage(err) != message {
		t.Fatalf("%s: %v, want %s %q", what, err, code, message)
	}
}

// testWebhookOwnership: an endpoint, its deliveries and its events are its
// owner's alone; another account's calls find nothing.
func testWebhookOwnership(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u, other := f.user(t, 0), f.user(t, 0)
	_, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", []string{fetchsms.EventSMSReceived, "sms.sent"})
	wantError(t, "unknown event", err, fetchsms.EUNPROCESSABLE, `unknown event "sms.sent": events are sms.received and rental.expired`)
	ep, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", []string{fetchsms.EventRentalExpired})
	if err != nil || !ep.Enabled || len(ep.Events) != 1 || !strings.HasPrefix(ep.Secret, "whsec_") || strings.Contains(ep.Secret, "-") {
		t.Fatalf("created: %+v %v", ep, err)
	}
	if got, err := f.db.Endpoint(ctx, u.ID, ep.ID); err != nil || got.Secret != ep.Secret || !got.CreatedAt.Equal(ep.CreatedAt) || got.Events[0] != fetchsms.EventRentalExpired {
		t.Fatalf("read back: %+v %v (created %+v)", got, err, ep)
	}
	const notFound = "webhook endpoint not found"
	_, err = f.db.Endpoint(ctx, other.ID, ep.ID)
	wantError(t, "another's endpoint", err, fetchsms.ENOTFOUND, notFound)
	_, _, err = f.db.EndpointDeliveries(ctx, other.ID, ep.ID, fetchsms.Page{})
	wantError(t, "another's deliveries", err, fetchsms.ENOTFOUND, notFound)
	_, err = f.db.SendTestEvent(ctx, other.ID, ep.ID)
	wantError(t, "test event to another's endpoint", err, fetchsms.ENOTFOUND, notFound)
	_, err = f.db.EnableEndpoint(ctx, other.ID, ep.ID)
	wantError(t, "enable another's endpoint", err, fetchsms.ENOTFOUND, notFound)
	wantError(t, "delete another's endpoint", f.db.DeleteEndpoint(ctx, other.ID, ep.ID), fetchsms.ENOTFOUND, notFound)
	if list, err := f.db.Endpoints(ctx, other.ID); err != nil || len(list) != 0 {
		t.Fatalf("another's list: %+v %v", list, err)
	}
	if n, _ := f.db.PendingDeliveries(ctx); n != 0 {
		t.Fatalf("%d deliveries queued by refused calls", n)
	}

	// A test event reaches an endpoint whatever it subscribes to.
	id, err := f.db.SendTestEvent(ctx, u.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds, _, err := f.db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].EventType != fetchsms.EventTest || ds[0].Status != fetchsms.DeliveryPending {
		t.Fatalf("test delivery: %+v %v", ds, err)
	}
	wantError(t, "redeliver an unknown delivery", f.db.Redeliver(ctx, u.ID, ep.ID, "00000000-0000-0000-0000-000000000000"), fetchsms.ENOTFOUND, "delivery not found")
	wantError(t, "redeliver through another's endpoint", f.db.Redeliver(ctx, other.ID, ep.ID, id), fetchsms.ENOTFOUND, "delivery not found")

	if err := f.db.DeleteEndpoint(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, "delete twice", f.db.DeleteEndpoint(ctx, u.ID, ep.ID), fetchsms.ENOTFOUND, notFound)
	wantError(t, "redeliver through a deleted endpoint", f.db.Redeliver(ctx, u.ID, ep.ID, id), fetchsms.ENOTFOUND, "delivery not found")
	_, err = f.db.SendTestEvent(ctx, u.ID, ep.ID)
	wantError(t, "test event to a deleted endpoint", err, fetchsms.ENOTFOUND, notFound)
	if list, err := f.db.Endpoints(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("deleted endpoint listed: %+v %v", list, err)
	}
}

// testEvent makes a user with an endpoint and queues a test event to it: the
// user, the endpoint and the delivery's id.
func (f *fixture) testEvent(t *testing.T) (*fetchsms.User, *fetchsms.WebhookEndpoint, string) {
	t.Helper()
	ctx := context.Background()
	u := f.user(t, 0)
	ep, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.db.SendTestEvent(ctx, u.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u, ep, id
}

// testWebhookRetries: a failing delivery is retried on RetrySchedule by the
// business clock and given up once it is spent; an endpoint that fails for
// DisableAfter without a success is disabled with the last error, and re-enabling
// it retries its pending deliveries at once.
func testWebhookRetries(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u, ep, first := f.testEvent(t)
	claim := func(want int) []*fetchsms.Delivery {
		t.Helper()
		ds, err := f.db.ClaimDeliveries(ctx, 10, time.Second, nil)
		if err != nil || len(ds) != want {
			t.Fatalf("claimed %d (%v), want %d", len(ds), err, want)
		}
		f.wall.Advance(time.Second) // the lease ends: nothing held over to the next claim
		return ds
	}
	failedAt := f.clock.Now()
	for i := 0; i <= len(fetchsms.RetrySchedule); i++ {
		ds := claim(1)
		if ds[0].ID != first || ds[0].Attempts != i {
			t.Fatalf("attempt %d: %+v", i+1, ds[0])
		}
		if err := f.db.RecordAttempt(ctx, ds[0], fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 503, Latency: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if i == len(fetchsms.RetrySchedule) {
			break
		}
		// Due after the step of the schedule, with at most a fifth more.
		f.clock.Advance(fetchsms.RetrySchedule[i] - time.Millisecond)
		claim(0)
		f.clock.Advance(fetchsms.RetrySchedule[i]/5 + time.Millisecond)
	}
	claim(0)
	ds, _, err := f.db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if err != nil || len(ds) != 1 || ds[0].Status != fetchsms.DeliveryFailed || ds[0].Attempts != len(fetchsms.RetrySchedule)+1 || len(ds[0].History) != ds[0].Attempts {
		t.Fatalf("given up: %+v %v", ds, err)
	}
	e, err := f.db.Endpoint(ctx, u.ID, ep.ID)
	if err != nil || !e.Enabled || !e.FailingSince.Equal(failedAt) {
		t.Fatalf("after a day of failures: %+v %v (failing since %v)", e, err, failedAt)
	}

	// Three days after the first failure, one more failure disables it.
	f.clock.Advance(fetchsms.DisableAfter)
	second, err := f.db.SendTestEvent(ctx, u.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := claim(1)[0]
	if err := f.db.RecordAttempt(ctx, d, fetchsms.DeliveryAttempt{At: f.clock.Now(), Error: "connection refused", Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e, err = f.db.Endpoint(ctx, u.ID, ep.ID)
	if err != nil || e.Enabled || e.DisabledReason != "disabled after failing for 3 days without a successful delivery; last error: connection refused" {
		t.Fatalf("after three days of failures: %+v %v", e, err)
	}
	// Disabled: its retry comes due but is not claimed.
	f.clock.Advance(fetchsms.RetrySchedule[0] * 2)
	claim(0)
	if n, _ := f.db.PendingDeliveries(ctx); n != 1 {
		t.Fatalf("%d pending on the disabled endpoint", n)
	}

	// Re-enabled: the pending delivery is due at once, its schedule afresh.
	if e, err = f.db.EnableEndpoint(ctx, u.ID, ep.ID); err != nil || !e.Enabled || e.DisabledReason != "" || !e.FailingSince.IsZero() {
		t.Fatalf("enabled: %+v %v", e, err)
	}
	d = claim(1)[0]
	if d.ID != second || d.Attempts != 0 {
		t.Fatalf("after enable: %+v", d)
	}
	if err := f.db.RecordAttempt(ctx, d, fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 204, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ds, _, _ = f.db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if ds[0].ID != second || ds[0].Status != fetchsms.DeliveryDelivered || !ds[0].DeliveredAt.Equal(f.clock.Now()) || ds[0].Attempts != 1 {
		t.Fatalf("delivered: %+v", ds[0])
	}

	// A failure after a success starts the count again; a success ends it.
	if err := f.db.Redeliver(ctx, u.ID, ep.ID, first); err != nil {
		t.Fatal(err)
	}
	d = claim(1)[0]
	if d.ID != first || d.Attempts != 0 {
		t.Fatalf("redelivered: %+v", d)
	}
	if err := f.db.RecordAttempt(ctx, d, fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 500, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.db.Endpoint(ctx, u.ID, ep.ID); !e.Enabled || !e.FailingSince.Equal(f.clock.Now()) {
		t.Fatalf("failing again: %+v", e)
	}
	f.clock.Advance(fetchsms.RetrySchedule[0] * 2)
	d = claim(1)[0]
	if err := f.db.RecordAttempt(ctx, d, fetchsms.DeliveryAttempt{At: f.clock.Now(), StatusCode: 200, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.db.Endpoint(ctx, u.ID, ep.ID); !e.Enabled || !e.FailingSince.IsZero() {
		t.Fatalf("recovered: %+v", e)
	}
}

// testWebhookLease: a claimed delivery is no one else's until its lease (wall
// time) ends; a worker that dies holding it leaves it to the next claim then.
func testWebhookLease(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	_, _, id := f.testEvent(t)
	if ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(ds) != 1 || ds[0].ID != id {
		t.Fatalf("claim: %+v %v", ds, err)
	}
	f.wall.Advance(time.Minute - time.Millisecond)
	if ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(ds) != 0 {
		t.Fatalf("claimed during the lease: %+v %v", ds, err)
	}
	// The business clock does not end a lease.
	f.clock.Advance(time.Hour)
	if ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(ds) != 0 {
		t.Fatalf("claimed during the lease: %+v %v", ds, err)
	}
	f.wall.Advance(time.Millisecond)
	if ds, err := f.db.ClaimDeliveries(ctx, 10, time.Minute, nil); err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].Attempts != 0 {
		t.Fatalf("after the lease: %+v %v", ds, err)
	}
}

// testEndpointLimit: of many endpoints added at once (from several servers, on
// PostgreSQL), no more than MaxEndpoints are kept; the others are ECONFLICT.
func testEndpointLimit(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	added := parallel(fetchsms.MaxEndpoints+8, func(i int) error {
		_, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil)
		if err != nil && fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
			t.Errorf("create: %v", err)
		}
		return err
	})
	list, err := f.db.Endpoints(ctx, u.ID)
	if added != fetchsms.MaxEndpoints || err != nil || len(list) != fetchsms.MaxEndpoints {
		t.Fatalf("%d endpoints added at once, %d listed (%v), want %d", added, len(list), err, fetchsms.MaxEndpoints)
	}
}

// testFairDeliveries: a claim takes the oldest due deliveries but at most
// PerAccountDeliveries of one account, counting those its worker already sends:
// one customer's backlog cannot hold up another's delivery (issue 19, finding 2).
func testFairDeliveries(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	a, epA, _ := f.testEvent(t)
	for range 11 { // twelve in all, all older than b's
		if _, err := f.db.SendTestEvent(ctx, a.ID, epA.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Second)
	b, _, _ := f.testEvent(t)
	count := func(ds []*fetchsms.Delivery) map[string]int {
		m := map[string]int{}
		for _, d := range ds {
			m[d.UserID]++
		}
		return m
	}
	ds, err := f.db.ClaimDeliveries(ctx, 16, time.Second, nil)
	if got := count(ds); err != nil || got[a.ID] != fetchsms.PerAccountDeliveries || got[b.ID] != 1 {
		t.Fatalf("a claim of 16 over a backlog of 12 and one newer delivery: %v %v; want %d of the backlog and the newer one", got, err, fetchsms.PerAccountDeliveries)
	}
	f.wall.Advance(2 * time.Second) // the leases lapse
	ds, err = f.db.ClaimDeliveries(ctx, 16, time.Second, map[string]int{a.ID: fetchsms.PerAccountDeliveries})
	if got := count(ds); err != nil || got[a.ID] != 0 || got[b.ID] != 1 {
		t.Fatalf("a claim while the backlog's account has its share in flight: %v %v", got, err)
	}
	f.wall.Advance(2 * time.Second)
	ds, err = f.db.ClaimDeliveries(ctx, 2, time.Second, nil)
	if err != nil || len(ds) != 2 || ds[0].UserID != a.ID {
		t.Fatalf("a claim of 2 takes the oldest first: %+v %v", ds, err)
	}
}
