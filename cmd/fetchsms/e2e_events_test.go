package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/internal/sse"
	"github.com/fetchsms/fetchsms/web"
)

// eventStream is one open GET /v1/events.
type eventStream struct {
	events chan sse.Event
	cancel context.CancelFunc
	done   chan struct{}
}

// openEvents opens the event stream with the given headers (and query), and
// fails unless it is answered 200 text/event-stream.
func openEvents(t *testing.T, s *testServer, query string, hdr map[string]string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &eventStream{events: make(chan sse.Event, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer resp.Body.Close()
		rd := sse.NewReader(resp.Body)
		for {
			ev, err := rd.Next()
			if err != nil {
				close(st.events)
				return
			}
			st.events <- ev
		}
	}()
	t.Cleanup(st.close)
	return st
}

func (st *eventStream) close() {
	st.cancel()
	<-st.done
}

// next returns the next event, failing after 20 s without one.
func (st *eventStream) next(t *testing.T) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-st.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20 s")
	}
	return sse.Event{}
}

// quiet fails if an event arrives within d.
func (st *eventStream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-st.events:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(d):
	}
}

type streamed struct {
	Event     string         `json:"event"`
	Data      map[string]any `json:"data"`
	CreatedAt string         `json:"created_at"`
}

func payload(t *testing.T, ev sse.Event) streamed {
	t.Helper()
	var p streamed
	if err := json.Unmarshal([]byte(ev.Data), &p); err != nil {
		t.Fatalf("event data is not JSON: %v: %q", err, ev.Data)
	}
	if p.Event != ev.Type || p.CreatedAt == "" {
		t.Fatalf("event %q carries %+v", ev.Type, p)
	}
	return p
}

// eventsStatus is the status GET /v1/events answers token (the stream, if
// opened, is closed at once).
func eventsStatus(t *testing.T, s *testServer, token string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// TestEventStream: GET /v1/events streams the account's events with the
// webhook payloads; a reconnect with Last-Event-ID (or ?last_event_id=) gets
// exactly what it missed; another
// account's events never appear; a bad Last-Event-ID is 422; an account's
// streams are bounded (issue 20). On every engine.
func TestEventStream(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		key := bearer(s.APIKey)

		// Live: a code on a verification.
		live := openEvents(t, s, "", key)
		v1 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.sms(t, str(t, v1["number"]), "Telegram", "Telegram code: 551234")
		ev := live.next(t)
		p := payload(t, ev)
		if ev.Type != "sms.received" || p.Data["verification_id"] != v1["id"] || p.Data["code"] != "551234" || p.Data["ref"] != v1["ref"] {
			t.Fatalf("first event %q: %+v", ev.Type, p)
		}
		ev2 := live.next(t)
		if p := payload(t, ev2); ev2.Type != "verification.updated" || p.Data["status"] != "received" || p.Data["verification_id"] != v1["id"] {
			t.Fatalf("second event %q: %+v", ev2.Type, p)
		}
		first, _ := strconv.ParseInt(ev.ID, 10, 64)
		second, _ := strconv.ParseInt(ev2.ID, 10, 64)
		if first <= 0 || second <= first {
			t.Fatalf("event ids %q then %q", ev.ID, ev2.ID)
		}
		live.close()

		// Disconnected: three events happen.
		v2 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		v3 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		s.sms(t, str(t, v2["number"]), "Telegram", "Telegram code: 662345")
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v3["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		want := []string{"sms.received " + str(t, v2["id"]), "verification.updated " + str(t, v2["id"]), "verification.updated " + str(t, v3["id"])}
		resume := func(st *eventStream) []string {
			var got []string
			for range want {
				ev := st.next(t)
				got = append(got, ev.Type+" "+str(t, payload(t, ev).Data["verification_id"]))
			}
			st.quiet(t, 300*time.Millisecond)
			return got
		}
		// Resumed by the header, and by the query (the same positions).
		withHeader := openEvents(t, s, "", map[string]string{"Authorization": "Bearer " + s.APIKey, "Last-Event-ID": ev2.ID})
		if got := resume(withHeader); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("resumed with Last-Event-ID: %v, want %v", got, want)
		}
		withHeader.close()
		withQuery := openEvents(t, s, "?last_event_id="+ev2.ID, key)
		if got := resume(withQuery); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("resumed with ?last_event_id: %v, want %v", got, want)
		}
		withQuery.close()

		// A resend (waiting again) and the second code are on the stream too.
		again := openEvents(t, s, "", key)
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v1["id"])+"/resend", s.APIKey, nil, http.StatusOK)
		if ev := again.next(t); ev.Type != "verification.updated" || payload(t, ev).Data["status"] != "waiting" || payload(t, ev).Data["verification_id"] != v1["id"] {
			t.Fatalf("after a resend: %+v", ev)
		}
		s.sms(t, str(t, v1["number"]), "Telegram", "Telegram code: 884411")
		if ev := again.next(t); ev.Type != "sms.received" || payload(t, ev).Data["code"] != "884411" {
			t.Fatalf("the second code: %+v", ev)
		}
		if ev := again.next(t); ev.Type != "verification.updated" || payload(t, ev).Data["status"] != "received" || payload(t, ev).Data["code"] != "884411" {
			t.Fatalf("received again: %+v", ev)
		}
		again.close()

		// Another account: none of the demo account's events, even from 0; its
		// own arrive. Its dashboard session cookie opens the stream too.
		sess, userID := s.signup(t)
		s.fund(t, userID, 1000)
		other := openEvents(t, s, "", map[string]string{"Cookie": "fetchsms_session=" + sess, "Last-Event-ID": "0"})
		s.sms(t, str(t, v1["number"]), "Telegram", "Telegram code: 773456") // the demo account's number: nothing new for the other
		mine := s.call(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, mine["id"])+"/cancel", sess, nil, http.StatusOK)
		if ev := other.next(t); payload(t, ev).Data["verification_id"] != mine["id"] || ev.Type != "verification.updated" {
			t.Fatalf("the other account's first event: %+v", ev)
		}
		other.quiet(t, 300*time.Millisecond)
		other.close()

		// Bad positions, and no credential.
		for _, bad := range []string{"abc", "-1", "1.5", "99999999999999999999"} {
			st, hdr, raw, err := s.sendWith(http.MethodGet, "/v1/events", s.APIKey, nil, toHeader(map[string]string{"Last-Event-ID": bad}))
			if err != nil || st != http.StatusUnprocessableEntity {
				t.Fatalf("Last-Event-ID %q: %d %v", bad, st, err)
			}
			assertErrorBody(t, "bad Last-Event-ID", hdr, raw)
		}
		if st, hdr, raw, _ := s.sendWith(http.MethodGet, "/v1/events?last_event_id=x", s.APIKey, nil, nil); st != http.StatusUnprocessableEntity {
			t.Fatalf("?last_event_id=x: %d", st)
		} else {
			assertErrorBody(t, "bad last_event_id", hdr, raw)
		}
		if st, hdr, raw, _ := s.sendWith(http.MethodGet, "/v1/events", "", nil, nil); st != http.StatusUnauthorized {
			t.Fatalf("no credential: %d", st)
		} else {
			assertErrorBody(t, "no credential", hdr, raw)
		}

		// At most DefaultStreamsPerAccount streams at once per account.
		var open []*eventStream
		for range web.DefaultStreamsPerAccount {
			open = append(open, openEvents(t, s, "", bearer(sess)))
		}
		st, hdr, raw, _ := s.sendWith(http.MethodGet, "/v1/events", sess, nil, nil)
		if st != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
			t.Fatalf("a stream over the limit: %d %s", st, raw)
		}
		assertErrorBody(t, "a stream over the limit", hdr, raw)
		open[0].close()
		// The slot is freed once the server sees the stream closed.
		deadline := time.Now().Add(10 * time.Second)
		for {
			if eventsStatus(t, s, sess) == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a closed stream's slot was not freed")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
