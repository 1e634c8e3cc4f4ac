package sqlite

import (
	"bytes"
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
)

// IdempotencyWindow is how long a key is remembered.
const IdempotencyWindow = fetchsms.IdempotencyWindow

const abandonedAfter = fetchsms.IdempotencyAbandonedAfter

// markIdempotent records, inside the purchase or cancel transaction, which resource
// the request under an idempotency key touched.
func markIdempotent(ctx context.Context, tx *wtx, resourceID string) error {
	userID, key, ok := fetchsms.IdempotencyScope(ctx)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET resource_id = ? WHERE user_id = ? AND key = ?`, resourceID, userID, key)
	return err
}

// BeginIdempotent claims key for a request with this hash. It returns (nil, nil)
// when the caller should run the request (and then call FinishIdempotent), the
// stored answer to replay, or: ECONFLICT while another request with the key runs;
// EUNPROCESSABLE when the key was used for a different request.
func (db *DB) BeginIdempotent(ctx context.Context, userID, key string, hash []byte) (*fetchsms.Idempotency, error) {
	now := db.RealClock.Now()
	var out *fetchsms.Idempotency
	err := db.tx(ctx, "sqlite.BeginIdempotent", func(tx *wtx) error {
		var stored []byte
		var resource sql.NullString
		var status int
		var response []byte
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT request_hash, resource_id, status, response, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?`, userID, key).
			Scan(&stored, &resource, &status, &response, &created)
		if err == sql.ErrNoRows || (err == nil && now.Sub(fromMS(created)) > IdempotencyWindow) {
			_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, resource_id = NULL, status = 0, response = NULL, created_at = excluded.created_at`,
				userID, key, hash, ms(now))
			return err
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(stored, hash) {
			return fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "this Idempotency-Key was already used with a different request; use a new key for a new request")
		}
		if status != 0 {
			out = &fetchsms.Idempotency{Replay: true, Status: status, Response: response}
			return nil
		}
		if now.Sub(fromMS(created)) < abandonedAfter {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry in a few seconds")
		}
		// The earlier run was abandoned. If its change committed, answer with the
		// resource; if not, this request takes the key over and runs.
		if resource.Valid {
			out = &fetchsms.Idempotency{ResourceID: resource.String}
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET created_at = ? WHERE user_id = ? AND key = ?`, ms(now), userID, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishIdempotent stores the answer of a request run under key; a status of 500 or
// more forgets the key instead, so a retry runs again (such answers change nothing).
func (db *DB) FinishIdempotent(ctx context.Context, userID, key string, status int, response []byte) error {
	return db.tx(ctx, "sqlite.FinishIdempotent", func(tx *wtx) error {
		if status >= 500 {
			_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND resource_id IS NULL`, userID, key)
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE user_id = ? AND key = ?`, status, response, userID, key)
		return err
	})
}

// PurgeIdempotency forgets keys older than the window.
func (db *DB) PurgeIdempotency(ctx context.Context) (int64, error) {
	var n int64
	err := db.tx(ctx, "sqlite.PurgeIdempotency", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, ms(db.RealClock.Now().Add(-IdempotencyWindow)))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, err
}
