package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Update runs fn as one transaction of the writer's batch (see tx) and returns
// once it is durable. Deliveries it queued wake the webhook worker.
func (db *DB) Update(ctx context.Context, op string, fn func(fetchsms.Tx) error) error {
	var queued bool
	err := db.write(ctx, func(t *wtx) error {
		t.queued = false
		err := fn(t)
		queued = t.queued
		return err
	})
	if err == nil && queued {
		db.notify()
	}
	return engineErr(err)
}

var _ fetchsms.Tx = (*wtx)(nil)

// engineErr classifies a driver's error as the domain's sentinels.
func engineErr(err error) error {
	if f := storageFault(err); f != nil {
		return fmt.Errorf("%w: %w", f, err)
	}
	return fetchsms.ClassifyEngineError(err, sql.ErrNoRows, func(err error) bool { return errors.Is(err, errStorageFailed) }, isUnique)
}

// noRow turns "no rows" into ErrNoRow, inside a transaction, where the domain
// decides what a missing row means.
func noRow(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fetchsms.ErrNoRow
	}
	return err
}

// ServiceByRef returns the enabled service ref names, from the writer's cache.
func (t *wtx) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return t.service(ctx, ref)
}

// ServiceByID returns a service, enabled or not, from the writer's cache.
func (t *wtx) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	return t.serviceByID(ctx, id)
}

// affected tells whether a statement changed a row.
func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
