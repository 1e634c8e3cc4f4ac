package sqlite

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// ListInboundMessages lists every stored inbound SMS newest first, routed or not,
// with its gateway, detected service and the ref of the purchase it reached.
func (db *DB) ListInboundMessages(ctx context.Context, p fetchsms.Page) ([]*fetchsms.InboundLogEntry, int64, error) {
	const op = "sqlite.ListInboundMessages"
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT m.seq, m.id, m.gateway_id, coalesce(g.name, ''), m.to_number, m.sender, m.body,
		coalesce(m.code, ''), coalesce(m.detected_service, 0), coalesce(s.name, ''),
		coalesce(m.verification_id, ''), coalesce(v.ref, ''), coalesce(m.rental_id, ''), coalesce(r.ref, ''), m.received_at
		FROM messages m
		LEFT JOIN gateways g ON g.id = m.gateway_id
		LEFT JOIN services s ON s.id = m.detected_service
		LEFT JOIN verifications v ON v.id = m.verification_id
		LEFT JOIN rentals r ON r.id = m.rental_id
		WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`, before, limit+1)
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	defer rows.Close()
	var out []*fetchsms.InboundLogEntry
	var seqs []int64
	for rows.Next() {
		e := &fetchsms.InboundLogEntry{}
		var seq, received int64
		if err := rows.Scan(&seq, &e.ID, &e.GatewayID, &e.GatewayName, &e.To, &e.Sender, &e.Body, &e.Code, &e.ServiceID, &e.ServiceName,
			&e.VerificationID, &e.VerificationRef, &e.RentalID, &e.RentalRef, &received); err != nil {
			return nil, 0, wrap(op, err)
		}
		e.ReceivedAt = sqlrows.FromMS(received)
		out = append(out, e)
		seqs = append(seqs, seq)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	return out, next, wrap(op, rows.Err())
}

// SetNumberStatus sets a pool number active or disabled. Purchases only take
// active numbers; a held number keeps its holder until the purchase ends.
func (db *DB) SetNumberStatus(ctx context.Context, numberID string, status string) error {
	const op = "sqlite.SetNumberStatus"
	if status != fetchsms.NumberActive && status != fetchsms.NumberDisabled {
		return fetchsms.Errorf(fetchsms.EINVALID, "status must be %q or %q", fetchsms.NumberActive, fetchsms.NumberDisabled)
	}
	return db.tx(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE numbers SET status = ? WHERE id = ?`, status, numberID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "number not found")
		}
		return nil
	})
}
