package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// rawConn opens a plain database/sql pool on path: through the gathering VFS, or
// through SQLite's own "unix" VFS, as another program would.
func rawConn(t *testing.T, path string, gathered bool, cacheSize int) *sql.DB {
	t.Helper()
	if err := setupSQLite(); err != nil {
		t.Fatal(err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=15000&_synchronous=NORMAL"
	if gathered {
		dsn += "&vfs=" + walbufVFS
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA cache_size = %d`, cacheSize)); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestWALWritesAreGathered: a commit of many pages reaches the WAL in a few writes,
// not two per page.
func TestWALWritesAreGathered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	db := rawConn(t, path, true, 2000)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	asked0, made0 := walWrites()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 400; i++ { // about 100 pages of 4 KiB
		if _, err := tx.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprintf("%01000d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	asked, made := walWrites()
	asked, made = asked-asked0, made-made0
	t.Logf("WAL writes asked %d, made %d", asked, made)
	if asked < 150 || made > asked/20 {
		t.Fatalf("WAL writes asked %d, made %d: want at least 150 asked and a twentieth of that made", asked, made)
	}
	var n int
	if err := rawConn(t, path, false, 2000).QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 400 {
		t.Fatalf("another connection counts %d rows (%v), want 400", n, err)
	}
}

// TestWALGatheringKeepsTheDatabaseWhole runs writers through the gathering VFS and
// through plain SQLite side by side (as two programs would), with transactions big
// enough to spill the page cache into the WAL before they commit, some of them
// rolled back after the spill, and readers counting throughout: every reader sees
// a whole number of committed transactions, and the database ends whole.
func TestWALGatheringKeepsTheDatabaseWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	setup := rawConn(t, path, true, 2000)
	if _, err := setup.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, w INTEGER, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	const rows, rounds = 200, 12 // 200 rows of 1 KB: about 50 pages, over a 10-page cache
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w, gathered := range []bool{true, false, true} {
		db := rawConn(t, path, gathered, 10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				for i := 0; i < rows; i++ {
					if _, err := tx.Exec(`INSERT INTO t (w, v) VALUES (?, ?)`, w, fmt.Sprintf("%01000d", r)); err != nil {
						tx.Rollback()
						errs <- err
						return
					}
				}
				if r%3 == 2 {
					err = tx.Rollback()
				} else {
					err = tx.Commit()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for _, gathered := range []bool{true, false} {
		db := rawConn(t, path, gathered, 2000)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
					errs <- err
					return
				}
				if n%rows != 0 {
					errs <- fmt.Errorf("a reader counted %d rows: part of a transaction", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := rawConn(t, path, false, 2000)
	var n int
	if err := check.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := 3 * rows * (rounds - rounds/3); n != want {
		t.Fatalf("%d rows, want %d", n, want)
	}
	var ok string
	if err := check.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}

// TestWALGatheringAfterARolledBackSpill: a transaction through the gathering VFS
// spills frames into the WAL and rolls back; another program then commits; the
// first commits again. The spilled frames must have been written (or dropped)
// before the other program could write at their offsets.
func TestWALGatheringAfterARolledBackSpill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := rawConn(t, path, true, 10)
	b := rawConn(t, path, false, 10)
	if _, err := a.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	fill := func(db *sql.DB, n int, commit bool) {
		t.Helper()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, err := tx.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprintf("%01000d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 5; round++ {
		asked, _ := walWrites()
		fill(a, 200, false) // spills about 50 pages, then rolls back
		if after, _ := walWrites(); after == asked {
			t.Fatal("the rolled-back transaction wrote nothing to the WAL: no spill to test")
		}
		fill(b, 30, true)
		fill(a, 30, true)
	}
	check := rawConn(t, path, false, 2000)
	var n int
	if err := check.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 300 {
		t.Fatalf("%d rows (%v), want 300", n, err)
	}
	var ok string
	if err := check.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}
