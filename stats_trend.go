package fetchsms

import (
	"context"
	"slices"
	"time"
)

// TrendPoint is the sales of one period of a trend (StatsTrend).
type TrendPoint struct {
	Start        time.Time
	Purchases    int   // verifications and rentals bought in the period
	Received     int   // of its verifications, those that got their code
	Ended        int   // of its verifications, those that ended (code, expiry, cancel)
	RevenueCents Cents // as ServiceStats counts it
	MedianToCode time.Duration
}

// SuccessRate is Received/Ended (0 when nothing ended).
func (p TrendPoint) SuccessRate() float64 {
	if p.Ended == 0 {
		return 0
	}
	return float64(p.Received) / float64(p.Ended)
}

// StatsTrend returns the sales of n periods of length step ending at end,
// oldest first, counted by the rules of ServiceStats. It reads the figures
// since each period's start and takes each period as the difference of two
// such reads, so every purchase falls in exactly one period.
func (a *App) StatsTrend(ctx context.Context, end time.Time, step time.Duration, n int) ([]TrendPoint, error) {
	const op = "StatsTrend"
	if n < 1 || n > 60 || step <= 0 {
		return nil, Errorf(EUNPROCESSABLE, "a trend has 1 to 60 periods of a positive length")
	}
	type since struct {
		p     TrendPoint
		waits map[int64]int // wait (ms) → how many
	}
	read := func(t time.Time) (since, error) {
		s := since{waits: map[int64]int{}}
		vs, err := a.Store.VerificationSales(ctx, t)
		if err != nil {
			return s, storageError(op, err, "")
		}
		rs, err := a.Store.RentalSales(ctx, t)
		if err != nil {
			return s, storageError(op, err, "")
		}
		ws, err := a.Store.CodeWaits(ctx, t)
		if err != nil {
			return s, storageError(op, err, "")
		}
		for _, g := range vs {
			s.p.Purchases += g.Count
			switch g.Status {
			case StatusReceived:
				s.p.Received += g.Count
				s.p.Ended += g.Count
				s.p.RevenueCents += g.CostCents
			case StatusExpired, StatusCancelled:
				s.p.Ended += g.Count
			}
		}
		for _, g := range rs {
			s.p.Purchases += g.Count
			if !g.Refunded {
				s.p.RevenueCents += g.CostCents
			}
		}
		for _, w := range ws {
			s.waits[w.Millis]++
		}
		return s, nil
	}
	start := end.Add(-time.Duration(n) * step)
	reads := make([]since, n+1)
	for i := range reads {
		t := start.Add(time.Duration(i) * step)
		if i == n {
			t = end.Add(time.Millisecond) // nothing is bought after end
		}
		r, err := read(t)
		if err != nil {
			return nil, err
		}
		reads[i] = r
	}
	out := make([]TrendPoint, n)
	for i := range out {
		a, b := reads[i], reads[i+1]
		p := TrendPoint{Start: start.Add(time.Duration(i) * step), Purchases: a.p.Purchases - b.p.Purchases, Received: a.p.Received - b.p.Received,
			Ended: a.p.Ended - b.p.Ended, RevenueCents: a.p.RevenueCents - b.p.RevenueCents}
		var waits []int64
		for ms, c := range a.waits {
			for k := 0; k < c-b.waits[ms]; k++ {
				waits = append(waits, ms)
			}
		}
		if len(waits) > 0 {
			slices.Sort(waits)
			p.MedianToCode = time.Duration(waits[len(waits)/2]) * time.Millisecond
		}
		out[i] = p
	}
	return out, nil
}
