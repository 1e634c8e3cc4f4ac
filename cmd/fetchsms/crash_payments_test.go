package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// TestCrashDuringPaymentEvents SIGKILLs the server while Stripe's payment events
// arrive (each sent twice at once), restarts it on the same database and sends
// every event again, as Stripe redelivers what it saw no answer to: each deposit
// is credited exactly once, every event acknowledged before the crash is known
// after it (its repeat is a duplicate), and every invariant holds.
func TestCrashDuringPaymentEvents(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_crash"
	api := stripetest.NewAPI(t)
	dbPath := filepath.Join(t.TempDir(), "crash-payments.db")
	args := []string{"--sandbox", "--simulator=false", "--stripe-secret-key", "sk_test_crash", "--stripe-webhook-secret", whsec, "--stripe-api-url", api.URL}
	c := startChild(t, dbPath, args...)
	s := c.ts
	before := s.balance(t, s.DemoSession)

	type event struct {
		id, deposit string
		amount      int64
		body        []byte
		sig         string
	}
	var events []event
	var total int64
	for i := range 150 {
		amount := int64(100 + i)
		d := s.call(t, http.MethodPost, "/v1/wallet/deposits", s.DemoSession, map[string]any{"amount_cents": amount}, http.StatusCreated)
		id := str(t, d["id"])
		evID := "evt_crash_" + id
		body, sig := stripetest.Event(t, whsec, evID, "checkout.session.completed", id, "paid", amount, time.Now())
		events = append(events, event{evID, id, amount, body, sig})
		total += amount
	}

	post := func(s *testServer, e event) (int, string) {
		st, _, raw, err := s.sendWith(http.MethodPost, "/v1/payments/stripe/webhook", "", e.body, http.Header{"Stripe-Signature": {e.sig}})
		if err != nil {
			return 0, ""
		}
		return st, string(raw)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var sent atomic.Int64
	var wg sync.WaitGroup
	next := make(chan event)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				sent.Add(1)
				var inner sync.WaitGroup
				for range 2 { // Stripe may send an event twice at once
					inner.Add(1)
					go func() {
						defer inner.Done()
						if st, _ := post(s, e); st == http.StatusOK {
							mu.Lock()
							acked[e.id] = true
							mu.Unlock()
						}
					}()
				}
				inner.Wait()
			}
		}()
	}
	go func() {
		defer close(next)
		for _, e := range events {
			next <- e
		}
	}()
	// Kill the server once a good part of the events are in, mid-stream.
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= len(events)/3 {
			break
		}
	}
	c.kill()
	wg.Wait()
	mu.Lock()
	ackedBefore := len(acked)
	mu.Unlock()
	if ackedBefore == 0 || ackedBefore == len(events) {
		t.Fatalf("%d of %d events acknowledged before the kill: the crash did not land mid-stream", ackedBefore, len(events))
	}

	// Restart; Stripe sends every event again.
	c2 := startChild(t, dbPath, args...)
	s2 := c2.ts
	credited := 0
	for _, e := range events {
		st, raw := post(s2, e)
		switch {
		case st != http.StatusOK:
			t.Fatalf("redelivery of %s: %d %s", e.id, st, raw)
		case strings.Contains(raw, `"credited"`):
			if acked[e.id] {
				t.Errorf("event %s was acknowledged before the crash but credited again after it", e.id)
			}
			credited++
		case !strings.Contains(raw, `"duplicate"`):
			t.Errorf("redelivery of %s: %s", e.id, raw)
		}
	}
	if got := s2.balance(t, s2.DemoSession) - before; got != total {
		t.Fatalf("the deposits added %d cents, want %d (each credited once)", got, total)
	}
	for _, d := range s2.list(t, "/v1/wallet/deposits?limit=200", s2.DemoSession) {
		if d["status"] != "succeeded" {
			t.Errorf("deposit %v after the redeliveries", d)
		}
	}
	c2.kill()
	checkInvariants(t, dbPath)
	t.Logf("%d events sent, %d acknowledged before SIGKILL, %d stored but unanswered (duplicates when redelivered), %d credited by the redeliveries", sent.Load(), ackedBefore, len(events)-ackedBefore-credited, credited)
}
