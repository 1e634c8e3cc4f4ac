package postgres

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// CreateUser makes an account with an argon2id password hash. A taken email (in
// any case) is ECONFLICT.
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
	err := db.tx(ctx, "postgres.CreateUser", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)`,
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
	u, err := sqlrows.ScanUser(db.pool.QueryRow(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("postgres.UserByID", notFound(err, "user not found"))
	}
	return u, nil
}

// UserByEmail returns the user with this email (in any case), or ENOTFOUND.
func (db *DB) UserByEmail(ctx context.Context, email string) (*fetchsms.User, error) {
	u, err := sqlrows.ScanUser(db.pool.QueryRow(ctx, `SELECT `+sqlrows.UserCols+` FROM users WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return nil, wrap("postgres.UserByEmail", notFound(err, "user not found"))
	}
	return u, nil
}

// ListUsers returns users newest first.
func (db *DB) ListUsers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.User, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT seq, `+sqlrows.UserCols+` FROM users WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.ListUsers", err)
	}
	defer rows.Close()
	var out []*fetchsms.User
	var seqs []int64
	for rows.Next() {
		var seq int64
		var u fetchsms.User
		var created int64
		if err := rows.Scan(&seq, &u.ID, &u.Email, &u.Role, &u.BalanceCents, &u.Disabled, &created); err != nil {
			return nil, 0, wrap("postgres.ListUsers", err)
		}
		u.CreatedAt = sqlrows.FromMS(created)
		out = append(out, &u)
		seqs = append(seqs, seq)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	return out, next, wrap("postgres.ListUsers", rows.Err())
}

// SetUserDisabled disables or re-enables an account; a disabled account's
// credentials stop working. An unknown user is ENOTFOUND.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool) (*fetchsms.User, error) {
	err := db.tx(ctx, "postgres.SetUserDisabled", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "user not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.UserByID(ctx, id)
}

// Login checks an email and password and opens a session. A wrong email or password
// is EUNAUTHORIZED with one message for both; a disabled account EFORBIDDEN.
func (db *DB) Login(ctx context.Context, email, password string) (*fetchsms.User, *fetchsms.Session, error) {
	var hash, id string
	err := db.pool.QueryRow(ctx, `SELECT id, password_hash FROM users WHERE lower(email) = lower($1)`, strings.TrimSpace(email)).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the same time as a real check so timing does not reveal which emails exist.
		fetchsms.CheckPassword(dummyHash(), password)
		return nil, nil, fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "wrong email or password")
	}
	if err != nil {
		return nil, nil, wrap("postgres.Login", err)
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
	err := db.tx(ctx, "postgres.CreateSession", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
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
	return db.tx(ctx, "postgres.RevokeSession", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, sqlrows.Ms(db.RealClock.Now()), id)
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
	var stored []byte
	switch kind {
	case fetchsms.KindAPIKey, fetchsms.KindSession:
		var row pgx.Row
		if kind == fetchsms.KindAPIKey {
			row = db.pool.QueryRow(ctx, `SELECT k.id, k.hash, u.id, u.email, u.role, u.balance_cents, u.disabled, u.created_at
			     FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = $1 AND k.revoked_at IS NULL`, h)
		} else {
			row = db.pool.QueryRow(ctx, `SELECT s.id, s.hash, u.id, u.email, u.role, u.balance_cents, u.disabled, u.created_at
			     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2`, h, sqlrows.Ms(db.RealClock.Now()))
		}
		var p fetchsms.Principal
		var u fetchsms.User
		var created int64
		err := row.Scan(&p.CredentialID, &stored, &u.ID, &u.Email, &u.Role, &u.BalanceCents, &u.Disabled, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errBadCredential
		}
		if err != nil {
			return nil, wrap("postgres.Authenticate", err)
		}
		if subtle.ConstantTimeCompare(stored, h) != 1 || u.Disabled {
			return nil, errBadCredential
		}
		u.CreatedAt = sqlrows.FromMS(created)
		p.Kind = kind
		p.User = &u
		return &p, nil
	default:
		var g fetchsms.Gateway
		var created int64
		err := db.pool.QueryRow(ctx, `SELECT id, name, token_hash, created_at FROM gateways WHERE token_hash = $1 AND NOT disabled`, h).
			Scan(&g.ID, &g.Name, &stored, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errBadCredential
		}
		if err != nil {
			return nil, wrap("postgres.Authenticate", err)
		}
		if subtle.ConstantTimeCompare(stored, h) != 1 {
			return nil, errBadCredential
		}
		g.CreatedAt = sqlrows.FromMS(created)
		return &fetchsms.Principal{Kind: kind, CredentialID: g.ID, Gateway: &g}, nil
	}
}

// CreateAPIKey makes a key for the user and returns it with its secret (shown once).
func (db *DB) CreateAPIKey(ctx context.Context, userID, name string) (*fetchsms.APIKey, error) {
	k := newAPIKey(userID, name, db.RealClock.Now())
	err := db.tx(ctx, "postgres.CreateAPIKey", func(tx pgx.Tx) error {
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

func insertAPIKey(ctx context.Context, tx pgx.Tx, k *fetchsms.APIKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.UserID, k.Name, k.Prefix, fetchsms.HashToken(k.Key), sqlrows.Ms(k.CreatedAt))
	return err
}

// ListAPIKeys returns the user's keys, newest first, revoked ones included.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]*fetchsms.APIKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, prefix, created_at, revoked_at, last_used_at FROM api_keys WHERE user_id = $1 ORDER BY seq DESC LIMIT 500`, userID)
	if err != nil {
		return nil, wrap("postgres.ListAPIKeys", err)
	}
	defer rows.Close()
	var out []*fetchsms.APIKey
	for rows.Next() {
		k := &fetchsms.APIKey{UserID: userID}
		var created int64
		var revoked, used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &created, &revoked, &used); err != nil {
			return nil, wrap("postgres.ListAPIKeys", err)
		}
		k.CreatedAt, k.RevokedAt, k.LastUsedAt = sqlrows.FromMS(created), sqlrows.FromNullMS(revoked), sqlrows.FromNullMS(used)
		out = append(out, k)
	}
	return out, wrap("postgres.ListAPIKeys", rows.Err())
}

// RotateAPIKey revokes a live key of the user and makes a new one with the same
// name, in one transaction. Another user's key, or a revoked one, is ENOTFOUND.
func (db *DB) RotateAPIKey(ctx context.Context, userID, id string) (*fetchsms.APIKey, error) {
	var k *fetchsms.APIKey
	now := db.RealClock.Now()
	err := db.tx(ctx, "postgres.RotateAPIKey", func(tx pgx.Tx) error {
		// The guard on revoked_at makes two concurrent rotations of one key yield
		// one new key: the second finds it revoked.
		var name string
		err := tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL RETURNING name`, sqlrows.Ms(now), id, userID).Scan(&name)
		if err != nil {
			return notFound(err, "API key not found")
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
	return db.tx(ctx, "postgres.RevokeAPIKey", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3`, sqlrows.Ms(db.RealClock.Now()), id, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	err := db.tx(ctx, "postgres.CreateGateway", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO gateways (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)`, g.ID, g.Name, fetchsms.HashToken(g.Token), sqlrows.Ms(g.CreatedAt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ListGateways returns every gateway, newest first.
func (db *DB) ListGateways(ctx context.Context) ([]*fetchsms.Gateway, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, created_at FROM gateways ORDER BY seq DESC`)
	if err != nil {
		return nil, wrap("postgres.ListGateways", err)
	}
	defer rows.Close()
	var out []*fetchsms.Gateway
	for rows.Next() {
		var g fetchsms.Gateway
		var created int64
		if err := rows.Scan(&g.ID, &g.Name, &created); err != nil {
			return nil, wrap("postgres.ListGateways", err)
		}
		g.CreatedAt = sqlrows.FromMS(created)
		out = append(out, &g)
	}
	return out, wrap("postgres.ListGateways", rows.Err())
}

// EnsureGateway returns the gateway with this name, creating it when missing, with
// a fresh token: the old token stops working. For the sandbox's own SIM bank, whose
// token lives only in the server's memory. Servers starting together serialise on
// a transaction-scoped advisory lock on the name, so they make one gateway.
func (db *DB) EnsureGateway(ctx context.Context, name string) (*fetchsms.Gateway, error) {
	g := &fetchsms.Gateway{Name: name, Token: fetchsms.NewToken(fetchsms.PrefixGateway), CreatedAt: db.RealClock.Now()}
	err := db.tx(ctx, "postgres.EnsureGateway", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gateway:' || $1))`, name); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT id FROM gateways WHERE name = $1 ORDER BY seq LIMIT 1`, name).Scan(&g.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			g.ID = newID()
			_, err = tx.Exec(ctx, `INSERT INTO gateways (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)`, g.ID, name, fetchsms.HashToken(g.Token), sqlrows.Ms(g.CreatedAt))
			return err
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE gateways SET token_hash = $1 WHERE id = $2`, fetchsms.HashToken(g.Token), g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
