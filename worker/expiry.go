// Package worker runs the server's background work: the expiry sweep that ends
// verifications and rentals whose time is up.
package worker

import (
	"context"
	"log/slog"
	"time"
)

// Expirable is the storage the sweep needs.
type Expirable interface {
	ExpireDue(ctx context.Context, limit int) (int, error)
}

// Expirer ends overdue verifications (refunded) and rentals every Interval. It keeps
// no state of its own, so a restart simply resumes, and two sweeps at once are safe:
// each end is guarded by the purchase's status.
type Expirer struct {
	Store    Expirable
	Interval time.Duration
	Logger   *slog.Logger
}

// Run sweeps until ctx ends.
func (e *Expirer) Run(ctx context.Context) {
	interval := e.Interval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := e.Store.ExpireDue(ctx, 500)
			if err != nil {
				if ctx.Err() == nil && e.Logger != nil {
					e.Logger.Error("expiry sweep failed", "err", err)
				}
				break
			}
			if n > 0 && e.Logger != nil {
				e.Logger.Info("expired purchases", "count", n)
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
