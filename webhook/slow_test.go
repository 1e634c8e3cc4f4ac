package webhook_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/webhook"
)

// TestSlowReceiversStayBounded: 1 200 webhook endpoints (60 accounts, 20 each)
// point at a receiver that accepts every TCP connection and then reads
// nothing, and 2 400 deliveries are due for them; one more account's receiver
// answers at once. The worker (32 slots, the sender's timeout 500 ms) must keep
// goroutines and heap bounded whatever the backlog, the other customer's 40
// deliveries must all arrive while the slow ones are stuck, and every slow
// delivery must stay pending for a retry: none lost, none marked delivered.
// Bounds are on counts and sizes only, never on time.
func TestSlowReceiversStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of deliveries")
	}
	ctx := context.Background()
	const accounts, perAccount, eventsEach, good, slots = 60, fetchsms.MaxEndpoints, 2, 40, 32

	// The slow receiver: accepts and holds every connection, reads nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.Mutex
	var conns []net.Conn
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held.Lock()
			conns = append(conns, c)
			held.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		held.Lock()
		for _, c := range conns {
			c.Close()
		}
		held.Unlock()
	}()
	fast := &receiver{}
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()

	clock := &testClock{t: time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC)}
	db := open(t, filepath.Join(t.TempDir(), "slow.db"), clock)
	defer db.Close()
	type ep struct{ user, id string }
	var slow []ep
	for a := range accounts {
		u, err := db.CreateUser(ctx, fmt.Sprintf("slow%d@example.com", a), "password123", "customer")
		if err != nil {
			t.Fatal(err)
		}
		for e := range perAccount {
			x, err := db.CreateEndpoint(ctx, u.ID, fmt.Sprintf("http://%s/hook/%d/%d", ln.Addr(), a, e), nil)
			if err != nil {
				t.Fatal(err)
			}
			slow = append(slow, ep{u.ID, x.ID})
		}
	}
	for range eventsEach {
		for _, e := range slow {
			if _, err := db.SendTestEvent(ctx, e.user, e.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	gu, _ := db.CreateUser(ctx, "fast@example.com", "password123", "customer")
	gep, err := db.CreateEndpoint(ctx, gu.ID, fastSrv.URL+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	baseG := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w := &webhook.Worker{Store: db, Sender: webhook.NewSender(webhook.Guard{AllowLoopback: true}, 500*time.Millisecond), Wake: db.DeliveriesDue(), Poll: 10 * time.Millisecond, Concurrency: slots}
	go func() { w.Run(wctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Sample goroutines and heap while the backlog drains.
	var maxG int
	var maxHeap uint64
	sample := func() {
		maxG = max(maxG, runtime.NumGoroutine())
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		maxHeap = max(maxHeap, m.HeapAlloc)
	}
	for range good {
		if _, err := db.SendTestEvent(ctx, gu.ID, gep.ID); err != nil {
			t.Fatal(err)
		}
		sample()
	}
	// The other customer's deliveries all arrive, the slow ones notwithstanding.
	deadline := time.Now().Add(2 * time.Minute)
	for fast.count() < good {
		if time.Now().After(deadline) {
			t.Fatalf("the fast customer got %d of %d deliveries while slow receivers held the worker", fast.count(), good)
		}
		sample()
		time.Sleep(20 * time.Millisecond)
	}
	// Wait until a few hundred slow deliveries have timed out and been recorded.
	stuck := func() (attempted, pending, delivered, total int) {
		for _, e := range slow[:200] {
			ds, _, err := db.EndpointDeliveries(ctx, e.user, e.id, fetchsms.Page{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				total++
				if len(d.History) > 0 {
					attempted++
				}
				switch d.Status {
				case fetchsms.DeliveryPending:
					pending++
				case fetchsms.DeliveryDelivered:
					delivered++
				}
			}
		}
		return
	}
	var attempted, pending, delivered, total int
	for {
		sample()
		if attempted, pending, delivered, total = stuck(); attempted >= 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sample()
	t.Logf("slow connections accepted %d; goroutines %d at rest, at most %d under the backlog; heap %.1f MiB at rest, at most %.1f MiB; first 200 slow endpoints: %d deliveries, %d attempted, %d pending, %d delivered",
		accepted.Load(), baseG, maxG, float64(baseHeap)/(1<<20), float64(maxHeap)/(1<<20), total, attempted, pending, delivered)
	if attempted < 100 {
		t.Errorf("only %d slow deliveries were attempted", attempted)
	}
	if total != 200*eventsEach || pending != total || delivered != 0 {
		t.Errorf("slow deliveries: %d in all (want %d), %d pending, %d delivered: each must stay pending for its retry", total, 200*eventsEach, pending, delivered)
	}
	// Each slot's send holds a few goroutines (the attempt, the connection's
	// reader and writer, a timer): bounded by the slots, not the 2 400 due.
	if limit := baseG + slots*6 + 20; maxG > limit {
		t.Errorf("goroutines rose to %d (at rest %d): more than %d, the bound of %d slots", maxG, baseG, limit, slots)
	}
	if limit := baseHeap + 64<<20; maxHeap > limit {
		t.Errorf("heap rose to %.1f MiB from %.1f MiB", float64(maxHeap)/(1<<20), float64(baseHeap)/(1<<20))
	}
}
