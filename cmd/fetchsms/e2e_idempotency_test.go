package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// idem posts body to path with an Idempotency-Key, by hand: these tests look at
// the protocol itself (the replayed bytes, the header, concurrent retries).
func (s *testServer) idem(t *testing.T, path, token, key string, body any) (int, http.Header, []byte) {
	t.Helper()
	if body == nil {
		body = []byte{}
	}
	status, hdr, raw, err := s.sendWith(http.MethodPost, path, token, body, http.Header{"Idempotency-Key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	return status, hdr, raw
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testIdempotencyKeys)
}

func testIdempotencyKeys(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	session, userID := s.signup(t)
	s.fund(t, userID, 1000)
	api := s.api(t, session)
	ctx := context.Background()
	buy := func(t *testing.T, api *client.Client, r client.VerificationRequest) *client.Verification {
		t.Helper()
		return noErr[*client.Verification](t)(api.CreateVerification(ctx, r))
	}

	t.Run("RetryReplaysAndChargesOnce", func(t *testing.T) {
		v1 := buy(t, api, client.VerificationRequest{Service: "4", IdempotencyKey: "buy-1"})
		v2 := buy(t, api, client.VerificationRequest{Service: "4", IdempotencyKey: "buy-1"})
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("first %+v, retry %+v", v1, v2)
		}
		if got := s.balance(t, session); got != 1000-70 {
			t.Fatalf("balance %d after a retried purchase", got)
		}
		// The replay is the first answer, byte for byte, and says so.
		st1, _, b1 := s.idem(t, "/v1/verifications", session, "buy-1b", map[string]any{"service": 4})
		st2, h2, b2 := s.idem(t, "/v1/verifications", session, "buy-1b", map[string]any{"service": 4})
		if st1 != 201 || st2 != 201 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %d %s, retry %d %s", st1, b1, st2, b2)
		}
		c1, _, cb1 := s.idem(t, "/v1/verifications/"+v1.ID+"/cancel", session, "cancel-1", nil)
		c2, _, cb2 := s.idem(t, "/v1/verifications/"+v1.ID+"/cancel", session, "cancel-1", nil)
		if c1 != 200 || c2 != 200 || !bytes.Equal(cb1, cb2) {
			t.Fatalf("cancel %d %s, retry %d %s", c1, cb1, c2, cb2)
		}
		if got := s.balance(t, session); got != 1000-70 {
			t.Fatalf("balance %d after a retried cancel", got)
		}
		if entries := kinds(s.ledgerFor(t, session, v1.ID)); len(entries) != 2 {
			t.Fatalf("ledger for the purchase: %v", entries)
		}
		id := decode[map[string]any](t, b1)["id"].(string)
		noErr[*client.Verification](t)(api.CancelVerification(ctx, id))
	})

	t.Run("ClientRetriesALostAnswerOnce", func(t *testing.T) {
		// A proxy that runs the first purchase on the server but drops its answer:
		// the client sends it again under the same key and gets the first purchase.
		lossy := lossyProxy(t, s, 1)
		before := s.balance(t, session)
		c, err := client.New(lossy.URL, session, client.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		v := buy(t, c, client.VerificationRequest{Service: "4"})
		if n := lossy.attempts.Load(); n != 2 {
			t.Errorf("%d attempts through the proxy, want 2 (one lost answer, one retry)", n)
		}
		if got := s.balance(t, session); got != before-70 {
			t.Errorf("balance %d, want %d: bought once", got, before-70)
		}
		if k := kinds(s.ledgerFor(t, session, v.ID)); len(k) != 1 || k[0] != "purchase" {
			t.Errorf("ledger for the purchase = %v, want one purchase", k)
		}
		active := noErr[*client.Page[client.Verification]](t)(api.ListVerifications(ctx, client.TabActive, client.ListOptions{})).Items
		if len(active) != 1 || active[0].ID != v.ID {
			t.Errorf("active verifications = %+v, want only %s", active, v.ID)
		}
		// A cancel whose answer is lost is retried and refunds once.
		lossy.drop.Store(1)
		if c := noErr[*client.Verification](t)(c.CancelVerification(ctx, v.ID)); c.Status != client.StatusCancelled {
			t.Errorf("cancel = %+v", c)
		}
		if got := s.balance(t, session); got != before {
			t.Errorf("balance %d after the cancel, want %d", got, before)
		}
	})

	t.Run("SameKeyOtherBodyIsRefused", func(t *testing.T) {
		buy(t, api, client.VerificationRequest{Service: "4", IdempotencyKey: "buy-2"})
		_, err := api.CreateVerification(ctx, client.VerificationRequest{Service: "2", IdempotencyKey: "buy-2"})
		wantAPIError(t, "the same key with another body", err, http.StatusUnprocessableEntity, client.CodeInvalidValue)
	})

	t.Run("ConcurrentRetriesRunOnce", func(t *testing.T) {
		before := s.balance(t, session)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]bool{}
		statuses := map[int]int{}
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, hdr, raw := s.idem(t, "/v1/verifications", session, "buy-3", map[string]any{"service": 4})
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
				if st == 409 && hdr.Get("Retry-After") != "1" {
					// The first run is young: it ends within a second or so.
					t.Errorf("409 while the first run goes on: Retry-After %q, want 1", hdr.Get("Retry-After"))
				}
				if st == 201 {
					var m map[string]any
					json.Unmarshal(raw, &m)
					ids[m["id"].(string)] = true
				}
			}()
		}
		wg.Wait()
		if len(ids) != 1 || statuses[201]+statuses[409] != 12 {
			t.Fatalf("statuses %v, purchases %v", statuses, ids)
		}
		if got := s.balance(t, session); got != before-70 {
			t.Fatalf("balance %d, want %d", got, before-70)
		}
	})

	t.Run("KeysAreScopedToTheAccount", func(t *testing.T) {
		other, otherID := s.signup(t)
		s.fund(t, otherID, 100)
		mine := buy(t, api, client.VerificationRequest{Service: "4", IdempotencyKey: "buy-4"})
		theirs := buy(t, s.api(t, other), client.VerificationRequest{Service: "4", IdempotencyKey: "buy-4"})
		if theirs.ID == mine.ID || s.balance(t, other) != 30 {
			t.Fatalf("another account's key replayed: %s, balance %d", theirs.ID, s.balance(t, other))
		}
	})
	checkInvariants(t, s.DBPath)
}

// lossy is a proxy in front of a test server that drops the answers of the
// first drop requests it passes on (the server runs them; the client sees the
// connection close).
type lossy struct {
	*httptest.Server
	drop     atomic.Int64
	attempts atomic.Int64
}

func lossyProxy(t *testing.T, s *testServer, drop int64) *lossy {
	t.Helper()
	p := &lossy{}
	p.drop.Store(drop)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.attempts.Add(1)
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, s.BaseURL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := s.client.Transport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if p.drop.Add(-1) >= 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}
