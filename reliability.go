package fetchsms

import (
	"context"
	"maps"
	"math"
	"sort"
	"time"
)

// Reliability figures per service (issue 26), from the verifications that
// ended in the last ReliabilityWindow of business time (the sandbox's own
// traffic in sandbox). What counts:
//
//   - a success: a verification that released a code or a sign-in link
//     (status received, resends included);
//   - a failure: one that expired without a code, or was cancelled (or
//     reported, which cancels) at least ReliabilityGrace after its purchase;
//   - neither: a cancel inside ReliabilityGrace (the customer changed their
//     mind before the service could have sent anything), and anything still
//     waiting.
//
// success_rate is successes ÷ (successes + failures), rounded to 3 decimals;
// median_seconds the median whole seconds from purchase to the code of the
// successes (the lower middle for an even count; after a resend, to the last
// code); sample the successes and failures counted. Below ReliabilityMinSample
// the figures are withheld (nil): a handful of purchases says little and would
// expose single customers' outcomes.
//
// The figures are computed in the background (RefreshReliability, every minute
// by the server) with one aggregate read of the store, and served from memory:
// GET /v1/services never waits for them.
const (
	ReliabilityWindow    = 7 * 24 * time.Hour
	ReliabilityGrace     = 2 * time.Minute
	ReliabilityMinSample = 20
)

// Reliability is one service's figures.
type Reliability struct {
	SuccessRate   float64
	MedianSeconds int
	Sample        int
}

// OutcomeCount is a number of ended verifications of one service with one
// status and one duration: whole seconds from purchase to the code (received)
// or to the end (expired, cancelled).
type OutcomeCount struct {
	ServiceID int
	Status    string
	Seconds   int
	Count     int
}

// ReliabilityStore reads what the reliability figures are made of.
type ReliabilityStore interface {
	// VerificationOutcomes counts the verifications that ended (received,
	// expired or cancelled) at or after since, grouped by service, status and
	// seconds (OutcomeCount), in one aggregate read.
	VerificationOutcomes(ctx context.Context, since time.Time) ([]OutcomeCount, error)
}

// ReliabilityChanged: the reliability figures were recomputed and differ from
// the last ones; caches of the catalog drop what they hold.
type ReliabilityChanged struct{}

// RefreshReliability recomputes every service's figures from the store and
// keeps them for Catalog; it announces ReliabilityChanged when they changed.
func (a *App) RefreshReliability(ctx context.Context) error {
	rows, err := a.Store.VerificationOutcomes(ctx, a.now().Add(-ReliabilityWindow))
	if err != nil {
		return storageError("RefreshReliability", err, "")
	}
	figs := ReliabilityFigures(rows)
	if old := a.reliability.Load(); old != nil && maps.Equal(*old, figs) {
		return nil
	}
	a.reliability.Store(&figs)
	a.publish(ctx, ReliabilityChanged{})
	return nil
}

// ReliabilityOf returns the service's figures as last computed; nil below the
// minimum sample or before the first computation.
func (a *App) ReliabilityOf(serviceID int) *Reliability {
	m := a.reliability.Load()
	if m == nil {
		return nil
	}
	if r, ok := (*m)[serviceID]; ok {
		return &r
	}
	return nil
}

// ReliabilityFigures applies the rules above to outcome counts: the figures of
// each service with at least ReliabilityMinSample counted outcomes.
func ReliabilityFigures(rows []OutcomeCount) map[int]Reliability {
	type acc struct {
		ok, failed int
		waits      map[int]int // seconds → successes
	}
	by := map[int]*acc{}
	grace := int(ReliabilityGrace / time.Second)
	for _, r := range rows {
		if r.Count <= 0 {
			continue
		}
		x := by[r.ServiceID]
		if x == nil {
			x = &acc{waits: map[int]int{}}
			by[r.ServiceID] = x
		}
		switch {
		case r.Status == StatusReceived:
			x.ok += r.Count
			x.waits[max(r.Seconds, 0)] += r.Count
		case r.Status == StatusExpired, r.Status == StatusCancelled && r.Seconds >= grace:
			x.failed += r.Count
		}
	}
	out := map[int]Reliability{}
	for id, x := range by {
		n := x.ok + x.failed
		if n < ReliabilityMinSample {
			continue
		}
		out[id] = Reliability{SuccessRate: math.Round(float64(x.ok)/float64(n)*1000) / 1000, MedianSeconds: lowerMedian(x.waits, x.ok), Sample: n}
	}
	return out
}

// lowerMedian is the lower middle of n values given as value → count; 0 when
// n is 0.
func lowerMedian(counts map[int]int, n int) int {
	if n == 0 {
		return 0
	}
	keys := make([]int, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	rank := (n + 1) / 2 // 1-based rank of the lower middle
	for _, k := range keys {
		if rank <= counts[k] {
			return k
		}
		rank -= counts[k]
	}
	return keys[len(keys)-1]
}
