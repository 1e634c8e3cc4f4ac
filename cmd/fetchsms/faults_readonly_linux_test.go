package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/client"
	"github.com/fetchsms/fetchsms/sqlite"
)

// bindMount bind-mounts a fresh directory onto another for the test (root
// only) and returns the mounted one; it is unmounted when the test ends.
// Without the right to mount the test is skipped, or fails under CI=true (CI
// runs as root).
func bindMount(t *testing.T) string {
	t.Helper()
	src, dir := t.TempDir(), t.TempDir()
	if out, err := exec.Command("mount", "--bind", src, dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bind mount (CI runs as root): %v %s", err, out)
		}
		t.Skipf("cannot bind mount (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// remount makes a bind mount read-only ("ro") or writable ("rw").
func remount(dir, mode string) error {
	if out, err := exec.Command("mount", "-o", "remount,bind,"+mode, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("remount %s %s: %w: %s", mode, dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// TestSQLiteReadOnly: the SQLite database's filesystem made read-only. Under
// a running server the kernel refuses it (the database is open for writing:
// EBUSY), and the server goes on writing and reading. A server started on a
// read-only filesystem stops at once with an error that says so and names the
// directory; remounted read-write, the same database serves again with
// everything it had, and passes SQLite's integrity check.
func TestSQLiteReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := bindMount(t)
	dbPath := filepath.Join(dir, "t.db")
	s := startServerWith(t, []string{"--db", dbPath}, dbPath, "--sandbox", "--simulator=false")
	session, id := s.signup(t)
	s.fund(t, id, 1_000_000)
	api, err := client.New(s.BaseURL, session, client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	buyAndCancel := func() error {
		v, err := api.CreateVerification(ctx, client.VerificationRequest{Service: "4"})
		if err != nil {
			return err
		}
		_, err = api.CancelVerification(ctx, v.ID)
		return err
	}
	if err := buyAndCancel(); err != nil {
		t.Fatalf("before: %v", err)
	}
	if err := remount(dir, "ro"); err == nil {
		t.Fatalf("the filesystem of a running server's database was remounted read-only: the kernel allowed what docs/RELIABILITY.md says it refuses; this test must now prove 503s, reads and recovery")
	} else {
		t.Logf("refused under the running server: %v", err)
	}
	if err := buyAndCancel(); err != nil {
		t.Fatalf("after the refused remount: %v", err)
	}
	before := s.balance(t, session)

	// A second database, closed, on a filesystem remounted read-only: the
	// server will not start on it, and says why.
	dir2 := bindMount(t)
	path2 := filepath.Join(dir2, "t.db")
	db, err := sqlite.Open(ctx, path2)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := remount(dir2, "ro"); err != nil {
		t.Fatalf("a closed database's filesystem: %v", err)
	}
	var stdout, stderr lockedBuffer
	serveCtx, cancel := context.WithTimeout(ctx, 30*time.Second) // a server that did start stops then
	defer cancel()
	err = run(serveCtx, []string{"serve", "--addr", "127.0.0.1:0", "--db", path2}, &stdout, &stderr)
	if !errors.Is(err, fetchsms.ErrReadOnly) || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), dir2) {
		t.Fatalf("serve on a read-only filesystem: %v (stderr %q), want an error saying it is read-only and naming %s", err, stderr.String(), dir2)
	}
	t.Logf("serve on a read-only filesystem: %v", err)
	if err := remount(dir2, "rw"); err != nil {
		t.Fatal(err)
	}
	if db, err = sqlite.Open(ctx, path2); err != nil {
		t.Fatalf("open after remounting read-write: %v", err)
	}
	db.Close()

	if got := s.balance(t, session); got != before {
		t.Errorf("balance %d, want %d", got, before)
	}
	integrityCheck(t, dbPath)
	integrityCheck(t, path2)
}
