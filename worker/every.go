package worker

import (
	"context"
	"log/slog"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Every runs job every interval until ctx ends, logging failures under name.
func Every(ctx context.Context, interval time.Duration, name string, logger *slog.Logger, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil && logger != nil {
			if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
				// Storage down or unreachable: the next run tries again; an
				// outage is seen in the health check, not as a stream of errors.
				logger.Warn(name+" failed: storage unavailable", "err", err)
			} else {
				logger.Error(name+" failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// drain runs step in batches of limit until one comes back short, logging each
// batch that did something as done.
func drain(ctx context.Context, limit int, step func(context.Context, int) (int, error), logger *slog.Logger, done string) error {
	for {
		n, err := step(ctx, limit)
		if err != nil {
			return err
		}
		if n > 0 && logger != nil {
			logger.Info(done, "count", n)
		}
		if n < limit {
			return nil
		}
	}
}
