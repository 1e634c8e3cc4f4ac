// Package postgres is the storage engine of Fetch SMS for PostgreSQL: the same
// business transactions as sqlite/, written for READ COMMITTED with several servers
// on one database. Numbers are picked with FOR UPDATE SKIP LOCKED, balances change
// by conditional UPDATE … RETURNING, state transitions are guarded by their status,
// and unique constraints with ON CONFLICT settle every race the code cannot.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// DefaultMaxConns is the pool size when the URL does not set pool_max_conns.
const DefaultMaxConns = 16

// migrationLock is the pg_advisory_lock key held while migrations run, so servers
// starting together apply each migration once.
const migrationLock = 0x46657463685F4D47 // "Fetch_MG"

// notifyChannel is the LISTEN/NOTIFY channel that wakes every server's delivery
// worker when a transaction enqueued deliveries.
const notifyChannel = "fetchsms_deliveries"

// changesChannel carries the App's broadcasts (fetchsms.Broadcaster): changes
// that wake waiters on every server.
const changesChannel = "fetchsms_changes"

// ConnectTimeout bounds a new connection when the URL sets no connect_timeout.
const ConnectTimeout = 3 * time.Second

// TxTimeout bounds one transaction of Update, every attempt included: a stalled
// network or a database that stopped answering fails it as EUNAVAILABLE instead of
// holding the request (and a pooled connection) for as long as the client waits.
const TxTimeout = 15 * time.Second

// StatementTimeout bounds one statement (a query and the reading of its rows, a
// BEGIN, a COMMIT), in a transaction or not: a stalled network fails it as
// EUNAVAILABLE instead of holding the request until its client gives up.
const StatementTimeout = 10 * time.Second

// deadlineTracer gives every statement a StatementTimeout deadline: pgx runs a
// statement under the context TraceQueryStart returns, and calls TraceQueryEnd
// when it is done (for a query, when its rows are closed).
type deadlineTracer struct{}

type cancelKey struct{}

func (deadlineTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, StatementTimeout)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (deadlineTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// DB is the PostgreSQL store.
type DB struct {
	pool     *pgxpool.Pool
	notifyCh chan struct{}
	outCh    chan string // broadcasts to send
	inCh     chan string // broadcasts received
	stop     context.CancelFunc
	wg       sync.WaitGroup
	vc       *vcache                    // LoadVerification's cache (vcache.go)
	newRef   func(prefix string) string // a verification's random public ref (sqlrows.NewRef; tests force collisions)
}

var _ fetchsms.Store = (*DB)(nil)

// Open connects to the database at url (postgres://…), applies the migrations under
// an advisory lock, and listens for delivery notifications. pool_max_conns in the
// URL sizes the pool (DefaultMaxConns otherwise).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.Tracer = deadlineTracer{}
	if !strings.Contains(url, "connect_timeout") {
		// A database that is down or unreachable answers within this time
		// (EUNAVAILABLE), so requests never wait on a dial that cannot succeed.
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	db := &DB{pool: pool, notifyCh: make(chan struct{}, 1), outCh: make(chan string, 1024), inCh: make(chan string, 1024), vc: newVCache(), newRef: sqlrows.NewRef}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.wg.Add(2)
	go db.listen(lctx)
	go db.send(lctx)
	return db, nil
}

// Health pings the database (within 2 s): EUNAVAILABLE when it cannot be reached.
func (db *DB) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w: %w", fetchsms.ErrUnavailable, err)
	}
	return nil
}

// Close stops the listener and closes the pool.
func (db *DB) Close() error {
	db.stop()
	db.wg.Wait()
	db.pool.Close()
	return nil
}

// migrate applies the embedded migrations not yet recorded in schema_migrations,
// each in its own transaction, holding a session advisory lock throughout so that
// servers starting together wait for one another instead of racing.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	migrations, err := sqlrows.Migrations(migrationsFS)
	if err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	for _, m := range migrations {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// Simple protocol: a migration holds several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres.migrate: %w", err)
		}
	}
	return nil
}

// listen holds one connection on LISTEN so that deliveries enqueued by any server
// wake this one's worker at once; while it is down, the worker's poll covers. It
// also hears every server's verification changes, for the cache (vcache.go),
// which is on only while it listens.
func (db *DB) listen(ctx context.Context) {
	defer db.wg.Done()
	for ctx.Err() == nil {
		err := func() error {
			conn, err := db.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel+`; LISTEN `+changesChannel+`; LISTEN `+vcacheChannel); err != nil {
				return err
			}
			db.vc.listening(true)
			defer db.vc.listening(false)
			// Notifications sent while no one listened are lost: wake the
			// worker and every waiter once, in case.
			db.notify()
			db.received("")
			for {
				n, err := conn.Conn().WaitForNotification(ctx)
				if err != nil {
					// The connection is in an unknown state: do not return it to the pool.
					conn.Conn().Close(context.Background())
					return err
				}
				switch n.Channel {
				case vcacheChannel:
					for id := range strings.SplitSeq(n.Payload, ",") {
						db.vc.drop(id)
					}
				case changesChannel:
					db.received(n.Payload)
				default:
					db.notify()
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		slog.Debug("postgres listener restarting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Broadcast queues msg for every server's Broadcasts (NOTIFY on changesChannel).
// It never blocks: when the queue is full the message is dropped (waiters
// re-check periodically).
func (db *DB) Broadcast(msg string) {
	select {
	case db.outCh <- msg:
	default:
	}
}

// Broadcasts delivers what any server broadcast; "" when some may have been
// lost (the listener reconnected): every waiter should re-read.
func (db *DB) Broadcasts() <-chan string { return db.inCh }

func (db *DB) received(msg string) {
	select {
	case db.inCh <- msg:
	default:
	}
}

// send sends the queued broadcasts: all those waiting in one statement, a
// NOTIFY each.
func (db *DB) send(ctx context.Context) {
	defer db.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-db.outCh:
			msgs := []string{msg}
		more:
			for len(msgs) < 256 {
				select {
				case m := <-db.outCh:
					msgs = append(msgs, m)
				default:
					break more
				}
			}
			if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, m) FROM unnest($2::text[]) m`, changesChannel, msgs); err != nil && ctx.Err() == nil {
				slog.Debug("postgres broadcast failed", "err", err)
			}
		}
	}
}

// run runs fn in a READ COMMITTED transaction and commits it, or rolls back when fn
// fails. A deadlock or serialization failure (PostgreSQL aborted the transaction,
// nothing was applied) runs fn again, up to three times; fn must therefore set its
// results afresh on each run. Errors are the driver's: Update classifies them.
func (db *DB) run(ctx context.Context, fn func(tx pgx.Tx) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, TxTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if !retryable(err) {
			break
		}
	}
	return timedOut(parent, ctx, err)
}

// timedOut marks err as ErrUnavailable when ctx, a transaction's deadline made
// from parent, ran out: our own deadline, not the caller's, so the database
// did not answer in time.
func timedOut(parent, ctx context.Context, err error) error {
	if err != nil && parent.Err() == nil && ctx.Err() != nil {
		return fmt.Errorf("%w: no answer within %v: %w", fetchsms.ErrUnavailable, TxTimeout, err)
	}
	return err
}

// retryable: PostgreSQL aborted the transaction (deadlock, serialization
// failure, a verification's random ref already taken), or the connection failed before anything was sent on it (a pooled
// connection that died with a restarted server); either way nothing was applied.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001" ||
			pe.Code == "23505" && pe.ConstraintName == "verifications_ref_key" // a random ref taken (InsertVerification)
	}
	return err != nil && pgconn.SafeToRetry(err)
}

// unavailable tells the errors that say the database cannot be reached or cannot
// serve now (down, restarting, out of connections, the network cut or reset)
// from the errors of a statement.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || // connection exception
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || // shutting down, crashed, starting up
			pe.Code == "53300" || pe.Code == "53100" // too many connections, disk full
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgconn reports a connection lost mid-statement as these.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "closed pool")
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func newID() string { return uuid.NewString() }

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
