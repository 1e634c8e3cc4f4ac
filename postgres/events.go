package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// eventLogLock is the class of the transaction-scoped advisory lock Queue takes
// on an event's user before inserting it: a second transaction writing the same
// user's events waits for the first to commit, so within one user seq order is
// commit order and a reader that has seen seq N never later finds a smaller one.
const eventLogLock = 0x46534576 // "FSEv"

// EventsAfter returns up to limit of the user's events of the given types after seq after.
func (db *DB) EventsAfter(ctx context.Context, userID string, after int64, types []string, limit int) ([]*fetchsms.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, id, user_id, type, payload, created_at FROM events
		WHERE user_id = $1 AND seq > $2 AND type = ANY($3) ORDER BY seq LIMIT $4`, userID, after, types, limit)
	out, err := sqlrows.All(rows, err, sqlrows.ScanEvent)
	return out, engineErr(err)
}

// LastEventSeq is the seq of the user's newest event (0 when none).
func (db *DB) LastEventSeq(ctx context.Context, userID string) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events WHERE user_id = $1`, userID).Scan(&seq)
	return seq, engineErr(err)
}

// PruneEvents deletes up to limit events created before cutoff with no pending
// delivery, with their deliveries and attempts.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	err := db.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM events e WHERE created_at < $1
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`, sqlrows.Ms(cutoff), limit)
		ids, err := sqlrows.All(rows, err, func(r sqlrows.Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1))`,
			`DELETE FROM deliveries WHERE event_id = ANY($1)`,
			`DELETE FROM events WHERE id = ANY($1)`,
		} {
			if _, err := tx.Exec(ctx, q, ids); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, engineErr(err)
}
