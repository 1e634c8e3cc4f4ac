package worker

import (
	"context"
	"log/slog"
	"time"
)

// Every runs job every interval until ctx ends, logging failures under name.
func Every(ctx context.Context, interval time.Duration, name string, logger *slog.Logger, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil && logger != nil {
			logger.Error(name+" failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
