package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"sync"

	fetchsms "github.com/fetchsms/fetchsms"
)

// stmtCache prepares each query once, on a pool (the readers) or on one
// connection (the writer's): SQLite parses and plans a statement at prepare time,
// which costs more than running most of ours.
type stmtCache struct {
	db preparer
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// preparer is *sql.DB or *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func newStmtCache(db preparer) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
	c.mu.Unlock()
}

// row is one row of a query (*sql.Row, or failedRow when it could not run).
type row interface {
	Scan(dest ...any) error
}

// rowsIter is a query's rows (*sql.Rows).
type rowsIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// pool runs reads through cached statements. Every read waits, once its statement
// has taken its snapshot (the driver takes the first step inside the query call),
// until all that snapshot can show is durable; see durability.
type pool struct {
	c   *stmtCache
	dur *durability
}

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) row {
	st, err := p.c.get(ctx, query)
	if err != nil {
		return failedRow{err}
	}
	row := st.QueryRowContext(ctx, args...)
	if err := p.dur.awaitDurable(); err != nil {
		row.Scan() // releases the statement
		return failedRow{err}
	}
	return row
}

func (p pool) QueryContext(ctx context.Context, query string, args ...any) (rowsIter, error) {
	st, err := p.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	if err := p.dur.awaitDurable(); err != nil {
		rows.Close()
		return nil, err
	}
	return rows, nil
}

// wtx is the write transaction of one batch, on the writer's own connection. Its
// statements are prepared once on that connection and reused by every batch, with
// no per-statement rebinding to a database/sql Tx: BEGIN and COMMIT are plain
// statements on the dedicated connection.
type wtx struct {
	conn  *sql.Conn
	stmts *stmtCache // prepared on conn
	// touched are the verifications this transaction changed, dropped from the
	// read cache after the commit.
	touched []string
	// queued is set when the request running queued webhook deliveries.
	queued bool
	// refs is the permutation behind verification refs, read from settings once.
	refs *refPerm
	// oldRefs tells whether rows from before migration 0008 hold refs of the
	// v_ form in ref_key: 0 not known yet, 1 yes, -1 no.
	oldRefs int8
	// services caches the enabled services purchases look up, by the reference
	// the customer gave (see service).
	services    map[string]*fetchsms.Service
	dataVersion int64 // PRAGMA data_version when the cache was last checked
}

// service returns the enabled service ref names (an id or a slug), as
// serviceByRef, from a cache kept by the writer: a purchase then costs one query
// less. The cache is dropped when this process changes the services (every such
// statement runs in a writer transaction and calls servicesChanged) and when
// another process has committed anything (PRAGMA data_version, read at BEGIN).
// The service returned is shared: read it, never change it.
func (t *wtx) service(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return t.cachedService(ref, func() (*fetchsms.Service, error) { return serviceByRef(ctx, t, ref) })
}

// serviceByID returns service id, enabled or not (a purchase keeps its service
// when an admin disables it), through the same cache as service.
func (t *wtx) serviceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	key := "#" + strconv.Itoa(id) // apart from the customers' references
	return t.cachedService(key, func() (*fetchsms.Service, error) { return serviceByID(ctx, t, id) })
}

func (t *wtx) cachedService(key string, load func() (*fetchsms.Service, error)) (*fetchsms.Service, error) {
	if s := t.services[key]; s != nil {
		return s, nil
	}
	s, err := load()
	if err != nil {
		return nil, err
	}
	if t.services == nil {
		t.services = map[string]*fetchsms.Service{}
	}
	t.services[key] = s
	return s, nil
}

// servicesChanged drops the service cache: the transaction writes to services.
func (t *wtx) servicesChanged() { t.services = nil }

// checkOthers drops the service cache when another connection (another process:
// this one writes only through t) has committed since the last check. It runs
// inside the write transaction, so nothing else commits until it ends.
func (t *wtx) checkOthers(ctx context.Context) error {
	var v int64
	if err := t.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if v != t.dataVersion {
		t.dataVersion, t.services = v, nil
	}
	return nil
}

// touch records that the transaction changes verification id.
func (t *wtx) touch(id string) { t.touched = append(t.touched, id) }

// Statements of the writer run without the request's cancellation: the driver
// would otherwise start a goroutine per statement to watch the context, and
// interrupt the shared connection when it ends, which can land on the statement of
// the next request in the batch. A request whose context has ended before its turn
// is not run (see DB.run); once started, it runs to its end.

func (t *wtx) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmts.get(context.Background(), query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (t *wtx) QueryRowContext(_ context.Context, query string, args ...any) row {
	st, err := t.stmts.get(context.Background(), query)
	if err != nil {
		return failedRow{err}
	}
	return st.QueryRowContext(context.Background(), args...)
}

func (t *wtx) QueryContext(_ context.Context, query string, args ...any) (rowsIter, error) {
	st, err := t.stmts.get(context.Background(), query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(context.Background(), args...)
	if err != nil {
		return nil, err // a nil *sql.Rows in the interface would not compare equal to nil
	}
	return rows, nil
}

// execScript runs several statements at once (migrations), outside the cache.
func (t *wtx) execScript(ctx context.Context, script string) error {
	_, err := t.conn.ExecContext(ctx, script)
	return err
}

// Compile-time checks: the pool's and the writer's rows serve the same callers.
var (
	_ row      = (*sql.Row)(nil)
	_ row      = failedRow{}
	_ rowsIter = (*sql.Rows)(nil)
)
