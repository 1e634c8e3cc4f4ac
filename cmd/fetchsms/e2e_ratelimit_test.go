package main

import (
	"fmt"
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

// TestTrustedProxies: behind a trusted load balancer each client has its own
// per-IP bucket (keyed by X-Forwarded-For), so one client cannot lock everyone
// out; from anyone else the header is ignored. A public https URL makes the
// dashboard's cookies Secure and sends HSTS (issue 19, finding 4).
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	flood := func(s *testServer, client string) int {
		t.Helper()
		last := 0
		for i := range 40 {
			st, _, _, err := s.sendWith(http.MethodPost, "/v1/auth/login", "", map[string]any{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong-password"},
				http.Header{"X-Forwarded-For": {client}})
			if err != nil {
				t.Fatal(err)
			}
			last = st
		}
		return last
	}
	behind := startServer(t, "--sandbox", "--simulator=false", "--trusted-proxies", "127.0.0.0/8,::1", "--public-url", "https://fetchsms.example")
	if st := flood(behind, "198.51.100.7"); st != http.StatusTooManyRequests {
		t.Fatalf("40 logins from one client behind the proxy: last %d, want 429", st)
	}
	if st, _, _, _ := behind.sendWith(http.MethodPost, "/v1/auth/login", "", map[string]any{"email": "demo@fetchsms.dev", "password": "sandbox-demo"},
		http.Header{"X-Forwarded-For": {"198.51.100.8"}}); st != http.StatusOK {
		t.Fatalf("another client behind the same proxy: %d, want 200 (its own bucket)", st)
	}
	resp, _ := behind.page(t, "GET", "/login", "", nil, nil)
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no HSTS with an https public URL")
	}
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure with an https public URL", c.Name)
		}
	}

	direct := startServer(t, "--sandbox", "--simulator=false")
	flood(direct, "198.51.100.7")
	if st, _, _, _ := direct.sendWith(http.MethodPost, "/v1/auth/login", "", map[string]any{"email": "demo@fetchsms.dev", "password": "sandbox-demo"},
		http.Header{"X-Forwarded-For": {"198.51.100.8"}}); st != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For without trusted proxies: %d, want 429 (the header is not believed)", st)
	}
	resp, _ = direct.page(t, "GET", "/login", "", nil, nil)
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP without a public URL")
	}
}
