package web

import (
	"fmt"
	"net/http"
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

// TestPerKeyLimitShared: what one server's key took (takeUsed) is charged to
// another's bucket for the key (charge), so the two together admit the burst
// once; a smaller burst (setBurst, the servers heard from) applies to every
// bucket.
func TestPerKeyLimitShared(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	a, b := newLimits().perKey, newLimits().perKey
	a.count()
	admit := func(lim *keyedLimiter, n int) (ok int) {
		for range n {
			if allowed, _ := lim.allow("key", now); allowed {
				ok++
			}
		}
		return ok
	}
	if ok := admit(a, 60); ok != 60 {
		t.Fatalf("a admitted %d of 60", ok)
	}
	used := a.takeUsed()
	if used["key"] != 60 || len(used) != 1 {
		t.Fatalf("a's usage %v, want key=60", used)
	}
	if again := a.takeUsed(); again != nil {
		t.Fatalf("usage taken twice: %v", again)
	}
	for key, n := range used {
		b.charge(key, n, now)
	}
	if ok := admit(b, 100); ok != APIKeyRate-60 {
		t.Fatalf("b admitted %d after a's 60, want %d", ok, APIKeyRate-60)
	}
	// A second later both have refilled: b's bucket holds one second's tokens.
	now = now.Add(time.Second)
	b.setBurst(APIKeyRate/2, now)
	if ok := admit(b, 100); ok != APIKeyRate/2 {
		t.Fatalf("b admitted %d with a burst of %d", ok, APIKeyRate/2)
	}
	// Charges beyond the burst leave the bucket one burst in debt, not more.
	b.charge("key", 10_000, now)
	now = now.Add(time.Second)
	if ok := admit(b, 100); ok != APIKeyRate/2 {
		t.Fatalf("b admitted %d a second after a huge charge, want %d", ok, APIKeyRate/2)
	}
}

// TestLimiterKeysAreBounded: a flood of fresh keys fills the limiter up to its
// bound; past it newcomers share one bucket while known keys keep their own, and
// idle keys are swept when room is needed (issue 19, finding 7).
func TestLimiterKeysAreBounded(t *testing.T) {
	t.Parallel()
	lim := newKeyedLimiter(1, 2)
	lim.maxKeys = 100
	now := time.Unix(1000, 0)
	lim.allow("known", now)
	for i := range 1000 {
		lim.allow(fmt.Sprint("fresh-", i), now)
	}
	if len(lim.buckets) > lim.maxKeys+1 {
		t.Fatalf("%d buckets kept, bound %d", len(lim.buckets), lim.maxKeys)
	}
	if ok, _ := lim.allow("another", now); ok {
		t.Fatal("a newcomer past the bound got a fresh bucket instead of the shared one")
	}
	if ok, _ := lim.allow("known", now); !ok {
		t.Fatal("a known key lost its own bucket in the flood")
	}
	later := now.Add(time.Hour)
	if ok, _ := lim.allow("newcomer", later); !ok || len(lim.buckets) > 2 {
		t.Fatalf("idle keys were not swept when room was needed: ok=%v, %d buckets", ok, len(lim.buckets))
	}
}

// TestClientIPGroupsIPv6By64: every address of one IPv6 /64 is one client.
func TestClientIPGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"203.0.113.7:5000":                   "203.0.113.7",
		"[::ffff:203.0.113.7]:5000":          "203.0.113.7",
		"[2001:db8:1:2:aaaa::1]:443":         "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:1]:80": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:80":               "2001:db8:1:3::/64",
		"[fe80::1%eth0]:80":                  "fe80::/64",
	} {
		r := &http.Request{RemoteAddr: addr}
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%s) = %q, want %q", addr, got, want)
		}
	}
}
