package worker

import (
	"context"
	"log/slog"
	"time"
)

// PartsFlushable is the domain the parts flush needs (fetchsms.App).
type PartsFlushable interface {
	FlushParts(ctx context.Context, limit int) (int, error)
}

// FlushParts delivers the long SMS whose parts stopped arriving, every interval
// until ctx ends: it joins what arrived of each message whose parts have waited
// the App's time limit, and routes it. Like the expiry sweep it keeps no state,
// and several servers may run it at once: each message is joined once.
func FlushParts(ctx context.Context, app PartsFlushable, interval time.Duration, logger *slog.Logger) {
	Every(ctx, interval, "long SMS flush", logger, func(ctx context.Context) error {
		return drain(ctx, 100, app.FlushParts, logger, "long SMS delivered incomplete")
	})
}
