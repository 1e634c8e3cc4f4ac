package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// LockGateway reads a gateway inside the writer's transaction (which no other
// writer can interleave with), or ErrNoRow.
func (t *wtx) LockGateway(ctx context.Context, id string) (*fetchsms.Gateway, error) {
	g, err := sqlrows.ScanGateway(t.QueryRowContext(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways WHERE id = ?`, id))
	return g, noRow(err)
}

// TouchGateway notes that the gateway was heard from at now, never moving
// last_seen_at back, and returns it; ErrNoRow when none.
func (t *wtx) TouchGateway(ctx context.Context, id string, now time.Time) (*fetchsms.Gateway, error) {
	g, err := sqlrows.ScanGateway(t.QueryRowContext(ctx, `UPDATE gateways SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ? RETURNING `+sqlrows.GatewayCols,
		sqlrows.Ms(now), id))
	return g, noRow(err)
}

// SetGatewayWithdrawn marks the gateway withdrawn at at (NULL: listed) and
// flags its numbers alike.
func (t *wtx) SetGatewayWithdrawn(ctx context.Context, id string, at time.Time) error {
	if _, err := t.ExecContext(ctx, `UPDATE gateways SET withdrawn_at = ? WHERE id = ?`, sqlrows.NullMs(at), id); err != nil {
		return err
	}
	_, err := t.ExecContext(ctx, `UPDATE numbers SET withdrawn = ? WHERE gateway_id = ? AND withdrawn <> ?`, !at.IsZero(), id, !at.IsZero())
	return err
}

// GatewayCounts counts each gateway's numbers, those for sale, and the messages
// and unmatched messages stored since since.
func (db *DB) GatewayCounts(ctx context.Context, since time.Time) (map[string]fetchsms.GatewayCounts, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT g.id,
		(SELECT count(*) FROM numbers n WHERE n.gateway_id = g.id),
		(SELECT count(*) FROM numbers n WHERE n.gateway_id = g.id AND n.status = 'active' AND n.holder IS NULL AND n.withdrawn = 0),
		(SELECT count(*) FROM messages m WHERE m.gateway_id = g.id AND m.created_at >= ?),
		(SELECT count(*) FROM unmatched_messages u WHERE u.gateway_id = g.id AND u.created_at >= ?)
		FROM gateways g`, sqlrows.Ms(since), sqlrows.Ms(since))
	out, err := sqlrows.GatewayCountsByID(rows, err)
	return out, engineErr(err)
}

// RecentGatewayMessages lists the gateway's last stored messages, newest first.
func (db *DB) RecentGatewayMessages(ctx context.Context, gatewayID string, limit int) ([]*fetchsms.InboundLogEntry, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.InboundLogCols+sqlrows.InboundLogFrom+` WHERE m.gateway_id = ? ORDER BY m.created_at DESC, m.seq DESC LIMIT ?`, gatewayID, limit)
	out, err := sqlrows.All(rows, err, sqlrows.NoSeq(sqlrows.ScanInboundLog))
	return out, engineErr(err)
}

// WaitingOn lists the waiting verifications holding numbers of the gateway.
func (db *DB) WaitingOn(ctx context.Context, gatewayID string) ([]string, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT v.id FROM verifications v JOIN numbers n ON n.id = v.number_id WHERE v.status = 'waiting' AND n.gateway_id = ?`, gatewayID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}
