package fetchsms

import (
	"bytes"
	"context"

	"time"
)

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

// IdempotencyStore keeps Idempotency-Keys.
type IdempotencyStore interface {
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
		if now.Sub(rec.CreatedAt) < IdempotencyAbandonedAfter {
			return Errorf(ECONFLICT, "a request with this Idempotency-Key is still in progress; retry in a few seconds")
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
