package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// BackupResult is what Backup checked in the copy.
type BackupResult struct {
	Bytes  int64
	Took   time.Duration
	Check  *fetchsms.LedgerCheck // the money and inventory invariants, read from the copy
	Schema int                   // the copy's latest migration
}

// ErrBackupExists is Backup's refusal to replace a file without force.
var ErrBackupExists = errors.New("the backup file exists")

// Backup writes a consistent copy of the database at src to dst while a
// server may be writing to it: VACUUM INTO reads one snapshot (a read
// transaction; the WAL lets the writer go on meanwhile) into a new file
// beside dst, which is then checked (PRAGMA integrity_check, the schema
// version, and the invariants read through the store: every balance equals
// its ledger) before it is renamed to dst. An existing dst is replaced only
// with force (atomically: a reader sees the old copy or the new one). On any
// failure dst is left as it was and nothing else remains.
func Backup(ctx context.Context, src, dst string, force bool) (*BackupResult, error) {
	start := time.Now()
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("the database: %w", err)
	}
	if _, err := os.Stat(dst); err == nil && !force {
		return nil, fmt.Errorf("%w: %s (add --force to replace it)", ErrBackupExists, dst)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if same, err := backupSameFile(src, dst); err != nil || same {
		if err == nil {
			err = errors.New("the backup file is the database itself")
		}
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return nil, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	os.Remove(tmpPath) // VACUUM INTO wants a file that does not exist
	ok := false
	defer func() {
		if !ok {
			for _, p := range []string{tmpPath, tmpPath + "-wal", tmpPath + "-shm", tmpPath + "-journal"} {
				os.Remove(p)
			}
		}
	}()

	q := url.Values{}
	q.Set("mode", "rw") // never create a database where none is
	q.Set("_busy_timeout", "15000")
	raw, err := sql.Open("sqlite3", "file:"+src+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	var srcVersion int
	if err := raw.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&srcVersion); err != nil {
		return nil, fmt.Errorf("reading the database: %w", err)
	}
	if _, err := raw.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return nil, fmt.Errorf("copying (VACUUM INTO): %w", err)
	}
	raw.Close()

	res := &BackupResult{}
	if err := checkCopy(ctx, tmpPath, srcVersion, res); err != nil {
		return nil, fmt.Errorf("the copy failed its check, nothing was written to %s: %w", dst, err)
	}
	if err := backupSyncFile(tmpPath); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return nil, err
	}
	ok = true
	backupSyncDir(filepath.Dir(dst))
	if fi, err := os.Stat(dst); err == nil {
		res.Bytes = fi.Size()
	}
	res.Took = time.Since(start)
	return res, nil
}

// checkCopy runs SQLite's integrity check on the copy, then opens it as the
// store does and checks the invariants.
func checkCopy(ctx context.Context, path string, want int, res *BackupResult) error {
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=rw")
	if err != nil {
		return err
	}
	var verdict string
	err = raw.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&verdict)
	if err == nil && verdict != "ok" {
		err = fmt.Errorf("PRAGMA integrity_check: %s", verdict)
	}
	if err == nil {
		err = raw.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&res.Schema)
	}
	if err == nil && res.Schema != want {
		err = fmt.Errorf("the copy's schema is at migration %d, the database's at %d", res.Schema, want)
	}
	raw.Close()
	if err != nil {
		return err
	}
	db, err := Open(ctx, path)
	if err != nil {
		return fmt.Errorf("opening the copy: %w", err)
	}
	defer db.Close()
	c, err := db.CheckInvariants(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("reading the copy: %w", err)
	}
	res.Check = c
	if !c.OK() {
		return fmt.Errorf("the copy breaks invariants: %s", c)
	}
	return nil
}

func backupSameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func backupSyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func backupSyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
