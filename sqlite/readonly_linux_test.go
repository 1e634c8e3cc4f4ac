package sqlite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestOpenOnReadOnlyMount: a database on a filesystem mounted read-only cannot
// be served (SQLite writes its -wal and -shm files beside it), and Open says
// so (ErrReadOnly, naming the directory) instead of SQLite's "unable to open
// database file: no such file or directory". The mount is a read-only bind
// mount, so the test needs root (CI runs as root): it skips without, and
// fails under CI=true.
func TestOpenOnReadOnlyMount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dir := t.TempDir(), t.TempDir()
	if out, err := exec.Command("mount", "--bind", src, dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bind mount (CI runs as root): %v %s", err, out)
		}
		t.Skipf("cannot bind mount (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := filepath.Join(dir, "t.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	// While the database is open for writing the kernel refuses to make its
	// filesystem read-only: the fault cannot happen under a running server.
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err == nil {
		t.Errorf("remounting read-only under an open database succeeded: this kernel allows the fault under a running server, which docs/RELIABILITY.md says it refuses")
		exec.Command("mount", "-o", "remount,bind,rw", dir).Run()
	} else {
		t.Logf("remount read-only while open: %v %s", err, strings.TrimSpace(string(out)))
	}
	db.Close()
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	_, err = sqlite.Open(ctx, path)
	if !errors.Is(err, fetchsms.ErrReadOnly) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("open on a read-only mount: %v, want ErrReadOnly naming %s", err, dir)
	}
	t.Logf("open on a read-only mount: %v", err)
	// Writable again: it opens, with what it had.
	if out, err := exec.Command("mount", "-o", "remount,bind,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-write: %v %s", err, out)
	}
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open after remounting read-write: %v", err)
	}
	defer db.Close()
	if _, err := db.ServiceByRef(ctx, "telegram"); err != nil {
		t.Fatal(err)
	}
}
