// Package pgtest gives each test a fresh PostgreSQL database, made on the server
// that FETCHSMS_TEST_DATABASE_URL names (scripts/with-postgres.sh starts one) and
// dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that holds the server's URL.
const EnvURL = "FETCHSMS_TEST_DATABASE_URL"

// Available reports whether PostgreSQL tests can run. When they cannot, it skips
// the test, or fails it under CI=true: CI must run every engine.
func Available(t testing.TB) bool {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI must run the PostgreSQL tests (scripts/with-postgres.sh starts a server)", EnvURL)
	}
	t.Skipf("%s is not set: skipping PostgreSQL (run under scripts/with-postgres.sh)", EnvURL)
	return false
}

// NewDatabase creates an empty database and returns its URL; it is dropped on
// cleanup. Without a server it skips (or fails under CI=true), like Available.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Available(t)
	base := os.Getenv(EnvURL)
	b := make([]byte, 8)
	rand.Read(b)
	name := "fetchsms_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", EnvURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: connect for cleanup: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}
