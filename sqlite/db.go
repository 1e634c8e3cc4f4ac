// Package sqlite is the embedded storage engine of Fetch SMS: every business
// transaction (purchases, refunds, inbound routing, deposits) runs here, against a
// SQLite database in WAL mode with one writer at a time.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/google/uuid"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// DB is the SQLite store. Writes go through one connection (SQLite has one writer;
// queuing in Go is cheaper than spinning on SQLITE_BUSY), reads through a pool.
type DB struct {
	Path     string
	w        *sql.DB
	r        *sql.DB
	rp       pool // reads, through cached statements
	wt       *wtx // the writer's connection and statements
	notifyCh chan struct{}
	vc       vcache
	refKey   atomic.Pointer[string] // the refs' permutation key, read from settings once (refPermForRead)

	writes     chan *writeReq
	closed     chan struct{}
	closeOnce  sync.Once
	writerDone chan struct{}
	dur        durability
	// For Stats: batches finished, requests they ran, time in COMMIT (ns).
	batches, batchReqs, commitNanos atomic.Int64
}

// Stats is the writer's work since the database was opened.
type Stats struct {
	Batches, Requests        int64 // write transactions and the requests they ran
	Commit, Flush, LastFlush time.Duration
	Flushes, FailedFlushes   int64
}

// Stats reads the writer's statistics (for metrics).
func (db *DB) Stats() Stats {
	return Stats{Batches: db.batches.Load(), Requests: db.batchReqs.Load(), Commit: time.Duration(db.commitNanos.Load()),
		Flush: time.Duration(db.dur.flushNanos.Load()), LastFlush: time.Duration(db.dur.lastFlush.Load()),
		Flushes: db.dur.flushes.Load(), FailedFlushes: db.dur.failedFlushes.Load()}
}

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// Options tune OpenWith. There are none at present: the writer's CPU pinning
// (PinWriter, WriterCPU) was removed in session 7, when it no longer measured
// the 10 % it had to earn (docs/DECISIONS.md).
type Options struct{}

// OpenWith opens the database at path, as Open, with options. A database
// whose directory cannot be written (mounted read-only, or its permissions)
// cannot be opened — SQLite writes its -wal and -shm files beside it — and
// the error says so
// (fetchsms.ErrReadOnly) rather than SQLite's "unable to open database file:
// no such file or directory".
func OpenWith(ctx context.Context, path string, o Options) (*DB, error) {
	db, err := openWith(ctx, path, o)
	if err != nil {
		if werr := probeWritable(filepath.Dir(path)); errors.Is(werr, syscall.EROFS) || errors.Is(werr, fs.ErrPermission) {
			return nil, fmt.Errorf("sqlite.Open: %w: the directory %s cannot be written (%w), and the server must write the database and its -wal and -shm files there; make it writable (remount it read-write) and start again: %w",
				fetchsms.ErrReadOnly, filepath.Dir(path), werr, err)
		}
	}
	return db, err
}

// probeWritable tells whether a new file can be made in dir.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".fetchsms-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func openWith(ctx context.Context, path string, o Options) (*DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "15000")
	q.Set("_foreign_keys", "on")
	// NORMAL: COMMIT writes the transaction's frames to the WAL file but does not
	// wait for the disk; the syncer fdatasyncs the WAL before anyone learns of the
	// commit (see tx and awaitDurable), so what is acknowledged is as durable as
	// with FULL, and the writer runs the next batch while the disk flushes.
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	driverParams(q) // what only this build's driver takes (driver_*.go)
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// One connection writes: the writer goroutine holds it for good.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	q.Set("_query_only", "1")
	q.Del("_txlock")
	r, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := &DB{Path: path, w: w, r: r, rp: pool{c: newStmtCache(r)}, notifyCh: make(chan struct{}, 1),
		writes: make(chan *writeReq, maxBatch), closed: make(chan struct{}), writerDone: make(chan struct{})}
	db.dur.init(path + "-wal")
	db.rp.dur = &db.dur
	wconn, err := w.Conn(ctx)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// Savepoints keep the pages they change in a sub-journal; in memory, not a temp
	// file, so a batch of many requests costs no extra writes (durability is the
	// WAL's, unchanged).
	//
	// The writer checkpoints (copies the WAL into the database, syncing both)
	// every 4 000 WAL pages instead of SQLite's 1 000: a checkpoint stalls the
	// writer for a few milliseconds whatever its size, and the pages written again
	// and again (balances, the ends of indexes) are copied once per checkpoint.
	// The WAL file then stays near 16 MB. Measured under load: the writer's mean
	// commit 200-270 -> 130-150 us (docs/PERFORMANCE-LOG.md). One big transaction
	// (a migration rewriting a table, a large import) makes the file as large as
	// its pages, and SQLite keeps that size; journal_size_limit cuts it back to
	// 64 MB when the WAL next starts over.
	for _, p := range []string{`PRAGMA temp_store = MEMORY`, `PRAGMA wal_autocheckpoint = 4000`, `PRAGMA journal_size_limit = 67108864`} {
		if _, err = wconn.ExecContext(ctx, p); err != nil {
			break
		}
	}
	if err != nil {
		wconn.Close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// Durability rests on the WAL: refuse a database that could not enter it.
	var mode string
	if err := wconn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		wconn.Close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %s: journal mode %q, want wal: %v", path, mode, err)
	}
	db.wt = &wtx{conn: wconn, stmts: newStmtCache(wconn)}
	synced := make(chan *committedBatch)
	ready := make(chan struct{}, flushers)
	// The writer holds its connection for good; its statements are closed when
	// it stops, before the connection is.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		db.writer(synced, ready)
		db.wt.stmts.close()
	}()
	var wg sync.WaitGroup
	for range flushers {
		wg.Add(1)
		go func() { defer wg.Done(); db.syncer(synced, ready) }()
	}
	go func() { wg.Wait(); <-stopped; db.dur.close(); close(db.writerDone) }()
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Health reports a storage failure: after a failed flush the database takes no
// reads or writes until the process restarts (see durability).
func (db *DB) Health(ctx context.Context) error {
	return engineErr(db.dur.failure())
}

var _ fetchsms.Store = (*DB)(nil)

// Close stops the writer (after the batch in progress) and closes both pools.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closed) })
	<-db.writerDone
	db.rp.c.close()
	db.wt.conn.Close()
	err1 := db.r.Close()
	err2 := db.w.Close()
	return errors.Join(err1, err2)
}

// migrate applies the embedded migrations not yet recorded in schema_migrations,
// each in its own immediate transaction, so two processes starting together apply
// each one once.
func (db *DB) migrate(ctx context.Context) error {
	if err := db.write(ctx, func(tx *wtx) error {
		return tx.execScript(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	}); err != nil {
		return err
	}
	migrations, err := sqlrows.Migrations(migrationsFS)
	if err != nil {
		return fmt.Errorf("sqlite.migrate: %w", err)
	}
	for _, m := range migrations {
		err = db.write(ctx, func(tx *wtx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := tx.execScript(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in a write transaction and returns once that transaction is durable
// (or failed). Writes are group-committed: the writer goroutine runs every queued
// fn in one SQLite transaction, each inside its own savepoint, and commits them
// together. A fn that fails is rolled back to its savepoint alone; the others
// commit. The commit is then made durable by the syncer (one fdatasync of the WAL
// for every batch committed since the last one) while the writer goes on with the
// next batch, or by the writer itself when no request waits for it; nobody is
// answered before the fdatasync that covers their batch, so durability is that of
// synchronous=FULL: only the cost of the flush is shared and taken off the
// writer's path. Errors are the driver's: Update classifies them.
func (db *DB) write(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	errClosed := errors.New("database is closed")
	select {
	case db.writes <- req:
	case <-db.closed:
		return errClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-db.writerDone:
		// The writer answers everything it took before it stops.
		select {
		case err := <-req.done:
			return err
		default:
			return errClosed
		}
	}
}

type writeReq struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	done chan error
}

// maxBatch bounds how many transactions share one commit.
const maxBatch = 256

// writer is the single writer goroutine. It keeps one transaction open, running
// each request as it arrives (inside its own savepoint), and commits when the
// syncer is free to flush it: everything that arrives while the disk flushes the
// previous batch joins the next one, so the batch grows with the load and the
// writer never waits for the disk while a request waits for the writer. When none
// does, the writer flushes the batch itself: on a 2-core machine the wake-ups of
// the hand-over to the syncer and back cost more than they save (about 8 % more
// purchase + cancel pairs and up to 12 % less CPU a pair at 16 connections,
// measured in docs/PERFORMANCE.md).
func (db *DB) writer(synced chan<- *committedBatch, ready <-chan struct{}) {
	defer close(synced)
	var b *committedBatch // the open transaction, if any
	var opened time.Time  // when b took its first request
	free := false         // the syncer waits for work (its token is taken)
	last := 0             // requests in the previous batch
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	take := func(r *writeReq) {
		if b == nil {
			var err error
			if b, err = db.begin(); err != nil {
				r.done <- err
				return
			}
			opened = time.Now()
		}
		db.run(b, r)
	}
	handOff := func() {
		last = len(b.reqs)
		done := db.finish(b)
		b = nil
		// Every caller holds the syncer's token here (free, or just taken from
		// ready).
		if len(db.writes) == 0 {
			// Nothing waits for the writer: it flushes and answers the batch
			// itself, so no thread has to be woken for it, and keeps the token.
			// A request that comes in meanwhile would have waited for this flush
			// before its own anyway.
			db.complete(done)
			free = true
			return
		}
		synced <- done
		free = false
	}
	for {
		if b == nil {
			select {
			case r := <-db.writes:
				take(r)
			case <-db.closed:
				return
			}
			continue
		}
		if len(b.reqs) >= maxBatch {
			if !free {
				<-ready
				free = true
			}
			handOff()
			continue
		}
		select {
		case r := <-db.writes:
			take(r)
			continue
		default:
		}
		if !free {
			select {
			case <-ready:
				free = true
			default:
			}
		}
		if free {
			// The disk is idle. Commit now, unless the previous batch was bigger
			// and its requests are still coming back: then wait a little for them
			// (group commit's commit delay), so that one flush carries them all
			// instead of a first one alone and the rest a flush later.
			left := db.commitDelay() - time.Since(opened)
			if len(b.reqs) >= last || left <= 0 {
				handOff()
				continue
			}
			wait.Reset(left)
			select {
			case r := <-db.writes:
				take(r)
			case <-wait.C:
			case <-db.closed:
				handOff()
				return
			}
			wait.Stop()
			continue
		}
		select {
		case r := <-db.writes:
			take(r)
		case <-ready:
			free = true
		case <-db.closed:
			<-ready
			free = true
			handOff()
			return
		}
	}
}

// commitDelay is how long a batch may wait on an idle disk for the requests of the
// previous, bigger batch to come back: one and a half flushes (as lately measured),
// at most 2 ms. Waiting costs its requests less than the extra flush it saves; on a
// disk that flushes in 50 µs it is 75 µs, here about 1.4 ms. Measured here: about
// 10 % more purchase + cancel pairs with 16 connections (docs/PERFORMANCE.md).
func (db *DB) commitDelay() time.Duration {
	return min(time.Duration(db.dur.flushTime.Load())*3/2, 2*time.Millisecond)
}

// committedBatch is one write transaction: the requests it ran and their results,
// then, once committed, the flush it waits for before they are answered.
type committedBatch struct {
	reqs    []*writeReq
	results []error
	// seq is the commit sequence the batch needs on disk: its own commit, or when
	// it committed nothing, the newest commit it may have read.
	seq uint64
}

// begin opens the writer's transaction.
func (db *DB) begin() (*committedBatch, error) {
	if err := db.dur.failure(); err != nil {
		return nil, err
	}
	db.wt.touched = db.wt.touched[:0]
	if _, err := db.wt.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		return nil, err
	}
	if err := db.wt.checkOthers(context.Background()); err != nil {
		db.wt.ExecContext(context.Background(), `ROLLBACK`)
		return nil, err
	}
	return &committedBatch{reqs: make([]*writeReq, 0, 16), results: make([]error, 0, 16)}, nil
}

// run runs one request inside the open transaction, in a savepoint so that its
// failure undoes its own writes only.
func (db *DB) run(b *committedBatch, r *writeReq) {
	err := r.ctx.Err()
	if err == nil {
		err = savepoint(context.Background(), db.wt, r.fn)
	}
	b.reqs = append(b.reqs, r)
	b.results = append(b.results, err)
}

// finish commits the open transaction (or rolls it back when no request in it
// succeeded) and returns it for the syncer to flush and answer.
func (db *DB) finish(b *committedBatch) *committedBatch {
	ctx := context.Background()
	tx := db.wt
	committed := 0
	for _, err := range b.results {
		if err == nil {
			committed++
		}
	}
	if committed == 0 {
		tx.ExecContext(ctx, `ROLLBACK`)
		b.seq = db.dur.committed.Load()
	} else {
		// The sequence is taken before COMMIT makes the batch visible, so a reader
		// that saw it always finds a sequence at least this high to wait for.
		b.seq = db.dur.committed.Add(1)
		start := time.Now()
		_, err := tx.ExecContext(ctx, `COMMIT`)
		db.commitNanos.Add(int64(time.Since(start)))
		if err != nil {
			tx.ExecContext(ctx, `ROLLBACK`) // leave no transaction open on the connection
			for i := range b.results {
				if b.results[i] == nil {
					b.results[i] = err
				}
			}
		}
	}
	db.batches.Add(1)
	db.batchReqs.Add(int64(len(b.reqs)))
	// The rows the batch touched leave the read cache before anyone is answered, so
	// a client never reads an older state after its own acknowledgement.
	db.vc.committed(tx.touched)
	return b
}

// flushers is how many flushes may be in flight at once. More than one is correct
// (see durability.sync) but measured slower on our 2-core machine: each flush then
// carries fewer commits, and commits cost more than the overlap saves.
const flushers = 1

// syncer makes a committed batch durable with one fdatasync of the WAL, answers its
// requests, and tells the writer a flush slot is free. It ends when the writer has
// stopped and every batch is answered.
func (db *DB) syncer(synced <-chan *committedBatch, ready chan<- struct{}) {
	ready <- struct{}{}
	for b := range synced {
		db.complete(b)
		ready <- struct{}{}
	}
}

// complete makes a committed batch durable and answers its requests.
func (db *DB) complete(b *committedBatch) {
	err := db.dur.sync(b.seq)
	for i, r := range b.reqs {
		if err != nil && b.results[i] == nil {
			b.results[i] = err
		}
		r.done <- b.results[i]
	}
}

// savepoint runs fn inside a savepoint of tx, undoing fn's writes alone when it fails.
func savepoint(ctx context.Context, tx *wtx, fn func(tx *wtx) error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO w`); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		tx.ExecContext(ctx, `RELEASE w`)
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE w`)
	return err
}

// newID returns a time-ordered UUID (version 7): new rows land at the end of the
// id indexes instead of on random pages, so a batch dirties (and writes to the
// WAL) a few pages rather than one per row.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
