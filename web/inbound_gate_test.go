package web

import (
	"context"
	"testing"
	"time"
)

// TestGateBounds: a gate of 2 running and 3 waiting admits 2 at once, queues 3,
// refuses the 6th at once, and admits a queued request when a slot is freed; a
// queued request whose wait runs out is refused and frees its place.
func TestGateBounds(t *testing.T) {
	g := newGate(2, 3, time.Hour)
	ctx := context.Background()
	var releases []func()
	for range 2 {
		rel, ok := g.enter(ctx)
		if !ok {
			t.Fatal("a free slot refused")
		}
		releases = append(releases, rel)
	}
	admitted := make(chan func(), 3)
	for range 3 {
		go func() {
			rel, ok := g.enter(ctx)
			if !ok {
				t.Error("a queued request refused")
				admitted <- func() {}
				return
			}
			admitted <- rel
		}()
	}
	for len(g.tickets) < 5 { // the three are queued
		time.Sleep(time.Millisecond)
	}
	if _, ok := g.enter(ctx); ok {
		t.Fatal("a sixth request admitted past 2 running and 3 queued")
	}
	if g.shed.Load() != 1 {
		t.Fatalf("shed = %d, want 1", g.shed.Load())
	}
	releases[0]()
	releases = append(releases[1:], <-admitted)
	for _, rel := range releases {
		rel()
	}
	for range 2 {
		(<-admitted)()
	}
	if len(g.slots) != 0 || len(g.tickets) != 0 {
		t.Fatalf("after every release: %d slots, %d tickets held", len(g.slots), len(g.tickets))
	}

	short := newGate(1, 1, 10*time.Millisecond)
	rel, _ := short.enter(ctx)
	if _, ok := short.enter(ctx); ok {
		t.Fatal("a queued request admitted while the slot is held")
	}
	if len(short.tickets) != 1 {
		t.Fatalf("a refused queued request kept its place: %d tickets", len(short.tickets))
	}
	rel()
}
