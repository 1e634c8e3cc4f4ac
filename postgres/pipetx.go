package postgres

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeTx is one domain transaction (Update) on a pooled connection, sent to
// PostgreSQL in as few round trips as its steps allow, with pgx's batches:
//
//   - BEGIN travels with the first statement;
//   - a write whose result no step reads (Defer: freeing a number, an event's
//     rows) waits and travels with the next statement;
//   - COMMIT travels with the writes still waiting, and the NOTIFYs that
//     announce the transaction to the other servers follow it in the same
//     round trip (they run after the commit, outside the transaction).
//
// The order of the statements is the order of the steps; only the waiting for
// answers is saved. A deferred write that fails fails the statement it travels
// with (or the commit), so the step sees an error and the transaction is
// rolled back whole, as before. Each round trip costs a wake-up, a read and a
// write on both sides; on a busy database server that is the larger part of a
// short statement's cost (docs/PERFORMANCE.md, "PostgreSQL").
type pipeTx struct {
	conn     *pgxpool.Conn
	batch    *pgx.Batch // queued, not yet sent: BEGIN, then deferred writes (nil: none)
	begun    bool       // BEGIN is queued or sent
	open     bool       // BEGIN reached the server: the transaction must end
	announce pgx.Batch  // statements to run after the commit
}

// Defer queues a write whose result no step reads, to be sent with the next
// statement or the commit. Its row count is never read: a write that may be
// refused must fail as a statement (a constraint, NOT NULL: wallet.go's Debit
// and Credit), because COMMIT may already be on its way behind it.
func (t *pipeTx) Defer(sql string, args ...any) {
	t.queueBegin()
	t.batch.Queue(sql, args...)
}

// take returns the queued batch and starts a new one (pgx reads a batch's
// statements while its results are read, so a sent batch is never reused).
func (t *pipeTx) take() *pgx.Batch {
	b := t.batch
	t.batch = &pgx.Batch{}
	return b
}

// After queues a statement to run once the transaction has committed, in the
// commit's round trip; its failure is logged, never returned. The statements
// after a commit run together (one implicit transaction), so one that fails
// drops the others: they are notifications, whose loss only delays.
func (t *pipeTx) After(sql string, args ...any) { t.announce.Queue(sql, args...) }

func (t *pipeTx) queueBegin() {
	if t.batch == nil {
		t.batch = &pgx.Batch{}
	}
	if !t.begun {
		t.batch.Queue("begin")
		t.begun = true
	}
}

// send sends what is queued followed by sql, and returns the batch's results
// positioned at sql's result (the caller reads it, then closes the results).
func (t *pipeTx) send(ctx context.Context, sql string, args ...any) (pgx.BatchResults, error) {
	t.queueBegin()
	t.batch.Queue(sql, args...)
	b := t.take()
	n := b.Len()
	br := t.conn.SendBatch(ctx, b)
	t.open = true
	for i := 0; i < n-1; i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// Exec runs a statement, after what is queued, in one round trip.
func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := t.send(ctx, sql, args...)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// QueryRow runs a query of one row, after what is queued, in one round trip.
// The connection is busy until the row is scanned: scan it at once.
func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, err := t.send(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return &batchRow{br: br, row: br.QueryRow()}
}

// Query runs a query, after what is queued, in one round trip. The connection
// is busy until the rows are closed.
func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := t.send(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// commit sends what is queued, COMMIT and the announcements in one round trip.
// A transaction that sent nothing has nothing to commit.
func (t *pipeTx) commit(ctx context.Context) error {
	if !t.begun {
		return nil
	}
	b := t.take()
	b.Queue("commit")
	n := b.Len()
	for _, q := range t.announce.QueuedQueries {
		b.Queue(q.SQL, q.Arguments...)
	}
	br := t.conn.SendBatch(ctx, b)
	t.open = true
	defer br.Close()
	for i := 0; i < n; i++ {
		if _, err := br.Exec(); err != nil {
			// A failed statement leaves the transaction open and aborted
			// (the failed COMMIT of a transaction ends it): end it.
			if i < n-1 {
				t.rollback(ctx)
			}
			return err
		}
	}
	t.open = false
	for range t.announce.QueuedQueries {
		if _, err := br.Exec(); err != nil {
			slog.Debug("postgres announce failed", "err", err)
			break
		}
	}
	return nil
}

// rollback ends a transaction that reached the server. A connection that
// cannot roll back is closed, so the pool never hands it out again.
func (t *pipeTx) rollback(ctx context.Context) {
	if !t.open {
		return
	}
	t.open = false
	if _, err := t.conn.Exec(context.WithoutCancel(ctx), "rollback"); err != nil {
		t.conn.Conn().Close(context.WithoutCancel(ctx))
	}
}

// runPiped runs fn as one pipeTx and commits it, or rolls it back when fn
// fails; a deadlock, a serialization failure or a dead pooled connection runs
// fn again, up to three times (as run).
func (db *DB) runPiped(ctx context.Context, fn func(*pipeTx) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, TxTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.pipe(ctx, fn)
		if !retryable(err) {
			break
		}
	}
	return timedOut(parent, ctx, err)
}

func (db *DB) pipe(ctx context.Context, fn func(*pipeTx) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	t := &pipeTx{conn: conn}
	if err := fn(t); err != nil {
		t.rollback(ctx)
		return err
	}
	return t.commit(ctx)
}

// batchRow is a row of a batch: scanning it closes the batch's results.
type batchRow struct {
	br  pgx.BatchResults
	row pgx.Row
}

func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil && !errors.Is(cerr, pgx.ErrNoRows) {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// batchRows are rows of a batch: closing them closes the batch's results.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}
