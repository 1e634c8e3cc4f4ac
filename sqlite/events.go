package sqlite

import (
	"context"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// The writer is alone, so seq order is commit order for every reader.

// EventsAfter returns up to limit of the user's events of the given types after seq after.
func (db *DB) EventsAfter(ctx context.Context, userID string, after int64, types []string, limit int) ([]*fetchsms.Event, error) {
	if len(types) == 0 {
		return nil, nil
	}
	args := []any{userID, after}
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, limit)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, id, user_id, type, payload, created_at FROM events
		WHERE user_id = ? AND seq > ? AND type IN (?`+strings.Repeat(", ?", len(types)-1)+`) ORDER BY seq LIMIT ?`, args...)
	out, err := sqlrows.All(rows, err, sqlrows.ScanEvent)
	return out, engineErr(err)
}

// LastEventSeq is the seq of the user's newest event (0 when none).
func (db *DB) LastEventSeq(ctx context.Context, userID string) (int64, error) {
	var seq int64
	err := db.rp.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events WHERE user_id = ?`, userID).Scan(&seq)
	return seq, engineErr(err)
}

// PruneEvents deletes up to limit events created before cutoff with no pending
// delivery, with their deliveries and attempts.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	err := db.write(ctx, func(t *wtx) error {
		n = 0
		rows, err := t.QueryContext(ctx, `SELECT id FROM events e WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending') ORDER BY created_at LIMIT ?`, sqlrows.Ms(cutoff), limit)
		ids, err := sqlrows.All(rows, err, func(r sqlrows.Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			for _, q := range []string{
				`DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)`,
				`DELETE FROM deliveries WHERE event_id = ?`,
				`DELETE FROM events WHERE id = ?`,
			} {
				if _, err := t.ExecContext(ctx, q, id); err != nil {
					return err
				}
			}
		}
		n = len(ids)
		return nil
	})
	return n, engineErr(err)
}
