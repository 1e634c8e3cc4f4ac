package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fetchsms/fetchsms/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestBenchCommand runs `fetchsms bench` end to end, briefly: the server and the
// baseline start as child processes (this test binary, acting as fetchsms), every
// phase runs, and every figure is printed. It asserts no figure (performance is
// shown by the command, not tested).
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two child processes")
	}
	benchWithTestBinary(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--duration", "300ms", "--keys", "20", "--webhooks", "5", "--list-rows", "2000", "--waiters", "40", "--waiter-accounts", "4", "--waiter-sms", "8"}, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, row := range []string{"GET /v1/verifications/{id}", "GET /v1/services", "purchase + cancel pairs", "inbound SMS → webhook POST", "history page, ", "server peak RSS", "with 40 waiters: GET /v1/services", "server RSS, 40 waiters", "inbound SMS → its waiters"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q row in:\n%s", row, out.String())
		}
	}
}

// TestBenchPostgres runs `fetchsms bench --database-url …` briefly: the run's
// database is made on the cluster and dropped after, pgbench runs beside the
// load, and the pairs row is printed as a share of pgbench's tps; a pgx-only
// parameter in the URL reaches the server and not PostgreSQL. It asserts no
// figure.
func TestBenchPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two child processes and pgbench")
	}
	pgtest.Available(t)
	benchWithTestBinary(t)
	base := os.Getenv(pgtest.EnvURL)
	count := func() int {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'fetchsms_bench_%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	withParam := func(u, p string) string {
		if strings.Contains(u, "?") {
			return u + "&" + p
		}
		return u + "?" + p
	}
	before := count()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--database-url", withParam(base, "pool_max_conns=4"), "--duration", "1s", "--keys", "20", "--webhooks", "5", "--list-rows", "2000", "--waiters", "0"}, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, row := range []string{"bench on PostgreSQL", "GET /v1/verifications/{id}", "GET /v1/services", "pairs (8 acc.) vs pgbench (8 cl., 8 br.)", "inbound SMS → webhook POST", "history page, 2", "server peak RSS"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q row in:\n%s", row, out.String())
		}
	}
	if after := count(); after != before {
		t.Errorf("%d bench databases left on the cluster (%d before)", after, before)
	}
}

// TestBenchPrintsServerError: when the bench's server does not start, the bench
// says why (the server's own error), not only that it did not.
func TestBenchPrintsServerError(t *testing.T) {
	benchWithTestBinary(t)
	// The bench has no --writer-cpu; the server it starts reads the variable.
	t.Setenv("FETCHSMS_WRITER_CPU", "banana")
	var stdout, stderr bytes.Buffer
	if code := cli(context.Background(), []string{"bench", "--duration", "100ms", "--keys", "2"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	for _, w := range []string{"fetchsms: bench: the server did not start: ", `FETCHSMS_WRITER_CPU="banana"`} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("printed %q, want %q", stderr.String(), w)
		}
	}
}

// benchWithTestBinary makes the bench run this test binary, acting as fetchsms
// (see TestMain), as its server and baseline, until the test ends.
func benchWithTestBinary(t *testing.T) {
	old := benchCommand
	benchCommand = func(ctx context.Context, args ...string) *exec.Cmd {
		argv, _ := json.Marshal(args)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(argv))
		return cmd
	}
	t.Cleanup(func() { benchCommand = old })
}

// TestBenchSoak runs `fetchsms bench --soak` briefly: the mixed load, a row
// every 5 s, the flatness verdict and the invariant checks all run, so the code
// path of the 30-minute soak is covered. Its verdict is printed, not asserted on
// this shared machine, except the checks that do not depend on timing: no
// operation failed, every SMS's webhook arrived, the invariants hold.
func TestBenchSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process for 20 s")
	}
	benchWithTestBinary(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "--soak", "20s", "--soak-every", "5s", "--soak-rate", "100"}, &out, io.Discard)
	t.Logf("soak:\n%s", out.String())
	for _, row := range []string{"ops/s", "RSS", "goroutines", "p99", "webhooks: ", "invariants ("} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q in the soak's output", row)
		}
	}
	for _, bad := range []string{"errors: ", "webhooks: 0 inbound", "MISSED", "not judged", " -1\n"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("the soak printed %q", bad)
		}
	}
	if err != nil && !strings.Contains(out.String(), "GREW") {
		t.Errorf("soak: %v", err)
	}
}
