package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sse"
)

// GET /v1/events: the account's events as Server-Sent Events. Each event is
//
//	id: <its place in the account's event log>
//	event: <type>
//	data: <the webhook delivery's JSON body, one data line per line>
//
// A client that reconnects with Last-Event-ID (the header EventSource sends,
// or ?last_event_id= for clients that cannot set headers) gets every event
// after that one, once; without it, only events from now on. A comment line
// (": ping") goes out every HeartbeatEvery, so proxies keep the connection and
// a dead client is found. On HTTP/1.1 the stream is parked once its head is
// written (park.go); on HTTP/2 it is served from its handler, each write
// given StreamWriteTimeout to finish.

const (
	// HeartbeatEvery is the gap between heartbeats; each also re-reads the log,
	// so a lost wake-up only delays an event.
	HeartbeatEvery = 15 * time.Second
	// StreamWriteTimeout bounds each write of a stream: a client that does not
	// take its bytes within it is dropped.
	StreamWriteTimeout = 10 * time.Second
	// DefaultStreamsPerAccount is how many streams one account may hold open
	// at once (Server.StreamsPerAccount).
	DefaultStreamsPerAccount = 10
	// streamRetryMs is the reconnection delay the stream asks EventSource for.
	streamRetryMs = 2000
)

// streams counts the open streams per account.
type streams struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes one of the account's max streams; false when all are in use.
func (st *streams) acquire(userID string, max int) (release func(), ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.n == nil {
		st.n = map[string]int{}
	}
	if st.n[userID] >= max {
		return nil, false
	}
	st.n[userID]++
	return func() {
		st.mu.Lock()
		if st.n[userID]--; st.n[userID] <= 0 {
			delete(st.n, userID)
		}
		st.mu.Unlock()
	}, true
}

// Closing ends the event streams and answers the long-polls now: the server is
// shutting down (http.Server.RegisterOnShutdown), and would otherwise wait for
// them. Clients reconnect elsewhere, resuming where they were.
func (s *Server) Closing() {
	s.Handler()
	s.closeOnce.Do(func() {
		close(s.closing)
		s.lot.close()
	})
}

// userKey is the waiters key of an account's event log.
func userKey(userID string) string { return "u:" + userID }

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	userID := principalOf(r).User.ID
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	after, err := s.App.StreamStart(ctx, userID, last)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	max := s.StreamsPerAccount
	if max <= 0 {
		max = DefaultStreamsPerAccount
	}
	release, ok := s.streams.acquire(userID, max)
	if !ok && s.lot.sweep(userID) {
		release, ok = s.streams.acquire(userID, max)
	}
	if !ok {
		w.Header().Set("Retry-After", "5")
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ERATELIMIT, "this account already has %d event streams open; close one (or reuse one) and retry", max))
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	prelude := "retry: " + strconv.Itoa(streamRetryMs) + "\n: connected\n\n"
	if s.parkStream(w, r, userID, after, []byte(prelude), release) {
		return
	}
	defer release()
	s.streamInHandler(w, r, userID, after, prelude)
}

// streamInHandler serves a stream that cannot be parked (HTTP/2) from its
// handler: it waits for wake-ups of the account, reads the log and writes.
func (s *Server) streamInHandler(w http.ResponseWriter, r *http.Request, userID string, after int64, prelude string) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts: no read is
	// expected, and each write gets its own deadline.
	_ = rc.SetReadDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	buf.WriteString(prelude)
	send := func() bool {
		if err := rc.SetWriteDeadline(time.Now().Add(StreamWriteTimeout)); err != nil {
			return false
		}
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	if !send() {
		return
	}
	heartbeat := time.NewTicker(HeartbeatEvery)
	defer heartbeat.Stop()
	for {
		woken, stop := s.waiters.subscribe(userKey(userID))
		evs, err := s.App.EventsAfter(ctx, userID, after)
		if err != nil {
			stop()
			// The client reconnects with its Last-Event-ID and loses nothing.
			s.Logger.Warn("event stream read failed", "err", err)
			return
		}
		for _, ev := range evs {
			sse.Write(&buf, strconv.FormatInt(ev.Seq, 10), ev.Type, ev.Payload)
			after = ev.Seq
		}
		if len(evs) > 0 {
			stop()
			if !send() {
				return
			}
			continue // read again: there may be more
		}
		select {
		case <-woken:
		case <-heartbeat.C:
			sse.Comment(&buf, "ping")
			if !send() {
				stop()
				return
			}
		case <-ctx.Done():
			stop()
			return
		case <-s.closing:
			stop()
			return
		}
		stop()
	}
}

// keepOpen lets a long-poll answer after up to wait: the server's read and
// write timeouts would otherwise end it first.
func keepOpen(w http.ResponseWriter, wait time.Duration) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(wait + StreamWriteTimeout))
}
