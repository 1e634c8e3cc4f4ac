package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// Accounts and credentials: the statements of fetchsms.AccountTx and the reads
// of fetchsms.AccountStore. Emails compare without case (the column is COLLATE
// NOCASE); tokens are stored as the hashes the App gives.

// InsertUser stores u; a taken email is a unique violation (ErrDuplicate).
func (t *wtx) InsertUser(ctx context.Context, u *fetchsms.User, passwordHash string) error {
	_, err := t.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Email, passwordHash, u.Role, sqlrows.Ms(u.CreatedAt))
	return engineErr(err)
}

// SetUserDisabled sets the flag and returns the user, or ErrNoRow.
func (t *wtx) SetUserDisabled(ctx context.Context, id string, disabled bool) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(t.QueryRowContext(ctx, `UPDATE users SET disabled = ? WHERE id = ? RETURNING `+sqlrows.UserCols, disabled, id))
	return u, noRow(err)
}

// InsertSession stores s with its token's hash.
func (t *wtx) InsertSession(ctx context.Context, s *fetchsms.Session, hash []byte) error {
	_, err := t.ExecContext(ctx, `INSERT INTO sessions (id, user_id, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		s.ID, s.UserID, hash, sqlrows.Ms(s.CreatedAt), sqlrows.Ms(s.ExpiresAt))
	return err
}

// RevokeSession marks a live session revoked.
func (t *wtx) RevokeSession(ctx context.Context, id string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, sqlrows.Ms(now), id)
	return err
}

// InsertAPIKey stores k with its secret's hash.
func (t *wtx) InsertAPIKey(ctx context.Context, k *fetchsms.APIKey, hash []byte) error {
	_, err := t.ExecContext(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Prefix, hash, sqlrows.Ms(k.CreatedAt))
	return err
}

// LockAPIKey reads the user's key inside the writer's transaction, which no
// other writer interleaves with; ErrNoRow when none.
func (t *wtx) LockAPIKey(ctx context.Context, userID, id string) (*fetchsms.APIKey, error) {
	k, err := sqlrows.ScanAPIKey(t.QueryRowContext(ctx, `SELECT `+sqlrows.APIKeyCols+` FROM api_keys WHERE id = ? AND user_id = ?`, id, userID))
	return k, noRow(err)
}

// RevokeAPIKey marks the key revoked at now.
func (t *wtx) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, sqlrows.Ms(now), id)
	return err
}

// InsertGateway stores g with its token's hash and its sealed token.
func (t *wtx) InsertGateway(ctx context.Context, g *fetchsms.Gateway, hash []byte, sealed string) error {
	_, err := t.ExecContext(ctx, `INSERT INTO gateways (id, name, token_hash, token_sealed, created_at) VALUES (?, ?, ?, ?, ?)`, g.ID, g.Name, hash, sealed, sqlrows.Ms(g.CreatedAt))
	return err
}

// LockGatewayByName returns the oldest gateway with this name, or ErrNoRow. The
// writer is alone: no other transaction inserts one until this one ends.
func (t *wtx) LockGatewayByName(ctx context.Context, name string) (*fetchsms.Gateway, error) {
	g, err := sqlrows.ScanGateway(t.QueryRowContext(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways WHERE name = ? ORDER BY seq LIMIT 1`, name))
	return g, noRow(err)
}

// SetGatewayToken replaces the gateway's token hash and sealed token; false
// when there is no such gateway.
func (t *wtx) SetGatewayToken(ctx context.Context, id string, hash []byte, sealed string) (bool, error) {
	return affected(t.ExecContext(ctx, `UPDATE gateways SET token_hash = ?, token_sealed = ? WHERE id = ?`, hash, sealed, id))
}

// SetGatewayDisabled disables or enables a gateway; false when there is none.
func (t *wtx) SetGatewayDisabled(ctx context.Context, id string, disabled bool) (bool, error) {
	return affected(t.ExecContext(ctx, `UPDATE gateways SET disabled = ? WHERE id = ?`, disabled, id))
}

// UserByID returns a user, or ErrNoRow.
func (db *DB) UserByID(ctx context.Context, id string) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE id = ?`, id))
	return u, engineErr(err)
}

// LoadUserByEmail returns the user with this email and its password hash, or ErrNoRow.
func (db *DB) LoadUserByEmail(ctx context.Context, email string) (*fetchsms.User, string, error) {
	var hash string
	u, err := sqlrows.ScanUser(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.UserCols+`, password_hash FROM users WHERE email = ?`, email), &hash)
	return u, hash, engineErr(err)
}

// ListUsers returns users newest first.
func (db *DB) ListUsers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.User, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.UserCols+`, seq FROM users WHERE seq < ? AND (? = '' OR instr(lower(email), ?) > 0) ORDER BY seq DESC LIMIT ?`, before, p.Query, p.Query, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanUserSeq)
	return out, next, engineErr(err)
}

// ListAPIKeys returns the user's keys, newest first, revoked ones included.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]*fetchsms.APIKey, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.APIKeyCols+` FROM api_keys WHERE user_id = ? ORDER BY seq DESC LIMIT 500`, userID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanAPIKey)
	return out, engineErr(err)
}

// GatewaySecret returns the gateway's sealed token (” when none is kept) and
// whether it is disabled, or ErrNoRow.
func (db *DB) GatewaySecret(ctx context.Context, id string) (string, bool, error) {
	var sealed string
	var disabled bool
	err := db.rp.QueryRowContext(ctx, `SELECT token_sealed, disabled FROM gateways WHERE id = ?`, id).Scan(&sealed, &disabled)
	return sealed, disabled, engineErr(err)
}

// ListGateways returns every gateway, newest first.
func (db *DB) ListGateways(ctx context.Context) ([]*fetchsms.Gateway, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.GatewayCols+` FROM gateways ORDER BY seq DESC`)
	out, err := sqlrows.All(rows, err, sqlrows.ScanGateway)
	return out, engineErr(err)
}

// credentialQueries are Authenticate's lookups. They bind the hash as +? (the
// same value, as an expression): for a join SQLite's planner otherwise peeks at
// the bound value, and the statement, prepared once, would be prepared again at
// every new binding.
var credentialQueries = sqlrows.CredentialQueries("+?")

// LoadCredential returns the credential of kind whose token hash is hash, or ErrNoRow.
func (db *DB) LoadCredential(ctx context.Context, kind string, hash []byte) (*fetchsms.StoredCredential, error) {
	c, err := sqlrows.ScanCredential(kind, db.rp.QueryRowContext(ctx, credentialQueries[kind], hash))
	return c, engineErr(err)
}
