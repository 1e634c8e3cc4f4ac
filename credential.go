package fetchsms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// The account and credential rules: who may sign up, how a person logs in,
// which tokens are accepted, and how credentials end (the types are in
// account.go). A token is a random secret with its kind's prefix (NewToken); only
// its hash is stored. Passwords are hashed with argon2id here, before the
// transaction, never inside it. Times are wall time: the sandbox's clock does not
// move them. A step that ends or changes a credential announces
// CredentialsChanged after its commit, so that caches of resolved credentials
// drop them before the request is answered.

// NewToken returns a fresh secret with the given kind prefix: 32 random bytes
// (256 bits) in unpadded URL-safe base64.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a token: what is stored and looked up. Tokens carry
// 256 bits of entropy, so a fast hash is enough; passwords use argon2id instead.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenKind returns the credential kind a token's prefix names, or "".
func TokenKind(token string) string {
	switch {
	case strings.HasPrefix(token, PrefixAPIKey):
		return KindAPIKey
	case strings.HasPrefix(token, PrefixSession):
		return KindSession
	case strings.HasPrefix(token, PrefixGateway):
		return KindGateway
	}
	return ""
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
// Stored hashes carry their own parameters, so these can be raised later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash made by HashPassword,
// comparing in constant time. A malformed hash never matches.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ValidatePassword enforces the minimum password rules.
func ValidatePassword(p string) error {
	if len(p) < 8 {
		return Errorf(EUNPROCESSABLE, "password must be at least 8 characters")
	}
	if len(p) > 256 {
		return Errorf(EUNPROCESSABLE, "password must be at most 256 characters")
	}
	return nil
}

// ValidateEmail does a light syntactic check; the address is confirmed by use.
func ValidateEmail(e string) error {
	at := strings.LastIndexByte(e, '@')
	if len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>\"") || !strings.Contains(e[at:], ".") {
		return Errorf(EUNPROCESSABLE, "email must be a valid address such as dev@example.com")
	}
	return nil
}

// AccountTx writes accounts and credentials. A token is stored as the hash the
// App gives (HashToken), never in clear.
type AccountTx interface {
	// InsertUser stores u (ID set by the caller) with its password hash;
	// ErrDuplicate when the email is taken, in any case.
	InsertUser(ctx context.Context, u *User, passwordHash string) error
	// SetUserDisabled sets the user's flag and returns the user as it now is;
	// ErrNoRow when none.
	SetUserDisabled(ctx context.Context, id string, disabled bool) (*User, error)
	// InsertSession stores s (ID set by the caller) with its token's hash.
	InsertSession(ctx context.Context, s *Session, hash []byte) error
	// RevokeSession marks the session revoked at now, unless it already is.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// InsertAPIKey stores k (ID set by the caller) with its secret's hash.
	InsertAPIKey(ctx context.Context, k *APIKey, hash []byte) error
	// LockAPIKey reads the user's key, revoked or not, locking its row on
	// PostgreSQL; ErrNoRow when the user has no key with this id.
	LockAPIKey(ctx context.Context, userID, id string) (*APIKey, error)
	// RevokeAPIKey marks the key revoked at now.
	RevokeAPIKey(ctx context.Context, id string, now time.Time) error
	// InsertGateway stores g (ID set by the caller) with its token's hash and
	// the token sealed ("" when the server keeps none).
	InsertGateway(ctx context.Context, g *Gateway, hash []byte, sealed string) error
	// LockGatewayByName returns the oldest gateway with this name; ErrNoRow when
	// none. Transactions that ask for one name run one after the other to their
	// end (on PostgreSQL, an advisory lock on the name), so of two that find none,
	// the second sees the first's insert.
	LockGatewayByName(ctx context.Context, name string) (*Gateway, error)
	// SetGatewayToken replaces the gateway's token hash and sealed token; false
	// when there is no such gateway.
	SetGatewayToken(ctx context.Context, id string, hash []byte, sealed string) (bool, error)
	// SetGatewayDisabled disables or enables a gateway; false when there is none.
	SetGatewayDisabled(ctx context.Context, id string, disabled bool) (bool, error)
	// InsertAccountToken stores a password-reset or email-change token (ID set
	// by the caller) by its hash.
	InsertAccountToken(ctx context.Context, k *AccountToken, hash []byte) error
	// CountAccountTokens counts the user's tokens of a purpose made since a time.
	CountAccountTokens(ctx context.Context, userID, purpose string, since time.Time) (int, error)
	// TakeAccountToken marks the token of this purpose and hash used at now and
	// returns it, when it is unused and expires after now; ErrNoRow otherwise.
	// Of two transactions that take one token, one gets ErrNoRow.
	TakeAccountToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*AccountToken, error)
	// EndAccountTokens marks the user's unused tokens of a purpose used at now.
	EndAccountTokens(ctx context.Context, userID, purpose string, now time.Time) error
	// SetUserPassword replaces the user's password hash; ErrNoRow when none.
	SetUserPassword(ctx context.Context, id, passwordHash string) error
	// SetUserEmail replaces the user's email; ErrDuplicate when another account
	// has it in any case; ErrNoRow when no such user.
	SetUserEmail(ctx context.Context, id, email string) error
	// RevokeUserSessions revokes the user's live sessions at now, all but the
	// one with id keep ("" keeps none).
	RevokeUserSessions(ctx context.Context, userID, keep string, now time.Time) error
}

// StoredCredential is a credential as an engine finds it by its token's hash,
// live or not: the App decides whether it is accepted.
type StoredCredential struct {
	Kind      string // KindAPIKey, KindSession or KindGateway
	ID        string
	Hash      []byte
	RevokedAt time.Time // API keys and sessions: zero unless revoked
	ExpiresAt time.Time // sessions
	Disabled  bool      // gateways
	User      *User     // the owner of an API key or a session
	Gateway   *Gateway
}

// AccountStore is the engine side of accounts and credentials, outside a
// transaction.
type AccountStore interface {
	// UserByID returns a user; ErrNoRow when none.
	UserByID(ctx context.Context, id string) (*User, error)
	// LoadUserByEmail returns the user with this email, in any case, and its
	// password hash; ErrNoRow when none.
	LoadUserByEmail(ctx context.Context, email string) (*User, string, error)
	// ListUsers lists users newest first, and the cursor of the next page.
	ListUsers(ctx context.Context, p Page) ([]*User, int64, error)
	// ListAPIKeys lists the user's keys newest first (at most 500), revoked ones
	// included, without their secrets.
	ListAPIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// ListGateways lists every gateway newest first, without their tokens.
	ListGateways(ctx context.Context) ([]*Gateway, error)
	// GatewaySecret returns the gateway's sealed token ("" when none is kept)
	// and whether it is disabled; ErrNoRow when there is no such gateway.
	GatewaySecret(ctx context.Context, id string) (sealed string, disabled bool, err error)
	// LoadCredential returns the credential of kind whose token hash is hash;
	// ErrNoRow when none.
	LoadCredential(ctx context.Context, kind string, hash []byte) (*StoredCredential, error)
}

// credentialNow is wall time as stored (milliseconds), so an answer equals a
// later read of the same row.
func (a *App) credentialNow() time.Time { return a.wall.Now().Truncate(time.Millisecond).UTC() }

// CreateUser makes an account; an empty role is a customer. A malformed email
// or password, or another role, is EUNPROCESSABLE; a taken email (in any case)
// ECONFLICT.
func (a *App) CreateUser(ctx context.Context, email, password, role string) (*User, error) {
	email = strings.TrimSpace(email)
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	if role == "" {
		role = RoleCustomer
	}
	if role != RoleCustomer && role != RoleAdmin {
		return nil, Errorf(EUNPROCESSABLE, "role must be customer or admin")
	}
	u := &User{ID: NewID(), Email: email, Role: role, CreatedAt: a.credentialNow()}
	hash := HashPassword(password)
	err := a.update(ctx, "CreateUser", func(tx Tx) error {
		err := tx.InsertUser(ctx, u, hash)
		if errors.Is(err, ErrDuplicate) {
			return Errorf(ECONFLICT, "an account with this email already exists")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UserByID returns a user, or ENOTFOUND.
func (a *App) UserByID(ctx context.Context, id string) (*User, error) {
	u, err := a.Store.UserByID(ctx, id)
	return u, storageError("UserByID", err, "user not found")
}

// UserByEmail returns the user with this email (in any case), or ENOTFOUND.
func (a *App) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, _, err := a.Store.LoadUserByEmail(ctx, strings.TrimSpace(email))
	return u, storageError("UserByEmail", err, "user not found")
}

// SetUserDisabled disables or enables an account; a disabled account's sessions
// and API keys stop working at once, and it cannot log in. An unknown user is
// ENOTFOUND.
func (a *App) SetUserDisabled(ctx context.Context, id string, disabled bool) (*User, error) {
	var out *User
	err := a.update(ctx, "SetUserDisabled", func(tx Tx) error {
		u, err := tx.SetUserDisabled(ctx, id, disabled)
		if errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "user not found")
		}
		out = u
		return err
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{})
	return out, nil
}

// dummyHash is checked against when the email is unknown, made on first use.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a real password") })

// Login checks an email and a password and opens a session. A wrong email or
// password is EUNAUTHORIZED with one message for both, and takes as long either
// way; a disabled account (with the right password) is EFORBIDDEN.
func (a *App) Login(ctx context.Context, email, password string) (*User, *Session, error) {
	wrong := func() error { return Errorf(EUNAUTHORIZED, "wrong email or password") }
	u, hash, err := a.Store.LoadUserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, ErrNoRow) {
		// Spend the time of a real check, so timing does not tell which emails exist.
		CheckPassword(dummyHash(), password)
		return nil, nil, wrong()
	} else if err != nil {
		return nil, nil, storageError("Login", err, "")
	}
	// A disabled account says so whatever the password: answering 403 only to
	// the right one would confirm a guessed password.
	right := CheckPassword(hash, password)
	if u.Disabled {
		return nil, nil, Reasonf(EFORBIDDEN, ReasonAccountDisabled, "this account is disabled")
	}
	if !right {
		return nil, nil, wrong()
	}
	s, err := a.CreateSession(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, s, nil
}

// CreateSession opens a session of SessionLifetime for the user and returns it
// with its token (shown once).
func (a *App) CreateSession(ctx context.Context, userID string) (*Session, error) {
	now := a.credentialNow()
	s := &Session{ID: NewID(), UserID: userID, Token: NewToken(PrefixSession), CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}
	err := a.update(ctx, "CreateSession", func(tx Tx) error { return tx.InsertSession(ctx, s, HashToken(s.Token)) })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// RevokeSession ends a session (a logout); ending it again changes nothing.
func (a *App) RevokeSession(ctx context.Context, id string) error {
	now := a.credentialNow()
	if err := a.update(ctx, "RevokeSession", func(tx Tx) error { return tx.RevokeSession(ctx, id, now) }); err != nil {
		return err
	}
	a.publish(ctx, CredentialsChanged{})
	return nil
}

// badCredential is the one answer to every refused token, whatever the reason.
func badCredential() error {
	return Errorf(EUNAUTHORIZED, "invalid, expired or revoked credential")
}

// Authenticate resolves a bearer token of any kind to its principal. A token
// without a known prefix, too long, unknown, revoked, of a session past its
// expiry, of a disabled account or of a disabled gateway is EUNAUTHORIZED.
func (a *App) Authenticate(ctx context.Context, token string) (*Principal, error) {
	kind := TokenKind(token)
	if kind == "" || len(token) > 100 {
		return nil, badCredential()
	}
	h := HashToken(token)
	c, err := a.Store.LoadCredential(ctx, kind, h)
	if errors.Is(err, ErrNoRow) {
		return nil, badCredential()
	} else if err != nil {
		return nil, storageError("Authenticate", err, "")
	}
	if subtle.ConstantTimeCompare(c.Hash, h) != 1 || !c.RevokedAt.IsZero() || c.Disabled {
		return nil, badCredential()
	}
	if kind == KindGateway {
		return &Principal{Kind: kind, CredentialID: c.ID, Gateway: c.Gateway}, nil
	}
	if c.User == nil || c.User.Disabled || (kind == KindSession && !c.ExpiresAt.After(a.wall.Now())) {
		return nil, badCredential()
	}
	return &Principal{Kind: kind, CredentialID: c.ID, User: c.User}, nil
}

// validName checks the name of an API key or a gateway: 1–100 characters once
// trimmed.
func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", Errorf(EUNPROCESSABLE, "name is required (1–100 characters)")
	}
	return name, nil
}

func newAPIKey(userID, name string, now time.Time) *APIKey {
	key := NewToken(PrefixAPIKey)
	return &APIKey{ID: NewID(), UserID: userID, Name: name, Prefix: key[:12], CreatedAt: now, Key: key}
}

// CreateAPIKey makes a key for the user and returns it with its secret (shown
// once). A name that is empty or over 100 characters is EUNPROCESSABLE.
func (a *App) CreateAPIKey(ctx context.Context, userID, name string) (*APIKey, error) {
	name, err := validName(name)
	if err != nil {
		return nil, err
	}
	k := newAPIKey(userID, name, a.credentialNow())
	if err := a.update(ctx, "CreateAPIKey", func(tx Tx) error { return tx.InsertAPIKey(ctx, k, HashToken(k.Key)) }); err != nil {
		return nil, err
	}
	return k, nil
}

// RotateAPIKey revokes a live key of the user and makes a new one with the same
// name, in one transaction; the old secret stops working at once. Another user's
// key, or a revoked one, is ENOTFOUND: of two rotations of one key, one succeeds.
func (a *App) RotateAPIKey(ctx context.Context, userID, id string) (*APIKey, error) {
	now := a.credentialNow()
	var out *APIKey
	err := a.update(ctx, "RotateAPIKey", func(tx Tx) error {
		old, err := tx.LockAPIKey(ctx, userID, id)
		if errors.Is(err, ErrNoRow) || (err == nil && !old.RevokedAt.IsZero()) {
			return Errorf(ENOTFOUND, "API key not found")
		} else if err != nil {
			return err
		}
		if err := tx.RevokeAPIKey(ctx, id, now); err != nil {
			return err
		}
		out = newAPIKey(userID, old.Name, now)
		return tx.InsertAPIKey(ctx, out, HashToken(out.Key))
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{})
	return out, nil
}

// RevokeAPIKey revokes a key of the user; it stops working at once. Another
// user's key is ENOTFOUND; revoking twice is harmless and keeps the first time.
func (a *App) RevokeAPIKey(ctx context.Context, userID, id string) error {
	now := a.credentialNow()
	err := a.update(ctx, "RevokeAPIKey", func(tx Tx) error {
		k, err := tx.LockAPIKey(ctx, userID, id)
		if errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "API key not found")
		} else if err != nil || !k.RevokedAt.IsZero() {
			return err
		}
		return tx.RevokeAPIKey(ctx, id, now)
	})
	if err != nil {
		return err
	}
	a.publish(ctx, CredentialsChanged{})
	return nil
}

// CreateGateway makes a gateway and returns it with its token (shown once). A
// name that is empty or over 100 characters is EUNPROCESSABLE.
func (a *App) CreateGateway(ctx context.Context, name string) (*Gateway, error) {
	name, err := validName(name)
	if err != nil {
		return nil, err
	}
	g := &Gateway{ID: NewID(), Name: name, CreatedAt: a.credentialNow(), Token: NewToken(PrefixGateway)}
	g.Signs = a.secrets != nil
	if err := a.update(ctx, "CreateGateway", func(tx Tx) error {
		return tx.InsertGateway(ctx, g, HashToken(g.Token), a.sealGatewayToken(g.ID, g.Token))
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// EnsureGateway returns the gateway with this name, made when missing, with a
// fresh token (shown once): an existing gateway's old token stops working. For
// the sandbox's own SIM bank, whose token lives only in the server's memory;
// servers starting together on one database make one gateway.
func (a *App) EnsureGateway(ctx context.Context, name string) (*Gateway, error) {
	name, err := validName(name)
	if err != nil {
		return nil, err
	}
	token, now := NewToken(PrefixGateway), a.credentialNow()
	var out *Gateway
	replaced := false
	err = a.update(ctx, "EnsureGateway", func(tx Tx) error {
		g, err := tx.LockGatewayByName(ctx, name)
		if errors.Is(err, ErrNoRow) {
			out, replaced = &Gateway{ID: NewID(), Name: name, CreatedAt: now, Token: token, Signs: a.secrets != nil}, false
			return tx.InsertGateway(ctx, out, HashToken(token), a.sealGatewayToken(out.ID, token))
		} else if err != nil {
			return err
		}
		g.Token, g.Signs = token, a.secrets != nil
		out, replaced = g, true
		_, err = tx.SetGatewayToken(ctx, g.ID, HashToken(token), a.sealGatewayToken(g.ID, token))
		return err
	})
	if err != nil {
		return nil, err
	}
	if replaced {
		a.publish(ctx, CredentialsChanged{})
	}
	return out, nil
}
