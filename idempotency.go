package fetchsms

import (
	"bytes"
	"context"

	"time"
)

// IdempotencyTx keeps Idempotency-Keys, and records which resource a request run
// under one touched.
type IdempotencyTx interface {
	IdempotencyKeysTx
	// SetIdempotentResource records the resource; ErrNoRow when the key is
	// gone (its run must then not commit).
	SetIdempotentResource(ctx context.Context, userID, key, resourceID string) error
}

// Idempotency-Key rules: a key is kept IdempotencyWindow per account; a retry with
// the same key and body gets the first answer again; the same key with another
// body is EUNPROCESSABLE; while the first run goes on, ECONFLICT; a run abandoned
// (its server died) for IdempotencyAbandonedAfter is looked at again: if its change
// committed, the retry answers with that resource, otherwise it runs.

// IdempotencyRecord is a stored key, as an engine reads it.
type IdempotencyRecord struct {
	Hash       []byte
	ResourceID string // the resource its run changed, once committed
	Status     int    // the answer's status; 0 while it runs
	Response   []byte
	CreatedAt  time.Time
}

// IdempotencyStore forgets old Idempotency-Keys.
type IdempotencyStore interface {
	// PurgeIdempotencyBefore forgets the keys created before a time.
	PurgeIdempotencyBefore(ctx context.Context, before time.Time) (int64, error)
}

// IdempotencyKeysTx keeps Idempotency-Keys inside a transaction.
type IdempotencyKeysTx interface {
	// ClaimIdempotencyKey inserts the key unless it exists (claimed true), else
	// returns it as stored, locked on PostgreSQL to the end of the transaction.
	ClaimIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) (claimed bool, rec *IdempotencyRecord, err error)
	// ResetIdempotencyKey starts the key afresh for a request with hash.
	ResetIdempotencyKey(ctx context.Context, userID, key string, hash []byte, now time.Time) error
	// FinishIdempotencyKey stores the answer.
	FinishIdempotencyKey(ctx context.Context, userID, key string, status int, response []byte) error
	// DropIdempotencyKey forgets a key whose run changed nothing.
	DropIdempotencyKey(ctx context.Context, userID, key string) error
}

// BeginIdempotent claims key for a request with this hash. It returns (nil, nil)
// when the caller should run the request (and then call FinishIdempotent), the
// stored answer to replay, or: ECONFLICT while another request with the key runs;
// EUNPROCESSABLE when the key was used for a different request. Of two requests
// with one key, on any servers, exactly one claims it and runs.
func (a *App) BeginIdempotent(ctx context.Context, userID, key string, hash []byte) (*Idempotency, error) {
	now := a.wall.Now()
	var out *Idempotency
	err := a.update(ctx, "BeginIdempotent", func(tx Tx) error {
		out = nil
		claimed, rec, err := tx.ClaimIdempotencyKey(ctx, userID, key, hash, now)
		if err != nil || claimed {
			return err
		}
		if now.Sub(rec.CreatedAt) > IdempotencyWindow {
			return tx.ResetIdempotencyKey(ctx, userID, key, hash, now)
		}
		if !bytes.Equal(rec.Hash, hash) {
			return Errorf(EUNPROCESSABLE, "this Idempotency-Key was already used with a different request; use a new key for a new request")
		}
		if rec.Status != 0 {
			out = &Idempotency{Replay: true, Status: rec.Status, Response: rec.Response}
			return nil
		}
		if age := now.Sub(rec.CreatedAt); age < IdempotencyAbandonedAfter {
			e := Errorf(ECONFLICT, "a request with this Idempotency-Key is still in progress; retry in a few seconds")
			e.RetryAfter = idempotentRetryAfter(age)
			return e
		}
		// The earlier run was abandoned. If its change committed, answer with the
		// resource; if not, this request takes the key over and runs.
		if rec.ResourceID != "" {
			out = &Idempotency{ResourceID: rec.ResourceID}
			return nil
		}
		return tx.ResetIdempotencyKey(ctx, userID, key, hash, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishIdempotent stores the answer of a request run under key; a status of 500
// or more forgets the key instead, so a retry runs again (such answers change
// nothing).
func (a *App) FinishIdempotent(ctx context.Context, userID, key string, status int, response []byte) error {
	return a.update(ctx, "FinishIdempotent", func(tx Tx) error {
		if status >= 500 {
			return tx.DropIdempotencyKey(ctx, userID, key)
		}
		return tx.FinishIdempotencyKey(ctx, userID, key, status, response)
	})
}

// PurgeIdempotency forgets keys older than the window.
func (a *App) PurgeIdempotency(ctx context.Context) (int64, error) {
	n, err := a.Store.PurgeIdempotencyBefore(ctx, a.wall.Now().Add(-IdempotencyWindow))
	return n, storageError("PurgeIdempotency", err, "")
}

// idempotentRetryAfter is the pause advised to a retry that found the first run
// of its key still going after age: a second while the run is young (a request
// normally ends well within IdempotencyBusyFor); after that the run is waiting on
// storage to store its answer (see web's finishLater), which ends as soon as the
// storage is back, or the run counts as abandoned at IdempotencyAbandonedAfter:
// the time left until then, at most IdempotencyBusyFor, so that a retry neither
// spins nor sleeps past the answer.
func idempotentRetryAfter(age time.Duration) time.Duration {
	if age < IdempotencyBusyFor {
		return time.Second
	}
	left := (IdempotencyAbandonedAfter - age + time.Second - 1).Truncate(time.Second)
	return max(time.Second, min(left, IdempotencyBusyFor))
}

// IdempotencyBusyFor is how long a request under a key normally runs at most;
// a retry sooner than that is advised to wait a second.
const IdempotencyBusyFor = 5 * time.Second

// IdempotencyWindow is how long an idempotency key is remembered.
const IdempotencyWindow = 48 * time.Hour

// IdempotencyAbandonedAfter is how long a request may run before a retry with its
// key may look at what it left behind (the server died, or the client went away).
const IdempotencyAbandonedAfter = 30 * time.Second

// Idempotency is the state of one key, as BeginIdempotent found it.
type Idempotency struct {
	// Replay is set when the key already has an answer: Status and Response.
	Replay   bool
	Status   int
	Response []byte
	// ResourceID is set when an earlier run of the request committed its change but
	// died before storing the answer: the caller renders the resource instead.
	ResourceID string
}

type idemKey struct{}

type idemScope struct{ userID, key string }

// WithIdempotency marks ctx so that the purchase or cancel run under it records,
// in its own transaction, the resource it touched against the key.
func WithIdempotency(ctx context.Context, userID, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, idemScope{userID, key})
}

// IdempotencyScope returns the key that ctx runs under, if any.
func IdempotencyScope(ctx context.Context) (userID, key string, ok bool) {
	sc, ok := ctx.Value(idemKey{}).(idemScope)
	return sc.userID, sc.key, ok
}
