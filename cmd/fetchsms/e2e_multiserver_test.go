package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/postgres/pgtest"
	"github.com/fetchsms/fetchsms/web"
	"github.com/fetchsms/fetchsms/webhook"
)

// TestTwoServersOneDatabase starts two server processes together on one PostgreSQL
// database (as behind a load balancer, --servers 2) and drives them at once:
// purchases never oversell a number nor overdraw a wallet, an expiry is refunded
// once, each webhook event is delivered once, both show the same sandbox clock, and
// the per-key rate limit holds over the pair.
func TestTwoServersOneDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	storage := []string{"--database-url", url}

	var hooksMu sync.Mutex
	hooks := map[string]int{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooksMu.Lock()
		hooks[r.Header.Get(webhook.HeaderDelivery)]++
		hooksMu.Unlock()
	}))
	defer recv.Close()

	servers := startPair(t, storage, url)
	a, b := servers[0].ts, servers[1].ts
	pick := func(i int) *testServer { return servers[i%2].ts }

	// One wallet, 40 purchases through both servers, money for 10.
	sess, userID := a.signup(t)
	a.fund(t, userID, 700)
	b.call(t, http.MethodPost, "/v1/webhooks", sess, map[string]any{"url": recv.URL}, http.StatusCreated)
	statuses := make([]int, 40)
	ids := make([]string, 40)
	parallelDo(40, func(i int) {
		st, _, raw, err := pick(i).send(http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"})
		if err != nil {
			t.Errorf("purchase %d: %v", i, err)
			return
		}
		statuses[i] = st
		if st == http.StatusCreated {
			var v map[string]any
			json.Unmarshal(raw, &v)
			ids[i] = fmt.Sprint(v["id"])
		}
	})
	if n := count(statuses, http.StatusCreated); n != 10 || count(statuses, http.StatusPaymentRequired) != 30 {
		t.Fatalf("40 purchases against money for 10 on two servers: %v", statuses)
	}
	if bal := b.balance(t, sess); bal != 0 {
		t.Fatalf("balance %d after spending it all", bal)
	}

	// One area code (25 numbers, none sold yet), 40 buyers through both servers:
	// 25 sales, each a different number.
	sess2, user2 := b.signup(t)
	b.fund(t, user2, 80*40)
	a.call(t, http.MethodPost, "/v1/webhooks", sess2, map[string]any{"url": recv.URL}, http.StatusCreated)
	var numMu sync.Mutex
	numbers := map[string]string{}
	statuses = make([]int, 40)
	parallelDo(40, func(i int) {
		st, _, raw, err := pick(i).send(http.MethodPost, "/v1/verifications", sess2, map[string]any{"service": "telegram", "area_code": "917"})
		if err != nil {
			t.Errorf("purchase %d: %v", i, err)
			return
		}
		statuses[i] = st
		if st == http.StatusCreated {
			var v map[string]any
			json.Unmarshal(raw, &v)
			numMu.Lock()
			defer numMu.Unlock()
			n := fmt.Sprint(v["number"])
			if numbers[n] != "" {
				t.Errorf("number %s sold twice", n)
			}
			numbers[n] = fmt.Sprint(v["id"])
		}
	})
	if n := count(statuses, http.StatusCreated); n != 25 || len(numbers) != 25 || count(statuses, http.StatusConflict) != 15 {
		t.Fatalf("40 buyers for 25 numbers on two servers: %d sold, %d numbers, statuses %v", n, len(numbers), statuses)
	}

	// Codes for all 25 through both servers: 25 webhook events.
	i := 0
	for number := range numbers {
		pick(i).sms(t, e164(t, number), "Telegram", fmt.Sprintf("Telegram code: %05d", 10000+i))
		i++
	}

	// The clock: advanced through a, seen by b (its next purchase is stamped with
	// the new time) well within a second.
	before := parseTS(t, b.call(t, http.MethodPost, "/v1/sandbox/clock/advance", b.AdminSession, map[string]any{"seconds": 1}, http.StatusOK)["now"])
	now := parseTS(t, a.call(t, http.MethodPost, "/v1/sandbox/clock/advance", a.AdminSession, map[string]any{"seconds": 16 * 60}, http.StatusOK)["now"])
	if now.Sub(before) < 16*time.Minute {
		t.Fatalf("advance through a: %v → %v", before, now)
	}
	time.Sleep(200 * time.Millisecond)
	b.fund(t, userID, 70)
	v := b.call(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": "telegram"}, http.StatusCreated)
	if created := parseTS(t, v["created_at"]); created.Before(now.Add(-time.Second)) {
		t.Fatalf("b stamps a purchase %v, a's clock says %v: b did not see the advance", created, now)
	}

	// Every one of the 10 expired purchases is refunded once, whichever server's
	// sweep or read got there first.
	deadline := time.Now().Add(10 * time.Second)
	for len(pick(0).list(t, "/v1/verifications?tab=active", sess)) > 1 {
		if time.Now().After(deadline) {
			t.Fatal("purchases not expired after the clock passed their window")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for j, id := range ids {
		if id == "" {
			continue
		}
		entries := pick(j).ledgerFor(t, sess, id)
		if k := kinds(entries); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger of expired %s: %v, want one purchase and one refund", id, k)
		}
	}
	if bal := a.balance(t, sess); bal != 700 {
		t.Errorf("balance %d after 10 refunds and a new purchase, want 700", bal)
	}

	// Webhooks: every delivery reaches the receiver once, though both servers'
	// workers claim (NOTIFY wakes both).
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline = time.Now().Add(30 * time.Second)
	for {
		pending, err := db.PendingDeliveries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still pending", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show up
	hooksMu.Lock()
	if len(hooks) != 25 {
		t.Errorf("%d distinct deliveries received, want 25 (one per code)", len(hooks))
	}
	for id, n := range hooks {
		if n != 1 {
			t.Errorf("delivery %q received %d times", id, n)
		}
	}
	delivered := len(hooks)
	hooksMu.Unlock()

	// The per-key limit (100/s) shared by both servers: a burst of 300 requests
	// with one key spread over both gets at most the burst (split between the
	// two) plus what refills while it runs, give or take one usage report's
	// delay on each. (A burst slower than 2 s is refilled as fast as it is spent.)
	time.Sleep(web.PresenceLapse / 2) // each has heard the other say it is there
	start := time.Now()
	statuses = make([]int, 300)
	parallelDo(300, func(i int) {
		statuses[i], _, _, _ = pick(i).send(http.MethodGet, "/v1/verifications?limit=1", a.APIKey, nil)
	})
	elapsed := time.Since(start)
	ok, limited := count(statuses, http.StatusOK), count(statuses, http.StatusTooManyRequests)
	slack := int(2 * web.APIKeyRate * web.UsageEvery.Seconds())
	if allowed := web.APIKeyRate + int(web.APIKeyRate*elapsed.Seconds()) + slack; ok > allowed || (limited == 0 && elapsed < 1500*time.Millisecond) || ok+limited != 300 {
		t.Errorf("300 requests in %v with one key on two servers: %d admitted (at most %d), %d limited", elapsed, ok, allowed, limited)
	}
	t.Logf("rate limit, spread: %d of 300 admitted in %v", ok, elapsed)

	// A key whose requests all reach one server gets the whole rate there, not
	// a share: nothing is divided by the number of servers by hand.
	time.Sleep(1500 * time.Millisecond) // the buckets refill
	stickyOK, stickyLimited, stickyTime := hammer(a, a.APIKey, 2*time.Second)
	most := web.APIKeyRate/2 + int(web.APIKeyRate*stickyTime.Seconds()) + slack
	least := web.APIKeyRate/2 + int(0.7*web.APIKeyRate*stickyTime.Seconds())
	if stickyOK > most || (stickyLimited > stickyOK && stickyOK < least) {
		t.Errorf("one key on one server for %v: %d admitted, %d limited; want %d–%d", stickyTime, stickyOK, stickyLimited, least, most)
	}
	checkInvariants(t, url)
	t.Logf("rate limit, one server: %d admitted, %d limited in %v; %d webhook deliveries", stickyOK, stickyLimited, stickyTime, delivered)
}

// hammer sends GET requests with key to s from 16 clients for d, and counts
// the answers admitted and limited.
func hammer(s *testServer, key string, d time.Duration) (ok, limited int, elapsed time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				st, _, _, _ := s.send(http.MethodGet, "/v1/verifications?limit=1", key, nil)
				mu.Lock()
				switch st {
				case http.StatusOK:
					ok++
				case http.StatusTooManyRequests:
					limited++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok, limited, time.Since(start)
}

// parallelDo runs fn(0…n-1), 16 at a time, and waits for all.
func parallelDo(n int, fn func(i int)) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

func count(statuses []int, want int) int {
	n := 0
	for _, s := range statuses {
		if s == want {
			n++
		}
	}
	return n
}

// TestGatewayTokenStopsOnEveryServer: a gateway's token rotated or the gateway
// disabled through one server is refused at once by another on the same database
// (issue 19, finding 9).
func TestGatewayTokenStopsOnEveryServer(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	storage := []string{"--database-url", url}
	a := startChildOn(t, storage, url, "--sandbox", "--simulator=false", "--servers", "2").ts
	b := startChildOn(t, storage, url, "--sandbox", "--simulator=false", "--servers", "2").ts
	gw := a.call(t, http.MethodPost, "/v1/admin/gateways", a.AdminSession, map[string]any{"name": "bank"}, http.StatusCreated)
	sms := func(s *testServer, token string) int {
		t.Helper()
		st, _, _, err := s.send(http.MethodPost, "/v1/inbound/sms", token, map[string]any{"id": fmt.Sprint(time.Now().UnixNano()), "to": "+13325550199", "from": "x", "body": "hi"})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	old := str(t, gw["token"])
	if st := sms(b, old); st != http.StatusNotFound { // accepted (the number is not the gateway's)
		t.Fatalf("the token on the other server: %d, want 404", st)
	}
	rotated := a.call(t, http.MethodPost, "/v1/admin/gateways/"+str(t, gw["id"])+"/rotate", a.AdminSession, nil, http.StatusCreated)
	if st := sms(b, old); st != http.StatusUnauthorized {
		t.Fatalf("the old token on the other server right after the rotation: %d, want 401", st)
	}
	if st := sms(b, str(t, rotated["token"])); st != http.StatusNotFound {
		t.Fatalf("the new token on the other server: %d, want 404", st)
	}
	a.call(t, http.MethodPost, "/v1/admin/gateways/"+str(t, gw["id"])+"/disable", a.AdminSession, nil, http.StatusOK)
	if st := sms(b, str(t, rotated["token"])); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Fatalf("a disabled gateway's token on the other server: %d, want 401", st)
	}
}

// startPair starts two sandbox server processes on one database at once
// (migrations and the sandbox seed must not race), as behind a balancer.
func startPair(t *testing.T, storage []string, url string) [2]*child {
	t.Helper()
	var servers [2]*child
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i] = startChildOn(t, storage, url, "--sandbox", "--simulator=false", "--servers", "2")
		}()
	}
	wg.Wait()
	if servers[0] == nil || servers[1] == nil {
		t.Fatal("a server did not start")
	}
	return servers
}
