package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/postgres/pgtest"
)

// TestCrashTwoServersPostgres: two servers on one PostgreSQL database while
// customers buy on one and cancel, receive codes and read on the other; one
// server is SIGKILLed mid-load. Every change either server acknowledged is read
// back the same on the survivor and on the restarted server (each answering
// from its verification cache), and every invariant holds.
func TestCrashTwoServersPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	storage := []string{"--database-url", url}
	servers := startPair(t, storage, url)
	sess, userID := servers[1].ts.signup(t)
	servers[1].ts.fund(t, userID, 1_000_000)

	type ack struct {
		id        string
		cancelled bool
		code      string
	}
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				buy, other := servers[(w+i)%2].ts, servers[(w+i+1)%2].ts
				st, _, raw, err := buy.send(http.MethodPost, "/v1/verifications", sess, map[string]any{"service": 4})
				if err != nil || st != http.StatusCreated {
					continue // the crash, or out of stock: not acknowledged
				}
				var v map[string]any
				json.Unmarshal(raw, &v)
				a := ack{id: v["id"].(string)}
				// Both servers read it first (their caches hold it waiting)...
				for _, s := range []*testServer{buy, other} {
					if st, _, _, err := s.send(http.MethodGet, "/v1/verifications/"+a.id, sess, nil); err == nil && st != http.StatusOK {
						t.Errorf("read of %s: %d", a.id, st)
					}
				}
				// ...then the other changes it.
				switch i % 3 {
				case 0:
					if st, _, _, err := other.send(http.MethodPost, "/v1/verifications/"+a.id+"/cancel", sess, nil); err == nil && st == http.StatusOK {
						a.cancelled = true
					}
				case 1:
					code := fmt.Sprintf("%06d", w*100000+i)
					if st, _, raw, err := other.send(http.MethodPost, "/v1/sandbox/sms", other.AdminSession, map[string]any{"to": v["number"], "from": "Telegram", "body": "Telegram code: " + code}); err == nil && st == http.StatusAccepted && strings.Contains(string(raw), a.id) {
						a.code = code
					}
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
			}
		}(w)
	}
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 60 && time.Since(start) > time.Second {
			break
		}
	}
	servers[0].kill()
	close(stop)
	wg.Wait()
	if len(acks) < 20 {
		t.Fatalf("only %d acknowledged purchases before the crash", len(acks))
	}

	// check reads every acknowledged purchase on s as it was acknowledged.
	check := func(s *testServer, name string) {
		for _, a := range acks {
			v := s.call(t, http.MethodGet, "/v1/verifications/"+a.id, sess, nil, http.StatusOK)
			switch {
			case a.cancelled && v["status"] != "cancelled":
				t.Errorf("%s: acknowledged cancel of %s lost: %v", name, a.id, v["status"])
			case a.code != "" && (v["status"] != "received" || v["code"] != a.code):
				t.Errorf("%s: acknowledged code for %s lost: %v %v", name, a.id, v["status"], v["code"])
			}
		}
	}
	check(servers[1].ts, "the survivor")
	checkInvariants(t, url)
	restarted := startChildOn(t, storage, url, "--sandbox", "--simulator=false", "--servers", "2")
	check(restarted.ts, "the restarted server")
	check(servers[1].ts, "the survivor, again")
	checkInvariants(t, url)
	t.Logf("%d purchases acknowledged before SIGKILL", len(acks))
}
