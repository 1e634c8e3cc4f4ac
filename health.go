package fetchsms

import (
	"context"
	"errors"
	"time"
)

// The gateway health rules. A gateway is heard from when it posts a message or
// a heartbeat (last_seen_at, wall time). Its numbers are for sale only while it
// is enabled and not silent: heard from (or, never heard from, made) within the
// server's silence limit (Options.GatewaySilence; 0 turns the limit off). A
// gateway that falls silent or is disabled has its numbers withdrawn from sale
// at once (the stock drops), and the verifications waiting on them are ended
// and refunded, since no code can reach them; rentals run on (their number may
// receive again when the gateway returns). A message or heartbeat from a
// withdrawn, enabled gateway lists its numbers again in the same transaction;
// enabling a gateway lists them again at once when it is not silent, else when
// it is next heard from. Numbers imported into a withdrawn gateway come in
// withdrawn. The sweep (SweepGatewayHealth) brings every gateway to this rule
// and is safe on several servers at once: each change is made under the
// gateway's row, after the rule is checked again there.

// GatewayTx is what a transaction does to a gateway's health.
type GatewayTx interface {
	// LockGateway reads a gateway for a change, locking its row on PostgreSQL;
	// ErrNoRow when none.
	LockGateway(ctx context.Context, id string) (*Gateway, error)
	// TouchGateway notes that the gateway was heard from at now (last_seen_at
	// never moves back) and returns it as it now is, its row locked on
	// PostgreSQL; ErrNoRow when none.
	TouchGateway(ctx context.Context, id string, now time.Time) (*Gateway, error)
	// SetGatewayWithdrawn withdraws every number of the gateway from sale as of
	// at, or with a zero at lists them again: the gateway's withdrawn_at and its
	// numbers' flags change together.
	SetGatewayWithdrawn(ctx context.Context, id string, at time.Time) error
}

// GatewayStore reads the gateways' health outside a transaction.
type GatewayStore interface {
	// GatewayCounts counts, by gateway id, its numbers, those of them for sale
	// (active, listed and free), and the messages and unmatched messages it
	// sent that were stored at or after since (business time).
	GatewayCounts(ctx context.Context, since time.Time) (map[string]GatewayCounts, error)
	// RecentGatewayMessages lists up to limit messages stored for the gateway's
	// numbers, newest first.
	RecentGatewayMessages(ctx context.Context, gatewayID string, limit int) ([]*InboundLogEntry, error)
	// WaitingOn lists the ids of the waiting verifications that hold numbers of
	// the gateway.
	WaitingOn(ctx context.Context, gatewayID string) ([]string, error)
}

// GatewayCounts are one gateway's numbers and recent traffic.
type GatewayCounts struct {
	Numbers   int // in the pool
	ForSale   int // active, listed and free: what the catalog counts
	Messages  int // stored for its numbers in the window
	Unmatched int // for no number of its own, in the window
}

// Gateway health, as the admin pages show it.
const (
	HealthOK       = "ok"       // heard from within the limit (or made within it): its numbers are for sale
	HealthSilent   = "silent"   // not heard from within the limit: its numbers are withdrawn
	HealthDisabled = "disabled" // disabled by an admin: its token is refused and its numbers withdrawn
	HealthNew      = "new"      // never heard from and holding no numbers yet
)

// TrafficWindow is the window of a gateway's counted recent traffic.
const TrafficWindow = 24 * time.Hour

// GatewayHealth is a gateway with its health, numbers and recent traffic.
type GatewayHealth struct {
	*Gateway
	Health string
	GatewayCounts
}

// GatewaySilence returns the silence limit (0: off).
func (a *App) GatewaySilence() time.Duration { return a.silence }

// silent reports whether g has not been heard from (or, never heard from, was
// made) within the silence limit at now.
func (a *App) silent(g *Gateway, now time.Time) bool {
	if a.silence <= 0 {
		return false
	}
	last := g.LastSeenAt
	if last.IsZero() {
		last = g.CreatedAt
	}
	return now.Sub(last) > a.silence
}

// withdrawnByRule reports whether g's numbers must be withdrawn at now.
func (a *App) withdrawnByRule(g *Gateway, now time.Time) bool {
	return g.Disabled || a.silent(g, now)
}

// healthOf is g's health at now, with n numbers.
func (a *App) healthOf(g *Gateway, n int, now time.Time) string {
	switch {
	case g.Disabled:
		return HealthDisabled
	case g.LastSeenAt.IsZero() && n == 0:
		return HealthNew
	case !g.WithdrawnAt.IsZero() || a.silent(g, now):
		return HealthSilent
	}
	return HealthOK
}

// applyHealth withdraws or lists again the numbers of g (read under its lock
// in tx) as the rule wants at now; it reports whether it changed anything, and
// leaves g as stored.
func (a *App) applyHealth(ctx context.Context, tx Tx, g *Gateway, now time.Time) (bool, error) {
	want := a.withdrawnByRule(g, now)
	if want == !g.WithdrawnAt.IsZero() {
		return false, nil
	}
	var at time.Time
	if want {
		at = now.Truncate(time.Millisecond).UTC()
	}
	if err := tx.SetGatewayWithdrawn(ctx, g.ID, at); err != nil {
		return false, err
	}
	g.WithdrawnAt = at
	return true, nil
}

// heard notes in tx that a gateway was heard from, and lists its numbers again
// when they were withdrawn and it is enabled. It reports whether it listed them.
func (a *App) heard(ctx context.Context, tx Tx, id string) (bool, error) {
	now := a.wall.Now()
	g, err := tx.TouchGateway(ctx, id, now)
	if errors.Is(err, ErrNoRow) {
		return false, Errorf(ENOTFOUND, "gateway not found")
	} else if err != nil || g.WithdrawnAt.IsZero() {
		return false, err
	}
	return a.applyHealth(ctx, tx, g, now)
}

// GatewayHeartbeat notes that a gateway is alive (its software's ping): a
// silent gateway's numbers are for sale again at once. ENOTFOUND for an
// unknown gateway.
func (a *App) GatewayHeartbeat(ctx context.Context, id string) error {
	var relisted bool
	err := a.update(ctx, "GatewayHeartbeat", func(tx Tx) (err error) {
		relisted, err = a.heard(ctx, tx, id)
		return err
	})
	if err == nil && relisted {
		a.publish(ctx, StockChanged{})
	}
	return err
}

// settleGateway brings one gateway to the health rule under its lock. It
// returns the gateway as stored and whether it changed; ENOTFOUND when none.
func (a *App) settleGateway(ctx context.Context, tx Tx, id string) (*Gateway, bool, error) {
	g, err := tx.LockGateway(ctx, id)
	if errors.Is(err, ErrNoRow) {
		return nil, false, Errorf(ENOTFOUND, "gateway not found")
	} else if err != nil {
		return nil, false, err
	}
	changed, err := a.applyHealth(ctx, tx, g, a.wall.Now())
	return g, changed, err
}

// SweepGatewayHealth brings every gateway to the health rule: it withdraws the
// numbers of the silent and the disabled, lists again those of the others
// (after the limit was raised or turned off), and ends and refunds the
// verifications still waiting on withdrawn numbers (left by an operator's
// command). It returns how many gateways changed. Safe to run on several
// servers at once: each change is checked again under the gateway's lock, and
// each verification ends once (its status guard).
func (a *App) SweepGatewayHealth(ctx context.Context) (int, error) {
	gs, err := a.Store.ListGateways(ctx)
	if err != nil {
		return 0, storageError("SweepGatewayHealth", err, "")
	}
	changed := 0
	defer func() {
		if changed > 0 {
			a.publish(ctx, StockChanged{})
		}
	}()
	for _, g := range gs {
		if a.withdrawnByRule(g, a.wall.Now()) != !g.WithdrawnAt.IsZero() {
			var stored *Gateway
			var ok bool
			err := a.update(ctx, "SweepGatewayHealth", func(tx Tx) (err error) {
				stored, ok, err = a.settleGateway(ctx, tx, g.ID)
				return err
			})
			if err != nil {
				return changed, err
			}
			if ok {
				changed++
			}
			g = stored
		}
		if !g.WithdrawnAt.IsZero() {
			if err := a.endWaitingOn(ctx, g.ID); err != nil {
				return changed, err
			}
		}
	}
	return changed, nil
}

// endWaitingOn ends and refunds, each in its own transaction, the
// verifications waiting on the numbers of a gateway whose numbers are
// withdrawn: their code cannot come. They end as expired, before their time.
// An operator's command leaves them to the servers' sweep (Options.Operator).
func (a *App) endWaitingOn(ctx context.Context, gatewayID string) error {
	if a.operator {
		return nil
	}
	ids, err := a.Store.WaitingOn(ctx, gatewayID)
	if err != nil {
		return storageError("endWaitingOn", err, "")
	}
	for _, id := range ids {
		var done bool
		var owner string
		err := a.update(ctx, "EndWaitingOnWithdrawn", func(tx Tx) error {
			done = false
			v, err := tx.LockVerification(ctx, id)
			if err != nil || v.Status != StatusWaiting {
				return err
			}
			done, owner = true, v.UserID
			_, err = endVerification(ctx, tx, v, StatusExpired, a.now())
			return err
		})
		if err != nil {
			return err
		}
		if done {
			a.publish(ctx, StockChanged{}, PurchaseChanged{VerificationID: id, UserID: owner})
		}
	}
	return nil
}

// GatewaysHealth returns every gateway, newest first, with its health, its
// numbers and its traffic of the last TrafficWindow.
func (a *App) GatewaysHealth(ctx context.Context) ([]*GatewayHealth, error) {
	gs, err := a.Store.ListGateways(ctx)
	if err != nil {
		return nil, storageError("GatewaysHealth", err, "")
	}
	counts, err := a.Store.GatewayCounts(ctx, a.now().Add(-TrafficWindow))
	if err != nil {
		return nil, storageError("GatewaysHealth", err, "")
	}
	now := a.wall.Now()
	out := make([]*GatewayHealth, len(gs))
	for i, g := range gs {
		c := counts[g.ID]
		out[i] = &GatewayHealth{Gateway: g, Health: a.healthOf(g, c.Numbers, now), GatewayCounts: c}
	}
	return out, nil
}

// RecentGatewayMessages lists the last messages (at most limit, 1–50) stored
// for a gateway's numbers, newest first.
func (a *App) RecentGatewayMessages(ctx context.Context, gatewayID string, limit int) ([]*InboundLogEntry, error) {
	limit = min(max(limit, 1), 50)
	out, err := a.Store.RecentGatewayMessages(ctx, gatewayID, limit)
	return out, storageError("RecentGatewayMessages", err, "")
}

// GatewayHealthByID returns one gateway with its health, numbers and traffic,
// or ENOTFOUND.
func (a *App) GatewayHealthByID(ctx context.Context, id string) (*GatewayHealth, error) {
	all, err := a.GatewaysHealth(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range all {
		if g.ID == id {
			return g, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "gateway not found")
}
