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
