package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InsertAccountToken stores a reset or email-change token by its hash.
func (t *wtx) InsertAccountToken(ctx context.Context, k *fetchsms.AccountToken, hash []byte) error {
	_, err := t.ExecContext(ctx, `INSERT INTO account_tokens (id, user_id, purpose, hash, new_email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Purpose, hash, k.NewEmail, sqlrows.Ms(k.CreatedAt), sqlrows.Ms(k.ExpiresAt))
	return engineErr(err)
}

// CountAccountTokens counts the user's tokens of a purpose made since a time.
func (t *wtx) CountAccountTokens(ctx context.Context, userID, purpose string, since time.Time) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM account_tokens WHERE user_id = ? AND purpose = ? AND created_at >= ?`,
		userID, purpose, sqlrows.Ms(since)).Scan(&n)
	return n, err
}

// TakeAccountToken marks the unused, unexpired token of this purpose and hash
// used at now and returns it; ErrNoRow when there is none.
func (t *wtx) TakeAccountToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*fetchsms.AccountToken, error) {
	k := &fetchsms.AccountToken{}
	var created, expires int64
	err := t.QueryRowContext(ctx, `UPDATE account_tokens SET used_at = ? WHERE purpose = ? AND hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING id, user_id, purpose, new_email, created_at, expires_at`, sqlrows.Ms(now), purpose, hash, sqlrows.Ms(now)).
		Scan(&k.ID, &k.UserID, &k.Purpose, &k.NewEmail, &created, &expires)
	if err != nil {
		return nil, noRow(err)
	}
	k.CreatedAt, k.ExpiresAt = sqlrows.FromMS(created), sqlrows.FromMS(expires)
	return k, nil
}

// EndAccountTokens marks every unused token of the user and purpose used at now.
func (t *wtx) EndAccountTokens(ctx context.Context, userID, purpose string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL`, sqlrows.Ms(now), userID, purpose)
	return err
}

// SetUserPassword replaces the user's password hash; ErrNoRow when no such user.
func (t *wtx) SetUserPassword(ctx context.Context, id, passwordHash string) error {
	res, err := t.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fetchsms.ErrNoRow
	}
	return nil
}

// SetUserEmail replaces the user's email; ErrDuplicate when another account has
// it (in any case), ErrNoRow when no such user.
func (t *wtx) SetUserEmail(ctx context.Context, id, email string) error {
	res, err := t.ExecContext(ctx, `UPDATE users SET email = ? WHERE id = ?`, email, id)
	if err != nil {
		return engineErr(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fetchsms.ErrNoRow
	}
	return nil
}

// RevokeUserSessions revokes the user's live sessions at now, but the one with
// id keep ("" keeps none).
func (t *wtx) RevokeUserSessions(ctx context.Context, userID, keep string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL`, sqlrows.Ms(now), userID, keep)
	return err
}
