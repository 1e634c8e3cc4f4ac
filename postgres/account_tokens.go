package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InsertAccountToken stores a reset or email-change token by its hash.
func (t *ptx) InsertAccountToken(ctx context.Context, k *fetchsms.AccountToken, hash []byte) error {
	_, err := t.Exec(ctx, `INSERT INTO account_tokens (id, user_id, purpose, hash, new_email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.UserID, k.Purpose, hash, k.NewEmail, sqlrows.Ms(k.CreatedAt), sqlrows.Ms(k.ExpiresAt))
	return engineErr(err)
}

// CountAccountTokens counts the user's tokens of a purpose made since a time.
func (t *ptx) CountAccountTokens(ctx context.Context, userID, purpose string, since time.Time) (int, error) {
	var n int
	err := t.QueryRow(ctx, `SELECT count(*) FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3`,
		userID, purpose, sqlrows.Ms(since)).Scan(&n)
	return n, err
}

// TakeAccountToken marks the unused, unexpired token of this purpose and hash
// used at now and returns it; ErrNoRow when there is none.
func (t *ptx) TakeAccountToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*fetchsms.AccountToken, error) {
	k := &fetchsms.AccountToken{}
	var created, expires int64
	err := t.QueryRow(ctx, `UPDATE account_tokens SET used_at = $1 WHERE purpose = $2 AND hash = $3 AND used_at IS NULL AND expires_at > $4
		RETURNING id, user_id, purpose, new_email, created_at, expires_at`, sqlrows.Ms(now), purpose, hash, sqlrows.Ms(now)).
		Scan(&k.ID, &k.UserID, &k.Purpose, &k.NewEmail, &created, &expires)
	if err != nil {
		return nil, noRow(err)
	}
	k.CreatedAt, k.ExpiresAt = sqlrows.FromMS(created), sqlrows.FromMS(expires)
	return k, nil
}

// EndAccountTokens marks every unused token of the user and purpose used at now.
func (t *ptx) EndAccountTokens(ctx context.Context, userID, purpose string, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL`, sqlrows.Ms(now), userID, purpose)
	return err
}

// SetUserPassword replaces the user's password hash; ErrNoRow when no such user.
func (t *ptx) SetUserPassword(ctx context.Context, id, passwordHash string) error {
	res, err := t.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, id)
	if err != nil {
		return err
	}
	if res.RowsAffected() != 1 {
		return fetchsms.ErrNoRow
	}
	return nil
}

// SetUserEmail replaces the user's email; ErrDuplicate when another account has
// it (in any case), ErrNoRow when no such user.
func (t *ptx) SetUserEmail(ctx context.Context, id, email string) error {
	res, err := t.Exec(ctx, `UPDATE users SET email = $1 WHERE id = $2`, email, id)
	if err != nil {
		return engineErr(err)
	}
	if res.RowsAffected() != 1 {
		return fetchsms.ErrNoRow
	}
	return nil
}

// RevokeUserSessions revokes the user's live sessions at now, but the one with
// id keep ("" keeps none).
func (t *ptx) RevokeUserSessions(ctx context.Context, userID, keep string, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL`, sqlrows.Ms(now), userID, keep)
	return err
}
