package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each query once per pool: SQLite parses and plans a statement
// at prepare time, which costs more than running most of ours.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

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

// pool runs reads through cached statements. Every read waits, once its statement
// has taken its snapshot (the driver takes the first step inside the query call),
// until all that snapshot can show is durable; see durability.
type pool struct {
	c   *stmtCache
	dur *durability
}

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.c.get(ctx, query)
	if err != nil {
		return p.c.db.QueryRowContext(ctx, query, args...) // carries the error
	}
	row := st.QueryRowContext(ctx, args...)
	if err := p.dur.awaitDurable(); err != nil {
		row.Scan() // releases the statement
		return failedRow(ctx, st, args)
	}
	return row
}

func (p pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
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
	stmts map[string]*sql.Stmt // owned by the writer goroutine
	// touched are the verifications this transaction changed, dropped from the
	// read cache after the commit.
	touched []string
}

// touch records that the transaction changes verification id.
func (t *wtx) touch(id string) { t.touched = append(t.touched, id) }

func (t *wtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmts[query]; st != nil {
		return st, nil
	}
	st, err := t.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.stmts[query] = st
	return st, nil
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return t.conn.QueryRowContext(ctx, query, args...) // carries the error
	}
	return st.QueryRowContext(ctx, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// execScript runs several statements at once (migrations), outside the cache.
func (t *wtx) execScript(ctx context.Context, script string) error {
	_, err := t.conn.ExecContext(ctx, script)
	return err
}
