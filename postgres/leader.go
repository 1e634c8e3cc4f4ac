package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lead runs lead while this process holds the session advisory lock key, so
// that of the servers sharing the database exactly one runs it: each tries
// pg_try_advisory_lock on a connection of its own (taken out of the pool)
// every interval. A session lock lasts as long as its connection: when the
// leader dies (even by kill -9) its connection closes, PostgreSQL releases
// the lock, and another server takes it at its next try. The leader checks
// its connection every interval too, and stops leading (cancels lead's
// context and waits for it) as soon as the connection fails, before anyone
// else can take the lock. changed, when set, hears each change of role. Lead
// returns when ctx ends, after lead has returned and the lock is released.
func (db *DB) Lead(ctx context.Context, key int64, interval time.Duration, lead func(ctx context.Context), changed func(leading bool)) {
	if changed == nil {
		changed = func(bool) {}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		if conn == nil {
			c, err := db.pool.Acquire(ctx)
			if err == nil {
				conn = c.Hijack()
			}
		}
		got := false
		if conn != nil {
			tctx, cancel := context.WithTimeout(ctx, interval)
			err := conn.QueryRow(tctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
			cancel()
			if err != nil {
				conn.Close(context.Background())
				conn, got = nil, false
			}
		}
		if got {
			changed(true)
			leadCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				lead(leadCtx)
			}()
			for alive := true; alive; {
				select {
				case <-ctx.Done():
					alive = false
				case <-done:
					alive = false
				case <-t.C:
					tctx, cancel := context.WithTimeout(ctx, interval)
					_, err := conn.Exec(tctx, `SELECT 1`)
					cancel()
					alive = err == nil
				}
			}
			stop()
			<-done
			changed(false)
			// Release the lock by closing its session: whatever state the
			// connection is in, the lock goes with it.
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
		}
		if !wait() {
			return
		}
	}
}
