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
	// Sign-ups and sign-ins share the per-client bucket (30 at once, then one a
	// second). The flood is of sign-ups with a malformed email, refused after
	// the limit is checked and before any password is hashed, so 40 of them
	// take milliseconds even on a busy machine, and the bucket cannot refill
	// meanwhile as it could during 40 hashed sign-ins.
	flood := func(s *testServer, client string) int {
		t.Helper()
		last := 0
		for i := range 40 {
			st, _, _, err := s.sendWith(http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": fmt.Sprintf("not-an-email-%d", i), "password": "long-enough-password"},
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
		t.Fatalf("40 sign-ups from one client behind the proxy: last %d, want 429", st)
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

// TestLoginLimits: wrong passwords from one client stop that client, not the
// account's owner elsewhere; guessing spread over many addresses stops every
// client that has not signed in to the account lately, while the owner's known
// client still can; a disabled account answers the same to any password; and
// --no-ip-limits keeps the per-account limits (issue 19, findings 3 and 8).
func TestLoginLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--trusted-proxies", "127.0.0.0/8,::1", "--no-ip-limits")
	login := func(client, email, password string) (int, string) {
		t.Helper()
		st, _, raw, err := s.sendWith(http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email, "password": password},
			http.Header{"X-Forwarded-For": {client}})
		if err != nil {
			t.Fatal(err)
		}
		return st, string(raw)
	}
	const victim, right = "demo@fetchsms.dev", "sandbox-demo"

	// The owner signs in from home first: that client is known to the account.
	if st, raw := login("203.0.113.10", victim, right); st != http.StatusOK {
		t.Fatalf("the owner's first sign-in: %d %s", st, raw)
	}
	// One client guesses: 10 wrong passwords, then it is stopped, right password or not.
	// The allowance refills one every 6 s; hashing 10 passwords on a loaded
	// machine can take that long, so a guess or two more may pass first.
	stopped := 0
	for i := 0; i < 13 && stopped == 0; i++ {
		switch st, _ := login("198.51.100.66", victim, fmt.Sprint("guess-", i)); {
		case st == http.StatusTooManyRequests && i >= 10:
			stopped = i
		case st != http.StatusUnauthorized:
			t.Fatalf("guess %d: %d, want 401 (429 from the 11th)", i, st)
		}
	}
	if stopped == 0 {
		t.Fatal("the guessing client was not stopped after 13 wrong passwords")
	}
	if st, _ := login("198.51.100.66", victim, right); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing client's right password once stopped: %d, want 429", st)
	}
	// The owner elsewhere is not locked out.
	if st, raw := login("203.0.113.20", victim, right); st != http.StatusOK {
		t.Fatalf("the owner from another address: %d %s", st, raw)
	}
	// Guessing spread over 20 addresses (5 each, under the per-client limit)
	// spends the account's allowance: a new client is stopped, a known one is not.
	for i := range 100 {
		login(fmt.Sprintf("192.0.2.%d", 10+i%20), victim, fmt.Sprint("spread-", i))
	}
	if st, _ := login("198.51.100.99", victim, right); st != http.StatusTooManyRequests {
		t.Fatalf("a new client after 100 failures from everywhere: %d, want 429", st)
	}
	if st, raw := login("203.0.113.10", victim, right); st != http.StatusOK {
		t.Fatalf("the owner's known client after the spread guessing: %d %s", st, raw)
	}

	// A disabled account answers alike to any password: no oracle.
	_, id := s.signup(t)
	s.call(t, http.MethodPost, "/v1/admin/users/"+id+"/disable", s.AdminSession, nil, http.StatusOK)
	u := s.call(t, http.MethodGet, "/v1/admin/users/"+id, s.AdminSession, nil, http.StatusOK)
	email := str(t, u["email"])
	stRight, rawRight := login("203.0.113.30", email, "correct horse battery")
	stWrong, rawWrong := login("203.0.113.30", email, "not-the-password")
	if stRight != stWrong || rawRight != rawWrong {
		t.Fatalf("a disabled account answers %d %s to its password and %d %s to a wrong one", stRight, rawRight, stWrong, rawWrong)
	}
}
