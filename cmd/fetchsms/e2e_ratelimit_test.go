package main

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// burst sends n requests at once and counts the answers by status.
func (s *testServer) burst(t *testing.T, n int, path, token string) (map[int]int, http.Header) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	var limited http.Header
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, h, raw, err := s.send(http.MethodGet, path, token, nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			counts[st]++
			if st == http.StatusTooManyRequests && limited == nil {
				limited = h
				assertErrorBody(t, "429", h, raw)
			}
		}()
	}
	wg.Wait()
	return counts, limited
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	t.Run("PerAPIKey", func(t *testing.T) {
		// 400 at once: even a slow run (under -race, beside the other tests) cannot
		// refill 300 tokens before the burst ends.
		counts, h := s.burst(t, 400, "/v1/verifications?tab=active", s.APIKey)
		if counts[http.StatusOK] < 100 || counts[http.StatusTooManyRequests] == 0 || counts[http.StatusOK]+counts[http.StatusTooManyRequests] != 400 {
			t.Fatalf("statuses %v", counts)
		}
		if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("Retry-After %q", h.Get("Retry-After"))
		}
		// Another key of the same account has its own bucket.
		k := s.call(t, http.MethodPost, "/v1/api-keys", s.DemoSession, map[string]any{"name": "second"}, http.StatusCreated)
		s.list(t, "/v1/verifications", str(t, k["key"]))
	})

	t.Run("PerIPOnCatalog", func(t *testing.T) {
		counts, _ := s.burst(t, 300, "/v1/services/quote?service=4&mode=short", "")
		if counts[http.StatusTooManyRequests] == 0 || counts[http.StatusOK] < 100 {
			t.Fatalf("statuses %v", counts)
		}
	})

	t.Run("LiftedForLoadTests", func(t *testing.T) {
		s2 := startServer(t, "--no-ip-limits")
		counts, _ := s2.burst(t, 300, "/v1/services/quote?service=4&mode=short", "")
		if counts[http.StatusOK] != 300 {
			t.Fatalf("statuses %v", counts)
		}
	})
}
