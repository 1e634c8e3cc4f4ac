package postgres

import (
	"bytes"
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/jackc/pgx/v5"
)

// IdempotencyWindow is how long a key is remembered.
const IdempotencyWindow = fetchsms.IdempotencyWindow

const abandonedAfter = fetchsms.IdempotencyAbandonedAfter

// markIdempotent records, inside the purchase or cancel transaction, which resource
// the request under an idempotency key touched.
func markIdempotent(ctx context.Context, tx pgx.Tx, resourceID string) error {
	userID, key, ok := fetchsms.IdempotencyScope(ctx)
	if !ok {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET resource_id = $1 WHERE user_id = $2 AND key = $3`, resourceID, userID, key)
	return err
}

// BeginIdempotent claims key for a request with this hash. It returns (nil, nil)
// when the caller should run the request (and then call FinishIdempotent), the
// stored answer to replay, or: ECONFLICT while another request with the key runs;
// EUNPROCESSABLE when the key was used for a different request. Of two requests
// with one key, on any servers, exactly one inserts the row and runs; the other
// reads it, locked, and waits or replays.
func (db *DB) BeginIdempotent(ctx context.Context, userID, key string, hash []byte) (*fetchsms.Idempotency, error) {
	now := db.RealClock.Now()
	var out *fetchsms.Idempotency
	err := db.tx(ctx, "postgres.BeginIdempotent", func(tx pgx.Tx) error {
		out = nil
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING`,
			userID, key, hash, ms(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var stored, response []byte
		var resource sql.NullString
		var status int
		var created int64
		err = tx.QueryRow(ctx, `SELECT request_hash, resource_id, status, response, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE`, userID, key).
			Scan(&stored, &resource, &status, &response, &created)
		if err != nil {
			return err
		}
		if now.Sub(fromMS(created)) > IdempotencyWindow {
			_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET request_hash = $1, resource_id = NULL, status = 0, response = NULL, created_at = $2 WHERE user_id = $3 AND key = $4`,
				hash, ms(now), userID, key)
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
		// resource; if not, this request takes the key over (the row lock makes one
		// taker) and runs.
		if resource.Valid {
			out = &fetchsms.Idempotency{ResourceID: resource.String}
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET created_at = $1 WHERE user_id = $2 AND key = $3`, ms(now), userID, key)
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
	return db.tx(ctx, "postgres.FinishIdempotent", func(tx pgx.Tx) error {
		if status >= 500 {
			_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND resource_id IS NULL`, userID, key)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = $1, response = $2 WHERE user_id = $3 AND key = $4`, status, response, userID, key)
		return err
	})
}

// PurgeIdempotency forgets keys older than the window.
func (db *DB) PurgeIdempotency(ctx context.Context) (int64, error) {
	var n int64
	err := db.tx(ctx, "postgres.PurgeIdempotency", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ms(db.RealClock.Now().Add(-IdempotencyWindow)))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
