//go:build unix

package main

import (
	"testing"
	"time"
)

// TestPostgresKilledUnderTwoServers is TestPostgresKilledUnderLoad with two
// server processes on the one database (as behind a load balancer, --servers
// 2), each under its own customers and prober: while PostgreSQL is down both
// answer quick 503s, both serve again by themselves when it returns, every
// purchase key on either is charged once, and the invariants hold.
func TestPostgresKilledUnderTwoServers(t *testing.T) {
	t.Parallel()
	pg := newPGCluster(t)
	storage := []string{"--database-url", pg.URL}
	a := startChildOn(t, storage, pg.URL, "--sandbox", "--simulator=false", "--servers", "2").ts
	b := startChildOn(t, storage, pg.URL, "--sandbox", "--simulator=false", "--servers", "2").ts
	loads := []*faultLoad{startFaultLoad(t, a, 10*time.Second), startFaultLoad(t, b, 10*time.Second)}

	time.Sleep(1500 * time.Millisecond)
	pg.kill9(t)
	time.Sleep(6 * time.Second) // longer than the client's retries last
	pg.start(t)
	for _, l := range loads {
		l.waitServing(t, 30*time.Second)
	}
	time.Sleep(1500 * time.Millisecond)
	for i, l := range loads {
		l.finish(t)
		if l.probed503.Load() == 0 {
			t.Errorf("server %d: no probe saw a 503 while PostgreSQL was down", i)
		}
	}
	checkInvariants(t, pg.URL)
}
