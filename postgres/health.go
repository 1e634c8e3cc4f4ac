package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// LockGateway reads a gateway and locks its row to the end of the
// transaction, or ErrNoRow: the changes to its health (and imports into it)
// run one after the other, on every server.
func (t *ptx) LockGateway(ctx context.Context, id string) (*fetchsms.Gateway, error) {
	g, err := sqlrows.ScanGateway(t.QueryRow(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways WHERE id = $1 FOR UPDATE`, id))
	return g, noRow(err)
}

// TouchGateway notes that the gateway was heard from at now, never moving
// last_seen_at back, and returns it, its row locked; ErrNoRow when none.
func (t *ptx) TouchGateway(ctx context.Context, id string, now time.Time) (*fetchsms.Gateway, error) {
	g, err := sqlrows.ScanGateway(t.QueryRow(ctx, `UPDATE gateways SET last_seen_at = GREATEST(COALESCE(last_seen_at, 0), $1) WHERE id = $2 RETURNING `+sqlrows.GatewayCols,
		sqlrows.Ms(now), id))
	return g, noRow(err)
}

// SetGatewayWithdrawn marks the gateway withdrawn at at (NULL: listed) and
// flags its numbers alike. A number a purchase is taking right now is waited
// for, then flagged.
func (t *ptx) SetGatewayWithdrawn(ctx context.Context, id string, at time.Time) error {
	if _, err := t.Exec(ctx, `UPDATE gateways SET withdrawn_at = $1 WHERE id = $2`, sqlrows.NullMs(at), id); err != nil {
		return err
	}
	_, err := t.Exec(ctx, `UPDATE numbers SET withdrawn = $1 WHERE gateway_id = $2 AND withdrawn <> $1`, !at.IsZero(), id)
	return err
}

// GatewayCounts counts each gateway's numbers, those for sale, and the messages
// and unmatched messages stored since since.
func (db *DB) GatewayCounts(ctx context.Context, since time.Time) (map[string]fetchsms.GatewayCounts, error) {
	rows, err := db.pool.Query(ctx, `SELECT g.id,
		(SELECT count(*) FROM numbers n WHERE n.gateway_id = g.id),
		(SELECT count(*) FROM numbers n WHERE n.gateway_id = g.id AND n.status = 'active' AND n.holder IS NULL AND NOT n.withdrawn),
		(SELECT count(*) FROM messages m WHERE m.gateway_id = g.id AND m.created_at >= $1),
		(SELECT count(*) FROM unmatched_messages u WHERE u.gateway_id = g.id AND u.created_at >= $1)
		FROM gateways g`, sqlrows.Ms(since))
	out, err := sqlrows.GatewayCountsByID(rows, err)
	return out, engineErr(err)
}

// RecentGatewayMessages lists the gateway's last stored messages, newest first.
func (db *DB) RecentGatewayMessages(ctx context.Context, gatewayID string, limit int) ([]*fetchsms.InboundLogEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.InboundLogCols+sqlrows.InboundLogFrom+` WHERE m.gateway_id = $1 ORDER BY m.created_at DESC, m.seq DESC LIMIT $2`, gatewayID, limit)
	out, err := sqlrows.All(rows, err, sqlrows.NoSeq(sqlrows.ScanInboundLog))
	return out, engineErr(err)
}

// WaitingOn lists the waiting verifications holding numbers of the gateway.
func (db *DB) WaitingOn(ctx context.Context, gatewayID string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT v.id FROM verifications v JOIN numbers n ON n.id = v.number_id WHERE v.status = 'waiting' AND n.gateway_id = $1`, gatewayID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}
