package web

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Gateways post inbound SMS as fast as their SIMs receive them, and a gateway
// that got no answer in time posts the same message again, and again: a storm
// of retries can bring far more requests than storage can take. The inbound
// routes go through an admission gate: at most InboundConcurrency requests are
// handled at once, at most InboundQueue more wait (each for InboundQueueWait at
// most) for one of those slots, and every request past that is answered at once
// 503 `unavailable` with Retry-After, before its body is read. Nothing of a
// refused request is stored, so the gateway's retry is the whole recovery; a
// message answered 2xx was stored in its own transaction, and a repeat of it (the
// same gateway message id) is answered as the first and changes nothing. The
// customer API never waits on this gate: a flood of SMS takes at most
// InboundConcurrency of storage's attention.

// Defaults of the inbound gate (serve --inbound-concurrency, --inbound-queue).
const (
	DefaultInboundConcurrency = 8
	DefaultInboundQueue       = 64
	// InboundQueueWait bounds a queued request's wait for a slot.
	InboundQueueWait = 5 * time.Second
)

// gate admits at most running requests at once and queues at most waiting more.
type gate struct {
	slots   chan struct{} // held by a request being handled
	tickets chan struct{} // held by a request being handled or queued
	wait    time.Duration
	shed    atomic.Int64
	logged  atomic.Int64 // when the last refusal was logged (Unix ns)
}

func newGate(running, waiting int, wait time.Duration) *gate {
	running = max(running, 1)
	waiting = max(waiting, 0)
	return &gate{slots: make(chan struct{}, running), tickets: make(chan struct{}, running+waiting), wait: wait}
}

// enter takes a slot, queueing for one while the queue has room; it returns
// the release, or false when the request must be refused.
func (g *gate) enter(ctx context.Context) (func(), bool) {
	select {
	case g.tickets <- struct{}{}:
	default:
		g.shed.Add(1)
		return nil, false
	}
	select {
	case g.slots <- struct{}{}:
		return g.leave, true
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, true
	case <-ctx.Done():
	case <-t.C:
	}
	<-g.tickets
	g.shed.Add(1)
	return nil, false
}

func (g *gate) leave() {
	<-g.slots
	<-g.tickets
}

// InboundShed counts the inbound requests this server refused as over capacity.
func (s *Server) InboundShed() int64 {
	if s.inbound == nil {
		return 0
	}
	return s.inbound.shed.Load()
}

// admitInbound runs h through the inbound gate. A refusal is not logged one
// by one (a storm would flood the log too): a warning every 10 s at most says
// how many were refused so far, and the access log has each.
func (s *Server) admitInbound(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, ok := s.inbound.enter(r.Context())
		if !ok {
			now := time.Now().UnixNano()
			if last := s.inbound.logged.Load(); now-last >= int64(10*time.Second) && s.inbound.logged.CompareAndSwap(last, now) {
				s.Logger.WarnContext(r.Context(), "inbound SMS refused: over capacity (503, the gateway retries)", "refused_total", s.inbound.shed.Load())
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(fetchsms.UnavailableRetryAfter/time.Second)))
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Code: fetchsms.EUNAVAILABLE,
				Detail: "the server is receiving more SMS than it can store right now; nothing of this request was stored; send it again after Retry-After"})
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}
