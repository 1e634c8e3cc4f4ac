package postgres

import (
	"context"
	"database/sql"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// SetIdempotentResource records which resource the request under the key touched.
func (t *ptx) SetIdempotentResource(ctx context.Context, userID, key, resourceID string) error {
	tag, err := t.Exec(ctx, `UPDATE idempotency_keys SET resource_id = $1 WHERE user_id = $2 AND key = $3`, resourceID, userID, key)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fetchsms.ErrNoRow // the key is gone: its run must not commit
	}
	return nil
}

// ClaimIdempotencyKey inserts the key unless it exists, else returns it locked. Of
// two requests with one key, on any servers, exactly one inserts the row; the
// other reads it, locked, once the first has committed.
func (t *ptx) ClaimIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) (bool, *fetchsms.IdempotencyRecord, error) {
	tag, err := t.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING`,
		userID, key, hash, sqlrows.Ms(now))
	if err != nil {
		return false, nil, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil, nil
	}
	var rec fetchsms.IdempotencyRecord
	var resource sql.NullString
	var created int64
	err = t.QueryRow(ctx, `SELECT request_hash, resource_id, status, response, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE`, userID, key).
		Scan(&rec.Hash, &resource, &rec.Status, &rec.Response, &created)
	if err != nil {
		return false, nil, err
	}
	rec.ResourceID, rec.CreatedAt = resource.String, sqlrows.FromMS(created)
	return false, &rec, nil
}

// ResetIdempotencyKey starts the key afresh for a request with hash.
func (t *ptx) ResetIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE idempotency_keys SET request_hash = $1, resource_id = NULL, status = 0, response = NULL, created_at = $2 WHERE user_id = $3 AND key = $4`,
		hash, sqlrows.Ms(now), userID, key)
	return err
}

// FinishIdempotencyKey stores the answer.
func (t *ptx) FinishIdempotencyKey(ctx context.Context, userID, key string, status int, response []byte) error {
	_, err := t.Exec(ctx, `UPDATE idempotency_keys SET status = $1, response = $2 WHERE user_id = $3 AND key = $4`, status, response, userID, key)
	return err
}

// DropIdempotencyKey forgets a key whose run changed nothing.
func (t *ptx) DropIdempotencyKey(ctx context.Context, userID, key string) error {
	_, err := t.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND resource_id IS NULL`, userID, key)
	return err
}

// PurgeIdempotencyBefore forgets keys created before a time.
func (db *DB) PurgeIdempotencyBefore(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, sqlrows.Ms(before))
	return tag.RowsAffected(), engineErr(err)
}
