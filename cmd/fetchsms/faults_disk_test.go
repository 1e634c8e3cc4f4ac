package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// smallDisk mounts a tmpfs of size bytes for the test (root only) and returns
// its directory; it is unmounted when the test ends. Without the right to mount,
// the test is skipped, or fails under CI=true (CI runs as root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %s tmpfs (CI runs as root): %v %s", size, err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file into dir until the filesystem is full and returns its
// path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill: %v", err)
				}
				break
			}
		}
	}
	return path
}

// TestSQLiteDiskFull fills the disk under a running SQLite server: writes answer
// 503 unavailable with a detail that says the storage is full, reads keep
// working, and once space is freed writes resume without a restart; the file
// passes SQLite's integrity check and the invariants hold.
func TestSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	dir := smallDisk(t, "48m")
	dbPath := filepath.Join(dir, "t.db")
	s := startServerWith(t, []string{"--db", dbPath}, dbPath, "--sandbox", "--simulator=false")
	session, id := s.signup(t)
	s.fund(t, id, 1_000_000)
	api, err := client.New(s.BaseURL, session, client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	buyAndCancel := func() error {
		v, err := api.CreateVerification(ctx, client.VerificationRequest{Service: "4"})
		if err != nil {
			return err
		}
		_, err = api.CancelVerification(ctx, v.ID)
		return err
	}
	if err := buyAndCancel(); err != nil {
		t.Fatalf("before the disk fills: %v", err)
	}

	filler := fillDisk(t, dir)
	// The WAL may still have room from earlier writes: write until a write is
	// refused, each answer a success or a 503.
	var refused *client.APIError
	for i := 0; i < 2000 && refused == nil; i++ {
		err := buyAndCancel()
		var ae *client.APIError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Status == 503 && ae.Code == client.CodeUnavailable:
			refused = ae
		default:
			t.Fatalf("write %d on a full disk: %v, want success or 503 unavailable", i, err)
		}
	}
	if refused == nil {
		t.Fatal("2000 purchases on a full disk all succeeded")
	}
	t.Logf("refused: %d %s %q", refused.Status, refused.Code, refused.Detail)
	if refused.Detail == "" || !strings.Contains(refused.Detail, "full") {
		t.Errorf("detail %q does not say the storage is full", refused.Detail)
	}
	// The same refusal again, and reads keep working.
	st, hdr, raw, err := s.send("POST", "/v1/verifications", session, map[string]any{"service": 4})
	if err != nil || st != 503 {
		t.Fatalf("purchase on a full disk: %d %s %v", st, raw, err)
	}
	assertErrorBody(t, "purchase on a full disk", hdr, raw)
	if hdr.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	before := s.balance(t, session)
	if _, err := api.Ledger(ctx, client.ListOptions{}); err != nil {
		t.Errorf("ledger on a full disk: %v", err)
	}
	if _, err := api.Services(ctx); err != nil {
		t.Errorf("services on a full disk: %v", err)
	}

	// Space returns: writes resume, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := buyAndCancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not resume within 10 s of freeing space: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := s.balance(t, session); got != before {
		t.Errorf("balance %d after a purchase and its cancel, want %d", got, before)
	}
	integrityCheck(t, dbPath)
}

// integrityCheck runs PRAGMA integrity_check on a SQLite file (read-only).
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q %v", res, err)
	}
}
