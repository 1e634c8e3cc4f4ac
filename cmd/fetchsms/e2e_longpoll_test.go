package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// TestLongPoll: GET /v1/verifications/{id}?wait=S and
// GET /v1/rentals/{id}/messages?wait=S&after=… answer as soon as what they show
// changes (a code, a message, an expiry), or when S seconds pass; a wait out of
// 0–60 is 422 (issue 20). On every engine, through the Go client's long-polls.
func TestLongPoll(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		api := s.api(t, s.APIKey)
		ctx := context.Background()
		type answer[T any] struct {
			v       T
			err     error
			elapsed time.Duration
		}
		// async runs call in the background and times it.
		async := func(call func() (*client.Verification, error)) <-chan answer[*client.Verification] {
			ch := make(chan answer[*client.Verification], 1)
			go func() {
				start := time.Now()
				v, err := call()
				ch <- answer[*client.Verification]{v, err, time.Since(start)}
			}()
			return ch
		}
		poll := func(id string, wait time.Duration) <-chan answer[*client.Verification] {
			return async(func() (*client.Verification, error) { return api.PollVerification(ctx, id, wait) })
		}
		buy := func(svc client.ServiceRef) *client.Verification {
			return noErr[*client.Verification](t)(api.CreateVerification(ctx, client.VerificationRequest{Service: svc}))
		}

		// A code wakes the waiter long before its 30 s.
		v := buy("telegram")
		got := poll(v.ID, 30*time.Second)
		time.Sleep(300 * time.Millisecond)
		s.sms(t, v.Number, "Telegram", "Telegram code: 777123")
		if a := <-got; a.err != nil || a.v.Code != "777123" || a.v.Status != client.StatusReceived || a.elapsed > 20*time.Second {
			t.Fatalf("the waiting GET after the code: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		// Not waiting: at once, whatever the wait.
		if a := <-poll(v.ID, 30*time.Second); a.err != nil || a.v.Status != client.StatusReceived || a.elapsed > 5*time.Second {
			t.Fatalf("a GET with wait of a received verification: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		// Nothing happens: the wait runs out and the verification is still waiting.
		w := buy("whatsapp")
		if a := <-poll(w.ID, time.Second); a.err != nil || a.v.Status != client.StatusWaiting || a.elapsed < 900*time.Millisecond {
			t.Fatalf("a wait of 1 s with nothing arriving: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		// The window closing (the sandbox clock moved) wakes WaitForCode: expired.
		got = async(func() (*client.Verification, error) { return api.WaitForCode(ctx, w.ID) })
		time.Sleep(300 * time.Millisecond)
		s.advance(t, 16*60)
		if a := <-got; a.err != nil || a.v.Status != client.StatusExpired || a.elapsed > 20*time.Second {
			t.Fatalf("WaitForCode when the window closed: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		// Bad waits: malformed on purpose, by hand (the client keeps to 0–60 s).
		for _, q := range []string{"61", "-1", "abc", "1.5"} {
			if raw := s.expect(t, http.MethodGet, "/v1/verifications/"+w.ID+"?wait="+q, s.APIKey, nil, http.StatusUnprocessableEntity); !strings.Contains(raw, "0 to 60") {
				t.Errorf("wait=%s: %s", q, raw)
			}
		}

		// A rental's messages: the first message, then one after it.
		r := noErr[*client.Rental](t)(api.CreateRental(ctx, client.RentalRequest{Service: client.UnlimitedServices, Days: 7}))
		msgs := func(after string) <-chan answer[[]client.Message] {
			ch := make(chan answer[[]client.Message], 1)
			go func() {
				start := time.Now()
				p, err := api.RentalMessages(ctx, r.ID, client.MessagesOptions{Wait: 30 * time.Second, After: after})
				a := answer[[]client.Message]{err: err, elapsed: time.Since(start)}
				if err == nil {
					a.v = p.Items
				}
				ch <- a
			}()
			return ch
		}
		got1 := msgs("")
		time.Sleep(300 * time.Millisecond)
		s.sms(t, r.Number, "AcmeBank", "first")
		a := <-got1
		if a.err != nil || len(a.v) != 1 || a.v[0].Body != "first" || a.elapsed > 20*time.Second {
			t.Fatalf("the first message: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		got2 := msgs(a.v[0].ID)
		time.Sleep(300 * time.Millisecond)
		s.sms(t, r.Number, "AcmeBank", "second")
		if a := <-got2; a.err != nil || len(a.v) != 2 || a.v[0].Body != "second" || a.elapsed > 20*time.Second {
			t.Fatalf("the message after the first: %+v %v in %v", a.v, a.err, a.elapsed)
		}
		// WaitForMessage: the next message, then the end of the term.
		second := noErr[*client.Page[client.Message]](t)(api.RentalMessages(ctx, r.ID, client.MessagesOptions{})).Items[0]
		next := make(chan *client.Message, 1)
		go func() {
			m, err := api.WaitForMessage(ctx, r.ID, second.ID)
			if err != nil {
				t.Errorf("WaitForMessage: %v", err)
			}
			next <- m
		}()
		time.Sleep(300 * time.Millisecond)
		s.sms(t, r.Number, "AcmeBank", "Your code is 4455")
		if m := <-next; m == nil || m.Body != "Your code is 4455" || m.Code != "4455" {
			t.Fatalf("WaitForMessage = %+v", m)
		}
		last := noErr[*client.Page[client.Message]](t)(api.RentalMessages(ctx, r.ID, client.MessagesOptions{})).Items[0]
		ended := make(chan error, 1)
		go func() {
			_, err := api.WaitForMessage(ctx, r.ID, last.ID)
			ended <- err
		}()
		time.Sleep(300 * time.Millisecond)
		s.advance(t, 8*24*3600)
		select {
		case err := <-ended:
			if !errors.Is(err, client.ErrRentalEnded) {
				t.Fatalf("WaitForMessage at the end of the term: %v, want ErrRentalEnded", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("WaitForMessage did not return at the end of the term")
		}
	})
}
