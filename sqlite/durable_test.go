package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestNothingIsToldBeforeTheFlush holds the WAL flush of a committed write and
// checks that neither its writer nor any reader learns of it until the flush is done,
// while the commit is already visible to a plain SQLite connection (so the test does
// look into the window between COMMIT and fdatasync).
func TestNothingIsToldBeforeTheFlush(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	app := appOf(t, db)
	defer db.Close()
	u, err := app.CreateUser(ctx, "flush@example.com", "password123", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, 1000, "start"); err != nil {
		t.Fatal(err)
	}

	held, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // a failing test must not leave the flush held (Close would wait)
	db.SetBeforeSyncForTest(func() error {
		select {
		case held <- struct{}{}:
			<-release
		default:
		}
		return nil
	})
	wrote := make(chan error, 1)
	go func() {
		_, err := app.Adjust(ctx, u.ID, 500, "held")
		wrote <- err
	}()
	<-held // committed, not flushed

	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var visible int64
	if err := raw.QueryRow(`SELECT balance_cents FROM users WHERE id = ?`, u.ID).Scan(&visible); err != nil {
		t.Fatal(err)
	}
	if visible != 1500 {
		t.Fatalf("the commit should be visible to SQLite before its flush (balance %d); the test is not looking into the window", visible)
	}

	read := make(chan fetchsms.Cents, 1)
	go func() {
		b, err := db.Balance(ctx, u.ID)
		if err != nil {
			t.Error(err)
		}
		read <- b
	}()
	select {
	case err := <-wrote:
		t.Fatalf("the writer was answered (%v) before its flush", err)
	case b := <-read:
		t.Fatalf("a reader got balance %d before the commit it shows was flushed", b)
	case <-time.After(300 * time.Millisecond):
	}
	free()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if b := <-read; b != 1500 {
		t.Fatalf("balance after the flush: %d, want 1500", b)
	}
	db.SetBeforeSyncForTest(nil)
}

// TestFailedFlushStopsTheDatabase: when the WAL cannot be flushed, the write that
// waited for it fails, and so does everything after it, reads included, until the
// server is restarted; what had been flushed before is still there after the restart.
func TestFailedFlushStopsTheDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	app := appOf(t, db)
	u, err := app.CreateUser(ctx, "fail@example.com", "password123", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, 1000, "before"); err != nil {
		t.Fatal(err)
	}
	if err := db.Health(ctx); err != nil {
		t.Fatalf("health before the failure: %v", err)
	}
	db.SetBeforeSyncForTest(func() error { return errors.New("EIO (injected)") })
	if _, err := app.Adjust(ctx, u.ID, 500, "not flushed"); fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		t.Fatalf("the write whose flush failed: %v, want unavailable", err)
	}
	db.SetBeforeSyncForTest(nil)
	if _, err := app.Adjust(ctx, u.ID, 1, "after"); fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("a later write: %v, want the storage failure", err)
	}
	if _, err := app.Balance(ctx, u.ID); fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		t.Fatalf("a read after the failure: %v, want unavailable", err)
	}
	if err := db.Health(ctx); fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		t.Fatalf("health after the failure: %v, want unavailable", err)
	}
	db.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := db.Balance(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The failed flush's write may or may not have reached the disk (its client was
	// told it failed); what was acknowledged before it must be there.
	if b != 1000 && b != 1500 {
		t.Fatalf("balance after restart: %d, want 1000 (or 1500)", b)
	}
	c, err := db.CheckInvariants(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !c.OK() {
		t.Fatalf("invariants after restart: %+v", c)
	}
}
