package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLongPoll: GET /v1/verifications/{id}?wait=S and
// GET /v1/rentals/{id}/messages?wait=S&after=… answer as soon as what they show
// changes (a code, a message, an expiry), or when S seconds pass; a wait out of
// 0–60 is 422 (issue 20). On every engine.
func TestLongPoll(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		type answer struct {
			m       map[string]any
			list    []map[string]any
			elapsed time.Duration
		}
		poll := func(path string, list bool) <-chan answer {
			ch := make(chan answer, 1)
			go func() {
				start := time.Now()
				var a answer
				if list {
					a.list = s.list(t, path, s.APIKey)
				} else {
					a.m = s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK)
				}
				a.elapsed = time.Since(start)
				ch <- a
			}()
			return ch
		}

		// A code wakes the waiter long before its 30 s.
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		got := poll("/v1/verifications/"+str(t, v["id"])+"?wait=30", false)
		time.Sleep(300 * time.Millisecond)
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 777123")
		if a := <-got; a.m["code"] != "777123" || a.m["status"] != "received" || a.elapsed > 20*time.Second {
			t.Fatalf("the waiting GET after the code: %v in %v", a.m, a.elapsed)
		}
		// Not waiting: at once, whatever the wait.
		if a := <-poll("/v1/verifications/"+str(t, v["id"])+"?wait=30", false); a.m["status"] != "received" || a.elapsed > 5*time.Second {
			t.Fatalf("a GET with wait of a received verification: %v in %v", a.m, a.elapsed)
		}
		// Nothing happens: the wait runs out and the verification is still waiting.
		w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		if a := <-poll("/v1/verifications/"+str(t, w["id"])+"?wait=1", false); a.m["status"] != "waiting" || a.elapsed < 900*time.Millisecond {
			t.Fatalf("a wait of 1 s with nothing arriving: %v in %v", a.m, a.elapsed)
		}
		// The window closing (the sandbox clock moved) wakes it: expired.
		got = poll("/v1/verifications/"+str(t, w["id"])+"?wait=30", false)
		time.Sleep(300 * time.Millisecond)
		s.advance(t, 16*60)
		if a := <-got; a.m["status"] != "expired" || a.elapsed > 20*time.Second {
			t.Fatalf("the waiting GET when the window closed: %v in %v", a.m, a.elapsed)
		}
		// Bad waits.
		for _, q := range []string{"61", "-1", "abc", "1.5"} {
			if raw := s.expect(t, http.MethodGet, "/v1/verifications/"+str(t, w["id"])+"?wait="+q, s.APIKey, nil, http.StatusUnprocessableEntity); !strings.Contains(raw, "0 to 60") {
				t.Errorf("wait=%s: %s", q, raw)
			}
		}

		// A rental's messages: the first message, then one after it.
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
		msgs := "/v1/rentals/" + str(t, r["id"]) + "/messages?wait=30"
		got = poll(msgs, true)
		time.Sleep(300 * time.Millisecond)
		s.sms(t, str(t, r["number"]), "AcmeBank", "first")
		a := <-got
		if len(a.list) != 1 || a.list[0]["body"] != "first" || a.elapsed > 20*time.Second {
			t.Fatalf("the first message: %v in %v", a.list, a.elapsed)
		}
		got = poll(msgs+"&after="+str(t, a.list[0]["id"]), true)
		time.Sleep(300 * time.Millisecond)
		s.sms(t, str(t, r["number"]), "AcmeBank", "second")
		if a := <-got; len(a.list) != 2 || a.list[0]["body"] != "second" || a.elapsed > 20*time.Second {
			t.Fatalf("the message after the first: %v in %v", a.list, a.elapsed)
		}
	})
}
