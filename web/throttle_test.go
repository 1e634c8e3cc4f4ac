package web

import (
	"testing"
	"time"
)

func TestKeyedLimiter(t *testing.T) {
	t.Parallel()
	lim := newKeyedLimiter(1, 3)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := lim.allow("a", now); !ok {
			t.Fatalf("attempt %d refused inside the burst", i)
		}
	}
	ok, wait := lim.allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := lim.allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := lim.allow("a", now.Add(time.Second)); !ok {
		t.Fatal("no token after a second")
	}
	// Idle keys are forgotten.
	lim.allow("c", now.Add(time.Hour))
	if len(lim.buckets) != 1 {
		t.Fatalf("%d buckets kept", len(lim.buckets))
	}
}

// TestPerKeyLimitSplitAcrossServers: with N servers each enforces 1/N of the
// per-key limit, so a key spread evenly over them gets APIKeyRate in total.
func TestPerKeyLimitSplitAcrossServers(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	for _, servers := range []int{1, 2, 3, 4} {
		a, b := newLimits(servers), newLimits(servers)
		ok := 0
		for i := 0; i < 400; i++ {
			lim := a
			if i%2 == 1 {
				lim = b
			}
			if allowed, _ := lim.perKey.allow("key", now); allowed {
				ok++
			}
		}
		// Two of the servers see half the traffic each: 2/servers of the limit.
		want := 2 * (APIKeyRate / servers)
		if servers == 1 {
			want = 2 * APIKeyRate // two independent servers, each with the whole limit
		}
		if ok != want {
			t.Errorf("servers=%d: %d requests admitted by two of them at once, want %d", servers, ok, want)
		}
	}
}
