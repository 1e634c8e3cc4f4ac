package fetchsms

import (
	"testing"
)

func TestReliabilityFigures(t *testing.T) {
	rows := []OutcomeCount{
		// Service 4: 15 codes (waits 10 s ×7, 14 s ×1, 30 s ×7), 3 expired, 2
		// cancelled late (a failure), 4 cancelled early (not counted).
		{4, StatusReceived, 10, 7}, {4, StatusReceived, 14, 1}, {4, StatusReceived, 30, 7},
		{4, StatusExpired, 900, 3}, {4, StatusCancelled, 120, 2}, {4, StatusCancelled, 119, 4},
		// Service 2: 19 counted: below the minimum sample.
		{2, StatusReceived, 5, 10}, {2, StatusExpired, 900, 9}, {2, StatusCancelled, 3, 50},
		// Service 7: 20 codes and nothing else; an even count takes the lower middle.
		{7, StatusReceived, 20, 10}, {7, StatusReceived, 40, 10},
		// Waiting rows and empty counts are ignored.
		{9, StatusWaiting, 1, 100}, {9, StatusReceived, 1, 0},
	}
	got := ReliabilityFigures(rows)
	want := map[int]Reliability{
		4: {SuccessRate: 0.75, MedianSeconds: 14, Sample: 20},
		7: {SuccessRate: 1, MedianSeconds: 20, Sample: 20},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("service %d: %+v, want %+v", id, got[id], w)
		}
	}
	// Rounding to 3 decimals: 2 of 3 … scaled to the sample.
	got = ReliabilityFigures([]OutcomeCount{{1, StatusReceived, 8, 20}, {1, StatusExpired, 900, 10}})
	if r := got[1]; r.SuccessRate != 0.667 || r.MedianSeconds != 8 || r.Sample != 30 {
		t.Fatalf("rounding: %+v", r)
	}
}

func TestLowerMedian(t *testing.T) {
	for _, c := range []struct {
		counts map[int]int
		n, m   int
	}{
		{map[int]int{}, 0, 0},
		{map[int]int{5: 1}, 1, 5},
		{map[int]int{1: 1, 9: 1}, 2, 1},
		{map[int]int{1: 1, 5: 1, 9: 1}, 3, 5},
		{map[int]int{3: 2, 4: 2}, 4, 3},
		{map[int]int{0: 5, 100: 6}, 11, 100},
	} {
		if got := lowerMedian(c.counts, c.n); got != c.m {
			t.Errorf("lowerMedian(%v, %d) = %d, want %d", c.counts, c.n, got, c.m)
		}
	}
}
