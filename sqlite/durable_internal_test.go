package sqlite

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWALHandleFollowsTheFile checks the identity test the flush relies on: the
// handle is kept while the WAL is the same file, and replaced (the old one closed)
// when another file takes its name, so a flush never syncs a file SQLite no longer
// writes. The identity is the inode asked for alone (statx), not a full stat.
func TestWALHandleFollowsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.db-wal")
	if err := os.WriteFile(p, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	var d durability
	d.init(p)
	defer d.close()

	f1, err := d.walFile()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := d.walFile(); err != nil || again != f1 {
		t.Fatalf("same WAL: got a new handle (%v, %v)", again, err)
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}

	// Another file takes the name: the next flush must use it.
	if err := os.WriteFile(p+".new", []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	f2, err := d.walFile()
	if err != nil {
		t.Fatal(err)
	}
	if f2 == f1 {
		t.Fatal("replaced WAL: the old handle was kept")
	}
	if _, err := f1.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("old handle not closed: %v", err)
	}
	if b, err := io.ReadAll(io.NewSectionReader(f2, 0, 100)); err != nil || string(b) != "second" {
		t.Fatalf("new handle reads %q, %v", b, err)
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}

	// The WAL gone: the flush fails instead of syncing a stale file.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := d.flush(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("flush with the WAL gone: %v, want not exist", err)
	}
}
