package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestPipeTx: a transaction sent in batches (pipetx.go) keeps a transaction's
// meaning. A deferred write that fails fails the statement it travels with and
// leaves nothing of the transaction; one still waiting at the end is committed
// with the commit; a step that fails after statements went out rolls them back;
// statements queued to run after the commit run only after a commit, and their
// failure is not the transaction's.
func TestPipeTx(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setting := func(key string) string {
		t.Helper()
		var v string
		err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		return v
	}
	put := `INSERT INTO settings (key, value) VALUES ($1, $2)`

	// A deferred write that fails (a duplicate key) fails the next statement,
	// and the writes before it are rolled back with it.
	err = db.runPiped(ctx, func(p *pipeTx) error {
		p.Defer(put, "a", "1")
		p.Defer(put, "a", "2")
		var one int
		return p.QueryRow(ctx, `SELECT 1`).Scan(&one)
	})
	if !isUnique(err) {
		t.Fatalf("a failing deferred write: %v, want a unique violation", err)
	}
	if v := setting("a"); v != "" {
		t.Fatalf("a failed transaction left a = %q", v)
	}

	// The same failure when the deferred write travels with the commit.
	err = db.runPiped(ctx, func(p *pipeTx) error {
		if _, err := p.Exec(ctx, put, "b", "1"); err != nil {
			return err
		}
		p.Defer(put, "b", "2")
		return nil
	})
	if !isUnique(err) {
		t.Fatalf("a failing write sent with the commit: %v", err)
	}
	if v := setting("b"); v != "" {
		t.Fatalf("a failed commit left b = %q", v)
	}

	// Deferred writes and statements after the commit, in order; a statement
	// after the commit that fails does not fail the transaction.
	err = db.runPiped(ctx, func(p *pipeTx) error {
		p.Defer(put, "c", "1")
		rows, err := p.Query(ctx, `SELECT value FROM settings WHERE key = 'c'`) // sees the deferred write
		if err != nil {
			return err
		}
		var seen []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return err
			}
			seen = append(seen, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(seen) != 1 || seen[0] != "1" {
			t.Errorf("the transaction read %v after its deferred write, want [1]", seen)
		}
		p.Defer(`UPDATE settings SET value = '2' WHERE key = 'c'`)
		p.After(`UPDATE settings SET value = value || '3' WHERE key = 'c'`)
		return nil
	})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if v := setting("c"); v != "23" {
		t.Fatalf("c = %q after the commit and the statement after it, want 23", v)
	}
	err = db.runPiped(ctx, func(p *pipeTx) error {
		p.Defer(`UPDATE settings SET value = '3' WHERE key = 'c'`)
		p.After(`SELECT 1/0`)
		return nil
	})
	if err != nil || setting("c") != "3" {
		t.Fatalf("a statement after the commit that fails: %v, c = %q", err, setting("c"))
	}

	// A step that fails after its statements went out: nothing stays, and the
	// statements queued for after the commit never run.
	stepErr := errors.New("the step failed")
	err = db.runPiped(ctx, func(p *pipeTx) error {
		if _, err := p.Exec(ctx, put, "d", "1"); err != nil {
			return err
		}
		p.After(`UPDATE settings SET value = 'after' WHERE key = 'c'`)
		return stepErr
	})
	if !errors.Is(err, stepErr) {
		t.Fatalf("a failed step: %v", err)
	}
	if v := setting("d"); v != "" {
		t.Fatalf("a rolled-back transaction left d = %q", v)
	}
	if v := setting("c"); v != "3" {
		t.Fatalf("a statement queued after a failed transaction's commit ran: c = %q", v)
	}

	// A transaction that sent nothing commits nothing and fails nothing; the
	// connection it held is clean for the next (the pool's connections are
	// used in turn, so a dirty one would show).
	for range 20 {
		if err := db.runPiped(ctx, func(*pipeTx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		var status byte
		err := db.runPiped(ctx, func(p *pipeTx) error {
			_, err := p.Exec(ctx, `SELECT 1`)
			status = p.conn.Conn().PgConn().TxStatus()
			return err
		})
		if err != nil || status != 'T' {
			t.Fatalf("a transaction after empty ones: %v, status %q", err, status)
		}
	}

	// A deadline that runs out is ours: ErrUnavailable, and nothing stays.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = db.runPiped(short, func(p *pipeTx) error {
		p.Defer(put, "e", "1")
		_, err := p.Exec(short, `SELECT pg_sleep(1)`)
		return err
	})
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) && pe.Code != "57014" {
		t.Fatalf("a statement past the deadline: %v", err)
	}
	if v := setting("e"); v != "" {
		t.Fatalf("a cancelled transaction left e = %q", v)
	}
}
