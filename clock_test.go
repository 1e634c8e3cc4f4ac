package fetchsms

import (
	"testing"
	"time"
)

func TestSteadyClockFollowsTheMonotonicClock(t *testing.T) {
	c := NewSteadyClock()
	a := c.Now()
	if d := time.Since(a); d < -time.Second || d > time.Second {
		t.Fatalf("a new steady clock reads %v, %v from the wall clock", a, d)
	}
	time.Sleep(20 * time.Millisecond)
	if d := c.Now().Sub(a); d < 20*time.Millisecond || d > 5*time.Second {
		t.Fatalf("20 ms later the steady clock moved %v", d)
	}
	var mono time.Duration
	anchor := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := SteadyClockFrom(anchor, func() time.Duration { return mono })
	mono = 90 * time.Second
	if got := s.Now(); !got.Equal(anchor.Add(90*time.Second)) || got.Location() != time.UTC {
		t.Fatalf("SteadyClockFrom: %v", got)
	}
}
