package webhook_test

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
	"github.com/fetchsms/fetchsms/webhook"
)

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

type received struct {
	body     []byte
	sig      string
	delivery string
	event    string
}

// receiver fails the first failures requests with 500, then accepts.
type receiver struct {
	mu       sync.Mutex
	failures int
	status   int // the failures' status (500 when 0)
	got      []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, received{body, r.Header.Get(webhook.HeaderSignature), r.Header.Get(webhook.HeaderDelivery), r.Header.Get(webhook.HeaderEvent)})
	if len(rc.got) <= rc.failures {
		w.WriteHeader(cmp.Or(rc.status, http.StatusInternalServerError))
	}
}

func (rc *receiver) count() int { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.got) }

type world struct {
	path  string
	clock *testClock
	db    *fetchsms.App
	stop  func()
}

func open(t testing.TB, path string, clock *testClock) *fetchsms.App {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	app, err := fetchsms.New(ctx, db, fetchsms.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// startWorker runs a delivery worker on db until the returned stop is called.
func startWorker(db *fetchsms.App) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &webhook.Worker{Store: db, Sender: webhook.NewSender(webhook.Guard{AllowLoopback: true}, 2*time.Second), Wake: db.DeliveriesDue(), Poll: 10 * time.Millisecond}
	go func() { w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// recorded returns how many attempts the store has recorded for the endpoint.
func recorded(db *fetchsms.App, userID, endpointID string) int {
	ds, _, err := db.EndpointDeliveries(context.Background(), userID, endpointID, fetchsms.Page{})
	if err != nil {
		return -1
	}
	n := 0
	for _, d := range ds {
		n += len(d.History)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRetriesSurviveRestart: a receiver that fails twice then succeeds gets the
// event, with a server restart between the attempts; the log shows all three.
func TestRetriesSurviveRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := &receiver{failures: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	clock := &testClock{t: time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "hooks.db")
	db := open(t, path, clock)
	gw, _ := db.CreateGateway(ctx, "bank")
	if _, _, err := db.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers([]string{"+13325550184"})); err != nil {
		t.Fatal(err)
	}
	u, _ := db.CreateUser(ctx, "hooks@example.com", "password123", "customer")
	db.Adjust(ctx, u.ID, 1000, "credit")
	ep, err := db.CreateEndpoint(ctx, u.ID, srv.URL+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := startWorker(db)

	v, err := db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	in := fetchsms.InboundSMS{ID: "gw-1", To: v.Number, From: "Telegram", Body: "Telegram code: 482910. Do not give this code to anyone."}
	if _, err := db.ReceiveSMS(ctx, gw.ID, in); err != nil {
		t.Fatal(err)
	}
	// The gateway repeats itself: still one event.
	if _, err := db.ReceiveSMS(ctx, gw.ID, in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt", func() bool { return recorded(db, u.ID, ep.ID) == 1 })
	clock.Advance(fetchsms.RetrySchedule[0] * 6 / 5)
	waitFor(t, "second attempt", func() bool { return recorded(db, u.ID, ep.ID) == 2 })

	// Restart: worker and database go away between attempts.
	stop()
	db.Close()
	db = open(t, path, clock)
	defer db.Close()
	time.Sleep(50 * time.Millisecond)
	stop = startWorker(db)
	defer stop()
	if rc.count() != 2 {
		t.Fatalf("retried before it was due: %d attempts", rc.count())
	}
	clock.Advance(fetchsms.RetrySchedule[1] * 6 / 5)
	waitFor(t, "third attempt", func() bool { return rc.count() == 3 })

	var ds []*fetchsms.Delivery
	waitFor(t, "delivered status", func() bool {
		ds, _, err = db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
		return err == nil && len(ds) == 1 && ds[0].Status == fetchsms.DeliveryDelivered
	})
	d := ds[0]
	if len(d.History) != 3 || d.History[0].StatusCode != 500 || d.History[1].StatusCode != 500 || d.History[2].StatusCode != 200 {
		t.Fatalf("history %+v", d.History)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, g := range rc.got {
		if !webhook.Verify(ep.Secret, g.body, g.sig) || g.delivery != d.ID || g.event != "sms.received" {
			t.Fatalf("delivery %+v", g)
		}
	}
	var payload struct {
		Event string `json:"event"`
		Data  struct {
			VerificationID  string  `json:"verification_id"`
			Ref             string  `json:"ref"`
			Number          string  `json:"number"`
			Sender          string  `json:"sender"`
			Code            string  `json:"code"`
			DetectedService string  `json:"detected_service"`
			ReceivedAt      string  `json:"received_at"`
			Body            *string `json:"body"`
		} `json:"data"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(rc.got[2].body, &payload); err != nil {
		t.Fatal(err)
	}
	p := payload.Data
	if payload.Event != "sms.received" || p.VerificationID != v.ID || p.Ref != v.Ref || p.Number != "(332) 555-0184" || p.Sender != "Telegram" ||
		p.Code != "482910" || p.DetectedService != "Telegram" || p.Body != nil || p.ReceivedAt == "" || payload.CreatedAt == "" {
		t.Fatalf("payload %s", rc.got[2].body)
	}
}

// TestGoneEndpointIsDisabled: an endpoint that answers 410 Gone is disabled at
// once (as the Standard Webhooks specification asks), its delivery kept for a
// redelivery once the customer enables it again.
func TestGoneEndpointIsDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := &receiver{failures: 1, status: http.StatusGone}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	clock := &testClock{t: time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC)}
	db := open(t, filepath.Join(t.TempDir(), "hooks.db"), clock)
	defer db.Close()
	u, _ := db.CreateUser(ctx, "gone@example.com", "password123", "customer")
	ep, _ := db.CreateEndpoint(ctx, u.ID, srv.URL, nil)
	stop := startWorker(db)
	defer stop()
	if _, err := db.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	var e *fetchsms.WebhookEndpoint
	waitFor(t, "endpoint disabled", func() bool {
		e, _ = db.Endpoint(ctx, u.ID, ep.ID)
		return !e.Enabled
	})
	if !strings.Contains(e.DisabledReason, "410") || rc.count() != 1 {
		t.Fatalf("disabled with %q after %d attempts", e.DisabledReason, rc.count())
	}
	// Enabled again, the delivery goes out and succeeds.
	if _, err := db.EnableEndpoint(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	ds, _, _ := db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if len(ds) != 1 {
		t.Fatalf("deliveries %+v", ds)
	}
	if ds[0].Status != fetchsms.DeliveryPending {
		if err := db.Redeliver(ctx, u.ID, ep.ID, ds[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(fetchsms.RetrySchedule[0] * 6 / 5)
	waitFor(t, "delivered after enabling", func() bool {
		ds, _, _ = db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
		return ds[0].Status == fetchsms.DeliveryDelivered
	})
}

// TestFailingEndpointIsDisabled: an endpoint that never succeeds is disabled with a
// reason once it has failed for days, and can be re-enabled and redelivered.
func TestFailingEndpointIsDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := &receiver{failures: 1 << 30}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	clock := &testClock{t: time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC)}
	db := open(t, filepath.Join(t.TempDir(), "hooks.db"), clock)
	defer db.Close()
	u, _ := db.CreateUser(ctx, "down@example.com", "password123", "customer")
	ep, _ := db.CreateEndpoint(ctx, u.ID, srv.URL, nil)
	stop := startWorker(db)
	defer stop()
	if _, err := db.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= len(fetchsms.RetrySchedule); i++ {
		waitFor(t, "attempt", func() bool { return recorded(db, u.ID, ep.ID) == i })
		clock.Advance(fetchsms.RetrySchedule[i-1] * 6 / 5)
	}
	waitFor(t, "last attempt", func() bool { return recorded(db, u.ID, ep.ID) == len(fetchsms.RetrySchedule)+1 })
	if e, _ := db.Endpoint(ctx, u.ID, ep.ID); !e.Enabled {
		t.Fatal("disabled after one day of failures")
	}
	// Days later, the endpoint still fails: now it is disabled.
	clock.Advance(fetchsms.DisableAfter)
	if _, err := db.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	var e *fetchsms.WebhookEndpoint
	waitFor(t, "endpoint disabled", func() bool {
		e, _ = db.Endpoint(ctx, u.ID, ep.ID)
		return !e.Enabled
	})
	if e.DisabledReason == "" {
		t.Fatal("disabled without a reason")
	}
	ds, _, _ := db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
	if len(ds) != 2 || ds[1].Status != fetchsms.DeliveryFailed || len(ds[1].History) != len(fetchsms.RetrySchedule)+1 || ds[0].Status != fetchsms.DeliveryPending {
		t.Fatalf("deliveries %+v %+v", ds[0], ds[1])
	}
	// The customer fixes the receiver, re-enables and redelivers.
	rc.mu.Lock()
	rc.failures = 0
	rc.mu.Unlock()
	if _, err := db.EnableEndpoint(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Redeliver(ctx, u.ID, ep.ID, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redelivery and the pending one", func() bool {
		ds, _, _ = db.EndpointDeliveries(ctx, u.ID, ep.ID, fetchsms.Page{})
		return ds[0].Status == fetchsms.DeliveryDelivered && ds[1].Status == fetchsms.DeliveryDelivered
	})
}
