package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// stepSystem is a machine's two clocks: the wall clock, which an operator, a
// virtual machine's resume or an NTP step may set anywhere, and the monotonic
// clock, which only runs.
type stepSystem struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

// run lets d pass: both clocks move.
func (s *stepSystem) run(d time.Duration) {
	s.mu.Lock()
	s.wall = s.wall.Add(d)
	s.mono += d
	s.mu.Unlock()
}

// step sets the wall clock d away; the monotonic clock does not move.
func (s *stepSystem) step(d time.Duration) { s.mu.Lock(); s.wall = s.wall.Add(d); s.mu.Unlock() }

func (s *stepSystem) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.wall }

func (s *stepSystem) elapsed() time.Duration { s.mu.Lock(); defer s.mu.Unlock(); return s.mono }

// testClockSteps steps the wall clock forward and back under a waiting
// verification. With the App's default clock (fetchsms.SteadyClock, modelled
// here over the machine's two clocks) the purchase expires neither early nor
// late and is refunded once; the same scenario over the raw wall clock (what
// SystemClock reads) expires it an hour early, which shows the test can fail.
func testClockSteps(t *testing.T, open Opener) {
	type result struct{ early, onTime, total int }
	scenario := func(t *testing.T, steady bool) result {
		f := setup(t, open, 2)
		ctx := context.Background()
		sys := &stepSystem{wall: time.Now().UTC().Truncate(time.Millisecond)}
		var clock fetchsms.Clock = sys
		if steady {
			clock = fetchsms.SteadyClockFrom(sys.Now(), sys.elapsed)
		}
		app, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: clock, WallClock: clock})
		if err != nil {
			t.Fatal(err)
		}
		u := f.user(t, 1000)
		v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		var r result
		// The wall clock jumps an hour forward, a second passes.
		sys.step(time.Hour)
		sys.run(time.Second)
		if r.early, err = app.ExpireDue(ctx, 100); err != nil {
			t.Fatal(err)
		}
		// It jumps three hours back (before the purchase); the window passes.
		sys.step(-3 * time.Hour)
		sys.run(fetchsms.VerificationWindow)
		if r.onTime, err = app.ExpireDue(ctx, 100); err != nil {
			t.Fatal(err)
		}
		r.total = r.early + r.onTime
		// Sweeping again ends nothing more: one expiry, one refund.
		if n, err := app.ExpireDue(ctx, 100); err != nil || n != 0 {
			t.Fatalf("a second sweep: %d, %v", n, err)
		}
		got, err := app.Verification(ctx, u.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.total == 1 && got.Status != fetchsms.StatusExpired {
			t.Errorf("after its expiry the verification is %s", got.Status)
		}
		if b := f.balance(t, u.ID); r.total == 1 && b != 1000 {
			t.Errorf("balance %d after the expiry, want 1000: refunded once", b)
		}
		return r
	}
	t.Run("Steady", func(t *testing.T) {
		if r := scenario(t, true); r.early != 0 || r.onTime != 1 {
			t.Errorf("steady clock: %d expired after the jump forward, %d when the window passed; want 0 and 1", r.early, r.onTime)
		}
	})
	t.Run("RawWallClockFails", func(t *testing.T) {
		if r := scenario(t, false); r.early != 1 {
			t.Errorf("raw wall clock: %d expired after the jump forward; the scenario should show the early expiry", r.early)
		}
	})
}
