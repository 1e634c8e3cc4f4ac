package worker

import (
	"context"
	"log/slog"
	"time"
)

// HealthSweepable is the domain the gateway health sweep needs (fetchsms.App).
type HealthSweepable interface {
	SweepGatewayHealth(ctx context.Context) (int, error)
}

// HealthInterval is how often the gateway health sweep runs for a silence
// limit: a tenth of it, from 250 ms to 5 s (5 s too when the limit is off: the
// sweep still ends the verifications an operator's disable left waiting).
func HealthInterval(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 5 * time.Second
	}
	return min(max(limit/10, 250*time.Millisecond), 5*time.Second)
}

// GatewayHealth withdraws the numbers of gateways that fell silent and lists
// again those of gateways back under the rule, every interval until ctx ends.
// It keeps no state: every server may run it on a shared database.
func GatewayHealth(ctx context.Context, app HealthSweepable, interval time.Duration, logger *slog.Logger) {
	Every(ctx, interval, "gateway health sweep", logger, func(ctx context.Context) error {
		n, err := app.SweepGatewayHealth(ctx)
		if n > 0 && logger != nil {
			logger.Info("gateway health changed", "gateways", n)
		}
		return err
	})
}
