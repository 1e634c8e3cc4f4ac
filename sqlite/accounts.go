package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// CreateUser makes an account with an argon2id password hash. A taken email is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, email, password, role string) (*fetchsms.User, error) {
	email = strings.TrimSpace(email)
	if err := fetchsms.ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := fetchsms.ValidatePassword(password); err != nil {
		return nil, err
	}
	if role == "" {
		role = fetchsms.RoleCustomer
	}
	if role != fetchsms.RoleCustomer && role != fetchsms.RoleAdmin {
		return nil, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "role must be customer or admin")
	}
	u := &fetchsms.User{ID: newID(), Email: email, Role: role, CreatedAt: db.RealClock.Now().Truncate(time.Millisecond)}
	hash := fetchsms.HashPassword(password)
	err := db.tx(ctx, "sqlite.CreateUser", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Email, hash, u.Role, sqlrows.Ms(u.CreatedAt))
		if isUnique(err) {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "an account with this email already exists")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UserByID returns the user, or ENOTFOUND.
func (db *DB) UserByID(ctx context.Context, id string) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, wrap("sqlite.UserByID", notFound(err, "user not found"))
	}
	return u, nil
}

// ListUsers returns users newest first.
func (db *DB) ListUsers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.User, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, `+sqlrows.UserCols+` FROM users WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.ListUsers", err)
	}
	defer rows.Close()
	var out []*fetchsms.User
	var seqs []int64
	for rows.Next() {
		var seq int64
		var u fetchsms.User
		var created int64
		if err := rows.Scan(&seq, &u.ID, &u.Email, &u.Role, &u.BalanceCents, &u.Disabled, &created); err != nil {
			return nil, 0, wrap("sqlite.ListUsers", err)
		}
		u.CreatedAt = sqlrows.FromMS(created)
		out = append(out, &u)
		seqs = append(seqs, seq)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	return out, next, wrap("sqlite.ListUsers", rows.Err())
}

// SetUserDisabled disables or re-enables an account; a disabled account's
// credentials stop working.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool) (*fetchsms.User, error) {
	err := db.tx(ctx, "sqlite.SetUserDisabled", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "user not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.UserByID(ctx, id)
}

func notFound(err error, msg string) error {
	if err == sql.ErrNoRows {
		return fetchsms.Errorf(fetchsms.ENOTFOUND, "%s", msg)
	}
	return err
}

// Login checks an email and password and opens a session. A wrong email or password
// is EUNAUTHORIZED with one message for both.
func (db *DB) Login(ctx context.Context, email, password string) (*fetchsms.User, *fetchsms.Session, error) {
	var hash string
	var id string
	err := db.rp.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email = ?`, strings.TrimSpace(email)).Scan(&id, &hash)
	if err == sql.ErrNoRows {
		// Spend the same time as a real check so timing does not reveal which emails exist.
		fetchsms.CheckPassword(dummyHash(), password)
		return nil, nil, fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "wrong email or password")
	}
	if err != nil {
		return nil, nil, wrap("sqlite.Login", err)
	}
	if !fetchsms.CheckPassword(hash, password) {
		return nil, nil, fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "wrong email or password")
	}
	u, err := db.UserByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, fetchsms.Errorf(fetchsms.EFORBIDDEN, "this account is disabled")
	}
	s, err := db.CreateSession(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, s, nil
}

// dummyHash is checked against when the email is unknown, made on first use.
var dummyHash = sync.OnceValue(func() string { return fetchsms.HashPassword("not a real password") })

// CreateSession opens a session for the user and returns it with its token.
func (db *DB) CreateSession(ctx context.Context, userID string) (*fetchsms.Session, error) {
	now := db.RealClock.Now()
	s := &fetchsms.Session{ID: newID(), UserID: userID, Token: fetchsms.NewToken(fetchsms.PrefixSession), CreatedAt: now, ExpiresAt: now.Add(fetchsms.SessionLifetime)}
	err := db.tx(ctx, "sqlite.CreateSession", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			s.ID, userID, fetchsms.HashToken(s.Token), sqlrows.Ms(now), sqlrows.Ms(s.ExpiresAt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// RevokeSession ends a session.
func (db *DB) RevokeSession(ctx context.Context, id string) error {
	return db.tx(ctx, "sqlite.RevokeSession", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, sqlrows.Ms(db.RealClock.Now()), id)
		return err
	})
}

var errBadCredential = fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "invalid, expired or revoked credential")

// Authenticate resolves a bearer token of any kind to its principal. A missing,
// unknown, expired or revoked token, or one of a disabled account, is EUNAUTHORIZED.
func (db *DB) Authenticate(ctx context.Context, token string) (*fetchsms.Principal, error) {
	kind := fetchsms.TokenKind(token)
	if kind == "" || len(token) > 100 {
		return nil, errBadCredential
	}
	h := fetchsms.HashToken(token)
	now := sqlrows.Ms(db.RealClock.Now())
	var stored []byte
	switch kind {
	case fetchsms.KindAPIKey, fetchsms.KindSession:
		// The values are bound as +? (the same value, as an expression): for a join
		// SQLite's planner otherwise peeks at bound values, and the statement, prepared
		// once, would be re-prepared at every new binding.
		q := `SELECT k.id, k.hash, u.id, u.email, u.role, u.balance_cents, u.disabled, u.created_at
			     FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = +? AND k.revoked_at IS NULL`
		args := []any{h}
		if kind == fetchsms.KindSession {
			q = `SELECT s.id, s.hash, u.id, u.email, u.role, u.balance_cents, u.disabled, u.created_at
			     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = +? AND s.revoked_at IS NULL AND s.expires_at > +?`
			args = append(args, now)
		}
		var p fetchsms.Principal
		var u fetchsms.User
		var created int64
		err := db.rp.QueryRowContext(ctx, q, args...).Scan(&p.CredentialID, &stored, &u.ID, &u.Email, &u.Role, &u.BalanceCents, &u.Disabled, &created)
		if err == sql.ErrNoRows {
			return nil, errBadCredential
		}
		if err != nil {
			return nil, wrap("sqlite.Authenticate", err)
		}
		if subtle.ConstantTimeCompare(stored, h) != 1 {
			return nil, errBadCredential
		}
		if u.Disabled {
			return nil, errBadCredential
		}
		u.CreatedAt = sqlrows.FromMS(created)
		p.Kind = kind
		p.User = &u
		return &p, nil
	default:
		var g fetchsms.Gateway
		var created int64
		err := db.rp.QueryRowContext(ctx, `SELECT id, name, token_hash, created_at FROM gateways WHERE token_hash = ? AND disabled = 0`, h).
			Scan(&g.ID, &g.Name, &stored, &created)
		if err == sql.ErrNoRows {
			return nil, errBadCredential
		}
		if err != nil {
			return nil, wrap("sqlite.Authenticate", err)
		}
		if subtle.ConstantTimeCompare(stored, h) != 1 {
			return nil, errBadCredential
		}
		g.CreatedAt = sqlrows.FromMS(created)
		return &fetchsms.Principal{Kind: kind, CredentialID: g.ID, Gateway: &g}, nil
	}
}

func itoa(v int64) string {
	var b [24]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// CreateAPIKey makes a key for the user and returns it with its secret (shown once).
func (db *DB) CreateAPIKey(ctx context.Context, userID, name string) (*fetchsms.APIKey, error) {
	k := newAPIKey(userID, name, db.RealClock.Now())
	err := db.tx(ctx, "sqlite.CreateAPIKey", func(tx *wtx) error {
		return insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

func newAPIKey(userID, name string, now time.Time) *fetchsms.APIKey {
	key := fetchsms.NewToken(fetchsms.PrefixAPIKey)
	return &fetchsms.APIKey{ID: newID(), UserID: userID, Name: name, Prefix: key[:12], CreatedAt: now.Truncate(time.Millisecond), Key: key}
}

func insertAPIKey(ctx context.Context, tx *wtx, k *fetchsms.APIKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Prefix, fetchsms.HashToken(k.Key), sqlrows.Ms(k.CreatedAt))
	return err
}

// ListAPIKeys returns the user's keys, newest first, revoked ones included.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]*fetchsms.APIKey, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT id, name, prefix, created_at, revoked_at, last_used_at FROM api_keys WHERE user_id = ? ORDER BY seq DESC LIMIT 500`, userID)
	if err != nil {
		return nil, wrap("sqlite.ListAPIKeys", err)
	}
	defer rows.Close()
	var out []*fetchsms.APIKey
	for rows.Next() {
		k := &fetchsms.APIKey{UserID: userID}
		var created int64
		var revoked, used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &created, &revoked, &used); err != nil {
			return nil, wrap("sqlite.ListAPIKeys", err)
		}
		k.CreatedAt, k.RevokedAt, k.LastUsedAt = sqlrows.FromMS(created), sqlrows.FromNullMS(revoked), sqlrows.FromNullMS(used)
		out = append(out, k)
	}
	return out, wrap("sqlite.ListAPIKeys", rows.Err())
}

// RotateAPIKey revokes a live key of the user and makes a new one with the same
// name, in one transaction. Another user's key, or a revoked one, is ENOTFOUND.
func (db *DB) RotateAPIKey(ctx context.Context, userID, id string) (*fetchsms.APIKey, error) {
	var k *fetchsms.APIKey
	now := db.RealClock.Now()
	err := db.tx(ctx, "sqlite.RotateAPIKey", func(tx *wtx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, id, userID).Scan(&name)
		if err != nil {
			return notFound(err, "API key not found")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, sqlrows.Ms(now), id); err != nil {
			return err
		}
		k = newAPIKey(userID, name, now)
		return insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// RevokeAPIKey revokes a key of the user. Another user's key is ENOTFOUND; revoking
// twice is harmless.
func (db *DB) RevokeAPIKey(ctx context.Context, userID, id string) error {
	return db.tx(ctx, "sqlite.RevokeAPIKey", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND user_id = ?`, sqlrows.Ms(db.RealClock.Now()), id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "API key not found")
		}
		return nil
	})
}

// CreateGateway makes a gateway and returns it with its token (shown once).
func (db *DB) CreateGateway(ctx context.Context, name string) (*fetchsms.Gateway, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "name is required (1–100 characters)")
	}
	g := &fetchsms.Gateway{ID: newID(), Name: name, CreatedAt: db.RealClock.Now().Truncate(time.Millisecond), Token: fetchsms.NewToken(fetchsms.PrefixGateway)}
	err := db.tx(ctx, "sqlite.CreateGateway", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gateways (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`, g.ID, g.Name, fetchsms.HashToken(g.Token), sqlrows.Ms(g.CreatedAt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ListGateways returns every gateway, newest first.
func (db *DB) ListGateways(ctx context.Context) ([]*fetchsms.Gateway, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT id, name, created_at FROM gateways ORDER BY seq DESC`)
	if err != nil {
		return nil, wrap("sqlite.ListGateways", err)
	}
	defer rows.Close()
	var out []*fetchsms.Gateway
	for rows.Next() {
		var g fetchsms.Gateway
		var created int64
		if err := rows.Scan(&g.ID, &g.Name, &created); err != nil {
			return nil, wrap("sqlite.ListGateways", err)
		}
		g.CreatedAt = sqlrows.FromMS(created)
		out = append(out, &g)
	}
	return out, wrap("sqlite.ListGateways", rows.Err())
}

// EnsureGateway returns the gateway with this name, creating it when missing, with
// a fresh token: the old token stops working. For the sandbox's own SIM bank, whose
// token lives only in the server's memory.
func (db *DB) EnsureGateway(ctx context.Context, name string) (*fetchsms.Gateway, error) {
	g := &fetchsms.Gateway{Name: name, Token: fetchsms.NewToken(fetchsms.PrefixGateway), CreatedAt: db.RealClock.Now()}
	err := db.tx(ctx, "sqlite.EnsureGateway", func(tx *wtx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM gateways WHERE name = ? ORDER BY seq LIMIT 1`, name).Scan(&g.ID)
		if err == sql.ErrNoRows {
			g.ID = newID()
			_, err = tx.ExecContext(ctx, `INSERT INTO gateways (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`, g.ID, name, fetchsms.HashToken(g.Token), sqlrows.Ms(g.CreatedAt))
			return err
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE gateways SET token_hash = ? WHERE id = ?`, fetchsms.HashToken(g.Token), g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UserByEmail returns the user with this email, or ENOTFOUND.
func (db *DB) UserByEmail(ctx context.Context, email string) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE email = ?`, email))
	if err != nil {
		return nil, wrap("sqlite.UserByEmail", notFound(err, "user not found"))
	}
	return u, nil
}
