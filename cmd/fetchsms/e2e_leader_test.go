package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/postgres/pgtest"
)

// isLeader reads fetchsms_leader from a server's scrape.
func isLeader(s *testServer) (bool, error) {
	status, _, raw, err := s.send(http.MethodGet, "/metrics", "", nil)
	if err != nil || status != http.StatusOK {
		return false, err
	}
	v, _ := metricValue(string(raw), "fetchsms_leader")
	return v == 1, nil
}

// TestLeaderElection runs two sandbox servers with their simulated SIM banks
// on one PostgreSQL database: exactly one leads (runs the SIM bank), a
// purchase made on the other is answered once, and when the leader is killed
// (SIGKILL) the other takes over within seconds and answers purchases.
func TestLeaderElection(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	url := pgtest.NewDatabase(t)
	storage := []string{"--database-url", url}
	servers := [2]*child{startChildOn(t, storage, url, "--sandbox", "--servers", "2")}
	servers[1] = startChildOn(t, storage, url, "--sandbox", "--servers", "2")

	leaders := func() (out []int) {
		for i, c := range servers {
			if c == nil {
				continue
			}
			if on, err := isLeader(c.ts); err == nil && on {
				out = append(out, i)
			}
		}
		return out
	}
	var leader int
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := leaders()
		if len(l) > 1 {
			t.Fatalf("servers %v all lead", l)
		}
		if len(l) == 1 {
			leader = l[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no server leads")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Stable: still one, the same, a few tries later.
	time.Sleep(2 * leaderInterval)
	if l := leaders(); len(l) != 1 || l[0] != leader {
		t.Fatalf("leaders now %v, were [%d]", l, leader)
	}

	// A rental bought on the follower hears the SIM bank exactly once.
	follower := servers[1-leader].ts
	rental := follower.call(t, http.MethodPost, "/v1/rentals", follower.APIKey, map[string]any{"service": "unlimited-services", "days": 1}, http.StatusCreated)
	waitMessages := func(s *testServer, id string, within time.Duration) int {
		t.Helper()
		end := time.Now().Add(within)
		for {
			msgs := s.list(t, "/v1/rentals/"+id+"/messages", s.APIKey)
			if len(msgs) > 0 || time.Now().After(end) {
				return len(msgs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if n := waitMessages(follower, str(t, rental["id"]), 15*time.Second); n != 1 {
		t.Fatalf("the follower's rental heard %d SMS, want 1", n)
	}
	time.Sleep(4 * time.Second) // a second SIM bank would have answered by now (1–3 s)
	if n := len(follower.list(t, "/v1/rentals/"+str(t, rental["id"])+"/messages", follower.APIKey)); n != 1 {
		t.Fatalf("the rental heard %d SMS: more than one SIM bank runs", n)
	}

	// The leader dies; the follower takes over and answers verifications.
	servers[leader].kill()
	killed := time.Now()
	servers[leader] = nil
	for {
		if on, _ := isLeader(follower); on {
			break
		}
		if time.Since(killed) > 15*time.Second {
			t.Fatal("the follower did not take over within 15 s of the leader's death")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("took over %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	v := follower.call(t, http.MethodPost, "/v1/verifications", follower.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
	got := follower.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"])+"?wait=20", follower.APIKey, nil, http.StatusOK)
	if got["status"] != "received" || got["code"] == nil {
		t.Fatalf("after the takeover, the SIM bank did not answer: %v", got)
	}
	checkInvariants(t, url)
}
