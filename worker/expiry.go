// Package worker runs the server's background work: the expiry sweep that ends
// verifications and rentals whose time is up, and the flush of long SMS whose
// parts stopped arriving.
package worker

import (
	"context"
	"log/slog"
	"time"
)

// Expirable is the storage the sweep needs.
type Expirable interface {
	ExpireDue(ctx context.Context, limit int) (int, error)
	RemindExpiring(ctx context.Context, limit int) (int, error)
}

// Expirer ends overdue verifications (refunded) and rentals every Interval, and
// queues the reminders of rentals that end soon. It keeps
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
	Every(ctx, interval, "expiry sweep", e.Logger, func(ctx context.Context) error {
		if err := drain(ctx, 500, e.Store.ExpireDue, e.Logger, "expired purchases"); err != nil {
			return err
		}
		return drain(ctx, 500, e.Store.RemindExpiring, e.Logger, "rental expiry reminders")
	})
}
