package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

func testEventLog(t *testing.T, open Opener) {
	t.Run("ReadsInOrderPerAccount", func(t *testing.T) { t.Parallel(); testEventLogOrder(t, open) })
	t.Run("ConcurrentWritesNeverSkipped", func(t *testing.T) { t.Parallel(); testEventLogConcurrent(t, open) })
	t.Run("CommitOrder", func(t *testing.T) { t.Parallel(); testEventLogCommitOrder(t, open) })
	t.Run("Prune", func(t *testing.T) { t.Parallel(); testEventLogPrune(t, open) })
}

func testEventLogOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 3)
	a, b := f.user(t, 1000), f.user(t, 1000)
	if seq, err := f.db.StreamStart(ctx, a.ID, ""); err != nil || seq != 0 {
		t.Fatalf("a new account's stream starts at %d, %v", seq, err)
	}
	v1, err := f.db.CreateVerification(ctx, a.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.db.CreateVerification(ctx, a.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateVerification(ctx, b.ID, fetchsms.VerificationRequest{Service: "telegram"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "e1", To: v1.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CancelVerification(ctx, a.ID, v2.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := f.db.EventsAfter(ctx, a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, ev := range evs {
		got = append(got, ev.Type)
		if ev.UserID != a.ID || ev.Seq <= 0 || (i > 0 && ev.Seq <= evs[i-1].Seq) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	want := fmt.Sprint([]string{fetchsms.EventSMSReceived, fetchsms.EventVerificationUpdated, fetchsms.EventVerificationUpdated})
	if fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %v", got, want)
	}
	if s := string(evs[2].Payload); !strings.Contains(s, `"status": "cancelled"`) || !strings.Contains(s, v2.ID) {
		t.Fatalf("cancel event: %s", s)
	}
	if s := string(evs[0].Payload); !strings.Contains(s, `"code": "482910"`) || !strings.Contains(s, `"event": "sms.received"`) {
		t.Fatalf("sms event: %s", s)
	}
	last, err := f.db.StreamStart(ctx, a.ID, "")
	if err != nil || last != evs[2].Seq {
		t.Fatalf("stream start %d %v, want %d", last, err, evs[2].Seq)
	}
	if more, err := f.db.EventsAfter(ctx, a.ID, last); err != nil || len(more) != 0 {
		t.Fatalf("after the last: %d %v", len(more), err)
	}
	if rest, err := f.db.EventsAfter(ctx, a.ID, evs[0].Seq); err != nil || len(rest) != 2 || rest[0].ID != evs[1].ID {
		t.Fatalf("resume after the first: %d %v", len(rest), err)
	}
	if bs, err := f.db.EventsAfter(ctx, b.ID, 0); err != nil || len(bs) != 0 {
		t.Fatalf("another account sees %d events, %v", len(bs), err)
	}
	if seq, err := f.db.StreamStart(ctx, a.ID, "12"); err != nil || seq != 12 {
		t.Fatalf("explicit start: %d %v", seq, err)
	}
	if _, err := f.db.StreamStart(ctx, a.ID, "x"); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("bad Last-Event-ID: %v", err)
	}
}

// testEventLogConcurrent: SMS arrive at once on many numbers of one account
// while a reader follows the log by position; the reader ends with every event,
// each once. On PostgreSQL this holds only if a transaction that took a lower
// seq never commits after a reader has seen a higher one.
func testEventLogConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	const n = 16
	f := setup(t, open, n)
	u := f.user(t, 100000)
	var vs []*fetchsms.Verification
	for i := 0; i < n; i++ {
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	start, err := f.db.StreamStart(ctx, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * n // sms.received and verification.updated each
	seen := map[string]bool{}
	done := make(chan error, 1)
	go func() {
		after := start
		deadline := time.Now().Add(30 * time.Second)
		for len(seen) < want && time.Now().Before(deadline) {
			evs, err := f.db.EventsAfter(ctx, u.ID, after)
			if err != nil {
				done <- err
				return
			}
			for _, ev := range evs {
				if seen[ev.ID] {
					done <- fmt.Errorf("event %s read twice", ev.ID)
					return
				}
				seen[ev.ID] = true
				after = ev.Seq
			}
		}
		done <- nil
	}()
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: fmt.Sprintf("c%d", i), To: v.Number, From: "Telegram", Body: "Telegram code: 4829" + fmt.Sprintf("%02d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all, err := f.db.EventsAfter(ctx, u.ID, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != want || len(all) != want {
		t.Fatalf("the reader saw %d events, the log holds %d, want %d: an event committed behind the reader's position was skipped", len(seen), len(all), want)
	}
}

func testEventLogPrune(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	u := f.user(t, 1000)
	if _, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/hook", nil); err != nil {
		t.Fatal(err)
	}
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "p1", To: v.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.db.PruneEvents(ctx, 100); err != nil || n != 0 {
		t.Fatalf("fresh events pruned: %d %v", n, err)
	}
	f.clock.Advance(fetchsms.EventRetention + time.Hour)
	// The sms.received event still has a pending delivery: only the
	// stream-only verification.updated goes.
	if n, err := f.db.PruneEvents(ctx, 100); err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1", n, err)
	}
	evs, err := f.db.EventsAfter(ctx, u.ID, 0)
	if err != nil || len(evs) != 1 || evs[0].Type != fetchsms.EventSMSReceived {
		t.Fatalf("left: %d %v", len(evs), err)
	}
	if p, err := f.db.PendingDeliveries(ctx); err != nil || p != 1 {
		t.Fatalf("pending deliveries %d %v", p, err)
	}
}

// testEventLogCommitOrder: a transaction queues an event and stays open while
// a second one queues another for the same account. A reader must never see
// the second before the first: it would move past the first's position and
// miss it for good.
func testEventLogCommitOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	queue := func(name string, hold <-chan struct{}, queued chan<- struct{}) error {
		return f.store.Update(ctx, "test", func(tx fetchsms.Tx) error {
			ev := &fetchsms.Event{ID: fetchsms.NewID(), UserID: u.ID, Type: fetchsms.EventVerificationUpdated, Payload: []byte(`{"n":"` + name + `"}`), CreatedAt: f.clock.Now()}
			if err := tx.Queue(ctx, ev, nil); err != nil {
				return err
			}
			if queued != nil {
				queued <- struct{}{}
			}
			if hold != nil {
				<-hold
			}
			return nil
		})
	}
	hold, queued := make(chan struct{}), make(chan struct{}, 10)
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- queue("first", hold, queued) }()
	<-queued
	go func() { second <- queue("second", nil, nil) }()
	// Give the second every chance to commit ahead of the first (the engine
	// must not let it), then read as a stream would.
	var seen []*fetchsms.Event
	after := int64(0)
	read := func() {
		evs, err := f.db.EventsAfter(ctx, u.ID, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seen = append(seen, ev)
			after = ev.Seq
		}
	}
	select {
	case err := <-second:
		second <- err
	case <-time.After(300 * time.Millisecond):
	}
	read()
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	read()
	if len(seen) != 2 {
		t.Fatalf("the reader saw %d of 2 events: one committed behind a position it had passed", len(seen))
	}
}
