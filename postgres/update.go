package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ptx is one transaction of the domain's atomic steps (pipetx.go).
type ptx struct {
	*pipeTx
	db      *DB
	queued  bool     // deliveries were queued: wake every server's worker after the commit
	debits  bool     // a Debit was queued: its refusal fails the transaction (refused)
	changed []string // verifications changed ("*": a service), for the caches (vcache.go)
}

var _ fetchsms.Tx = (*ptx)(nil)

// Update runs fn as one transaction, again (up to three times) when PostgreSQL
// aborts it on a deadlock or a serialization failure.
//
// What it did is announced to every server after the commit, in the commit's
// round trip (a NOTIFY of its own, outside the transaction): deliveries to send
// (their workers wake) and verifications changed (their caches drop them).
// Never inside the transaction: a transaction that NOTIFYs holds PostgreSQL's
// one notification lock from its commit record through its WAL flush, so every
// notifying transaction of the cluster would commit one at a time
// (docs/PERFORMANCE.md, "PostgreSQL"); a NOTIFY alone writes no WAL and waits
// for no flush. So a change is announced before Update returns, and a server
// that dies between a commit and its announcement leaves the other servers'
// workers to find the deliveries at their next poll (1 s) and their caches'
// entries to expire (vcacheTTL).
func (db *DB) Update(ctx context.Context, op string, fn func(fetchsms.Tx) error) error {
	var queued, debits bool
	var changed []string
	err := db.runPiped(ctx, func(p *pipeTx) error {
		t := &ptx{pipeTx: p, db: db}
		err := fn(t)
		queued, debits = t.queued, t.debits
		changed = append(changed, t.changed...) // every attempt's: a drop too many costs nothing
		if err == nil {
			if t.queued {
				p.After(`SELECT pg_notify($1, '')`, notifyChannel)
			}
			for _, ids := range vcachePayloads(t.changed) {
				p.After(`SELECT pg_notify($1, $2)`, vcacheChannel, ids)
			}
		}
		return err
	})
	// What this transaction changed leaves this server's cache before Update
	// returns (committed or not: when the commit's outcome is unknown, so is the row).
	for _, id := range changed {
		db.vc.drop(id)
	}
	if err == nil && queued {
		db.notify()
	}
	if debits && refused(err) {
		return fmt.Errorf("%w: %w", fetchsms.ErrDebitRefused, err)
	}
	return engineErr(err)
}

// engineErr classifies a driver's error as the domain's sentinels.
func engineErr(err error) error {
	return fetchsms.ClassifyEngineError(err, pgx.ErrNoRows, unavailable, isUnique)
}

// noRow turns "no rows" into ErrNoRow inside a transaction, where the domain
// decides what a missing row means.
func noRow(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fetchsms.ErrNoRow
	}
	return err
}

// ServiceByRef returns the enabled service whose id or slug is ref, or ErrNoRow,
// from this server's cache when it has it (vcache.go).
func (t *ptx) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return t.db.vc.service(strings.ToLower(strings.TrimSpace(ref)), func() (*fetchsms.Service, error) { return serviceByRef(ctx, t, ref) })
}

// ServiceByID returns a service, enabled or not, or ErrNoRow.
func (t *ptx) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(t.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1`, id))
	return s, noRow(err)
}

// affected tells whether a statement changed a row.
func affected(tag pgconn.CommandTag, err error) (bool, error) {
	return err == nil && tag.RowsAffected() > 0, err
}
