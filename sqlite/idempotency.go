package sqlite

import (
	"context"
	"database/sql"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// SetIdempotentResource records which resource the request under the key touched.
func (t *wtx) SetIdempotentResource(ctx context.Context, userID, key, resourceID string) error {
	res, err := t.ExecContext(ctx, `UPDATE idempotency_keys SET resource_id = ? WHERE user_id = ? AND key = ?`, resourceID, userID, key)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fetchsms.ErrNoRow // the key is gone: its run must not commit
	}
	return nil
}

// ClaimIdempotencyKey inserts the key unless it exists, else returns it. The
// writer is alone, so what it reads stays as read to the end of its transaction.
func (t *wtx) ClaimIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) (bool, *fetchsms.IdempotencyRecord, error) {
	res, err := t.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, key) DO NOTHING`,
		userID, key, hash, sqlrows.Ms(now))
	if err != nil {
		return false, nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil, nil
	}
	var rec fetchsms.IdempotencyRecord
	var resource sql.NullString
	var created int64
	err = t.QueryRowContext(ctx, `SELECT request_hash, resource_id, status, response, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?`, userID, key).
		Scan(&rec.Hash, &resource, &rec.Status, &rec.Response, &created)
	if err != nil {
		return false, nil, err
	}
	rec.ResourceID, rec.CreatedAt = resource.String, sqlrows.FromMS(created)
	return false, &rec, nil
}

// ResetIdempotencyKey starts the key afresh for a request with hash.
func (t *wtx) ResetIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE idempotency_keys SET request_hash = ?, resource_id = NULL, status = 0, response = NULL, created_at = ? WHERE user_id = ? AND key = ?`,
		hash, sqlrows.Ms(now), userID, key)
	return err
}

// FinishIdempotencyKey stores the answer.
func (t *wtx) FinishIdempotencyKey(ctx context.Context, userID, key string, status int, response []byte) error {
	_, err := t.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE user_id = ? AND key = ?`, status, response, userID, key)
	return err
}

// DropIdempotencyKey forgets a key whose run changed nothing.
func (t *wtx) DropIdempotencyKey(ctx context.Context, userID, key string) error {
	_, err := t.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND resource_id IS NULL`, userID, key)
	return err
}

// PurgeIdempotencyBefore forgets keys created before a time.
func (db *DB) PurgeIdempotencyBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(t *wtx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, sqlrows.Ms(before))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, engineErr(err)
}
