package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Long-poll: GET /v1/verifications/{id}?wait=S and
// GET /v1/rentals/{id}/messages?wait=S&after=<message id> answer as soon as
// what they show changes, or when S seconds pass. A waiting request subscribes
// to its purchase before it reads it (so no change slips between the read and
// the wait) and is woken by the App's PurchaseChanged announcement, which comes
// after the commit; it then reads again.

// RecheckEvery is how often a waiter re-reads when several servers share the
// store: a wake-up broadcast by another server may be lost.
const RecheckEvery = 5 * time.Second

// MaxWait is the longest a request may wait, in seconds.
const MaxWait = 60

// waiters wakes the requests waiting on a purchase.
type waiters struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]bool // by purchase id; "" holds those woken by any change
}

// subscribe returns a channel closed at the next change of purchase id, and a
// function to stop waiting.
func (w *waiters) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]map[chan struct{}]bool{}
	}
	if w.m[id] == nil {
		w.m[id] = map[chan struct{}]bool{}
	}
	w.m[id][ch] = true
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		if set := w.m[id]; set[ch] {
			delete(set, ch)
			if len(set) == 0 {
				delete(w.m, id)
			}
		}
		w.mu.Unlock()
	}
}

// wake wakes the waiters of the given purchases; none given wakes everyone.
func (w *waiters) wake(ids ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	closeAll := func(id string) {
		for ch := range w.m[id] {
			close(ch)
		}
		delete(w.m, id)
	}
	if len(ids) == 0 {
		for id := range w.m {
			closeAll(id)
		}
		return
	}
	for _, id := range ids {
		if id != "" {
			closeAll(id)
		}
	}
}

// waitParam reads ?wait=S (0–MaxWait seconds; absent is 0).
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxWait {
		return 0, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "wait must be a whole number of seconds from 0 to %d", MaxWait)
	}
	return time.Duration(n) * time.Second, nil
}

// longPoll is await's wait for a connection that cannot be parked (HTTP/2):
// the handler waits for a change of key, its timer or the client leaving, and
// looks again, until look has the answer or the deadline passes.
func (s *Server) longPoll(w http.ResponseWriter, r *http.Request, key string, deadline time.Time, look lookFunc) {
	ctx := r.Context()
	for {
		woken, stop := s.waiters.subscribe(key)
		done, until := look(w, r, !time.Now().Before(deadline))
		if done {
			stop()
			return
		}
		left := time.Until(deadline)
		if until > 0 && until < left {
			left = until + 10*time.Millisecond
		}
		if s.App.Shared() && left > RecheckEvery {
			left = RecheckEvery // a wake-up from another server may be lost
		}
		t := time.NewTimer(left)
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			stop()
			return
		case <-s.closing: // shutting down: answer what is there now
			t.Stop()
			stop()
			look(w, r, true)
			return
		}
		t.Stop()
		stop()
	}
}
