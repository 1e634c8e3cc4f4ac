package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
)

// idem posts body to path with an Idempotency-Key.
func (s *testServer) idem(t *testing.T, path, token, key string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testIdempotencyKeys)
}

func testIdempotencyKeys(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	session, userID := s.signup(t)
	s.fund(t, userID, 1000)

	t.Run("RetryReplaysAndChargesOnce", func(t *testing.T) {
		st1, _, b1 := s.idem(t, "/v1/verifications", session, "buy-1", map[string]any{"service": 4})
		st2, h2, b2 := s.idem(t, "/v1/verifications", session, "buy-1", map[string]any{"service": 4})
		if st1 != 201 || st2 != 201 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %d %s, retry %d %s", st1, b1, st2, b2)
		}
		if got := s.balance(t, session); got != 1000-70 {
			t.Fatalf("balance %d after a retried purchase", got)
		}
		id := decode[map[string]any](t, b1)["id"].(string)
		c1, _, cb1 := s.idem(t, "/v1/verifications/"+id+"/cancel", session, "cancel-1", nil)
		c2, _, cb2 := s.idem(t, "/v1/verifications/"+id+"/cancel", session, "cancel-1", nil)
		if c1 != 200 || c2 != 200 || !bytes.Equal(cb1, cb2) {
			t.Fatalf("cancel %d %s, retry %d %s", c1, cb1, c2, cb2)
		}
		if got := s.balance(t, session); got != 1000 {
			t.Fatalf("balance %d after a retried cancel", got)
		}
		if refunds := kinds(s.ledgerFor(t, session, id)); len(refunds) != 2 {
			t.Fatalf("ledger for the purchase: %v", refunds)
		}
	})

	t.Run("SameKeyOtherBodyIsRefused", func(t *testing.T) {
		if st, _, _ := s.idem(t, "/v1/verifications", session, "buy-2", map[string]any{"service": 4}); st != 201 {
			t.Fatalf("first: %d", st)
		}
		st, _, raw := s.idem(t, "/v1/verifications", session, "buy-2", map[string]any{"service": 2})
		if st != http.StatusUnprocessableEntity {
			t.Fatalf("other body: %d %s", st, raw)
		}
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
				st, _, raw := s.idem(t, "/v1/verifications", session, "buy-3", map[string]any{"service": 4})
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
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
		st, h, _ := s.idem(t, "/v1/verifications", other, "buy-1", map[string]any{"service": 4})
		if st != 201 || h.Get("Idempotent-Replayed") != "" {
			t.Fatalf("another account's key replayed: %d", st)
		}
	})
	checkInvariants(t, s.DBPath)
}
