package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// Accounts and credentials: the statements of fetchsms.AccountTx and the reads
// of fetchsms.AccountStore. Emails compare in lower case (the unique index is on
// lower(email)); tokens are stored as the hashes the App gives.

// InsertUser stores u; an email taken in any case violates users_email (ErrDuplicate).
func (t *ptx) InsertUser(ctx context.Context, u *fetchsms.User, passwordHash string) error {
	_, err := t.Exec(ctx, `INSERT INTO users (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.Email, passwordHash, u.Role, sqlrows.Ms(u.CreatedAt))
	return engineErr(err)
}

// SetUserDisabled sets the flag and returns the user, or ErrNoRow.
func (t *ptx) SetUserDisabled(ctx context.Context, id string, disabled bool) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(t.QueryRow(ctx, `UPDATE users SET disabled = $1 WHERE id = $2 RETURNING `+sqlrows.UserCols, disabled, id))
	return u, noRow(err)
}

// InsertSession stores s with its token's hash.
func (t *ptx) InsertSession(ctx context.Context, s *fetchsms.Session, hash []byte) error {
	_, err := t.Exec(ctx, `INSERT INTO sessions (id, user_id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.ID, s.UserID, hash, sqlrows.Ms(s.CreatedAt), sqlrows.Ms(s.ExpiresAt))
	return err
}

// RevokeSession marks a live session revoked.
func (t *ptx) RevokeSession(ctx context.Context, id string, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, sqlrows.Ms(now), id)
	return err
}

// InsertAPIKey stores k with its secret's hash.
func (t *ptx) InsertAPIKey(ctx context.Context, k *fetchsms.APIKey, hash []byte) error {
	_, err := t.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.UserID, k.Name, k.Prefix, hash, sqlrows.Ms(k.CreatedAt))
	return err
}

// LockAPIKey reads the user's key and locks its row to the end of the
// transaction, so that of two rotations of one key the second finds it revoked;
// ErrNoRow when none.
func (t *ptx) LockAPIKey(ctx context.Context, userID, id string) (*fetchsms.APIKey, error) {
	k, err := sqlrows.ScanAPIKey(t.QueryRow(ctx, `SELECT `+sqlrows.APIKeyCols+` FROM api_keys WHERE id = $1 AND user_id = $2 FOR UPDATE`, id, userID))
	return k, noRow(err)
}

// RevokeAPIKey marks the key revoked at now.
func (t *ptx) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, sqlrows.Ms(now), id)
	return err
}

// InsertGateway stores g with its token's hash and its sealed token.
func (t *ptx) InsertGateway(ctx context.Context, g *fetchsms.Gateway, hash []byte, sealed string) error {
	_, err := t.Exec(ctx, `INSERT INTO gateways (id, name, token_hash, token_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`, g.ID, g.Name, hash, sealed, sqlrows.Ms(g.CreatedAt))
	return err
}

// LockGatewayByName returns the oldest gateway with this name, or ErrNoRow.
// Transactions asking for one name (servers starting together) wait for one
// another on a transaction-scoped advisory lock on it, so they make one gateway.
func (t *ptx) LockGatewayByName(ctx context.Context, name string) (*fetchsms.Gateway, error) {
	if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gateway:' || $1))`, name); err != nil {
		return nil, err
	}
	g, err := sqlrows.ScanGateway(t.QueryRow(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways WHERE name = $1 ORDER BY seq LIMIT 1`, name))
	return g, noRow(err)
}

// SetGatewayToken replaces the gateway's token hash and sealed token; false
// when there is no such gateway.
func (t *ptx) SetGatewayToken(ctx context.Context, id string, hash []byte, sealed string) (bool, error) {
	return affected(t.Exec(ctx, `UPDATE gateways SET token_hash = $1, token_sealed = $2 WHERE id = $3`, hash, sealed, id))
}

// SetGatewayDisabled disables or enables a gateway; false when there is none.
func (t *ptx) SetGatewayDisabled(ctx context.Context, id string, disabled bool) (bool, error) {
	return affected(t.Exec(ctx, `UPDATE gateways SET disabled = $1 WHERE id = $2`, disabled, id))
}

// UserByID returns a user, or ErrNoRow.
func (db *DB) UserByID(ctx context.Context, id string) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(db.pool.QueryRow(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE id = $1`, id))
	return u, engineErr(err)
}

// LoadUserByEmail returns the user with this email (in any case) and its password
// hash, or ErrNoRow.
func (db *DB) LoadUserByEmail(ctx context.Context, email string) (*fetchsms.User, string, error) {
	var hash string
	u, err := sqlrows.ScanUser(db.pool.QueryRow(ctx, `SELECT `+sqlrows.UserCols+`, password_hash FROM users WHERE lower(email) = lower($1)`, email), &hash)
	return u, hash, engineErr(err)
}

// ListUsers returns users newest first.
func (db *DB) ListUsers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.User, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.UserCols+`, seq FROM users WHERE seq < $1 AND ($3 = '' OR strpos(lower(email), $3) > 0) ORDER BY seq DESC LIMIT $2`, before, limit+1, p.Query)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanUserSeq)
	return out, next, engineErr(err)
}

// ListAPIKeys returns the user's keys, newest first, revoked ones included.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]*fetchsms.APIKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.APIKeyCols+` FROM api_keys WHERE user_id = $1 ORDER BY seq DESC LIMIT 500`, userID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanAPIKey)
	return out, engineErr(err)
}

// GatewaySecret returns the gateway's sealed token (” when none is kept) and
// whether it is disabled, or ErrNoRow.
func (db *DB) GatewaySecret(ctx context.Context, id string) (string, bool, error) {
	var sealed string
	var disabled bool
	err := db.pool.QueryRow(ctx, `SELECT token_sealed, disabled FROM gateways WHERE id = $1`, id).Scan(&sealed, &disabled)
	return sealed, disabled, engineErr(err)
}

// ListGateways returns every gateway, newest first.
func (db *DB) ListGateways(ctx context.Context) ([]*fetchsms.Gateway, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways ORDER BY seq DESC`)
	out, err := sqlrows.All(rows, err, sqlrows.ScanGateway)
	return out, engineErr(err)
}

// credentialQueries are Authenticate's lookups.
var credentialQueries = sqlrows.CredentialQueries("$1")

// LoadCredential returns the credential of kind whose token hash is hash, or ErrNoRow.
func (db *DB) LoadCredential(ctx context.Context, kind string, hash []byte) (*fetchsms.StoredCredential, error) {
	c, err := sqlrows.ScanCredential(kind, db.pool.QueryRow(ctx, credentialQueries[kind], hash))
	return c, engineErr(err)
}
