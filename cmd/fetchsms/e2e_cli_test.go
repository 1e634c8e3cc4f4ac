package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestCLIWhileServing runs the operator commands against the database file of a
// running (non-sandbox) server, then uses what they made over HTTP.
func TestCLIWhileServing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := context.Background()
	email := "ops-" + randomHex(4) + "@example.com"

	var adminSession string
	t.Run("UserCreateAdmin", func(t *testing.T) {
		var out bytes.Buffer
		err := run(ctx, []string{"user", "create", "--db", s.DBPath, "--email", email, "--password", "operator-pass", "--role", "admin"}, &out, &out)
		if err != nil {
			t.Fatalf("user create: %v\n%s", err, out.String())
		}
		li := s.call(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": email, "password": "operator-pass"}, http.StatusOK)
		u, _ := li["user"].(map[string]any)
		if u == nil || u["role"] != "admin" {
			t.Fatalf("login user = %v, want role admin", li["user"])
		}
		adminSession = str(t, li["token"])
		acct := s.call(t, http.MethodGet, "/v1/account", adminSession, nil, http.StatusOK)
		if acct["role"] != "admin" || acct["email"] != email {
			t.Errorf("account = %v", acct)
		}
		s.list(t, "/v1/admin/users", adminSession)
	})
	t.Run("UserCreateDuplicateFails", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(ctx, []string{"user", "create", "--db", s.DBPath, "--email", email, "--password", "operator-pass"}, &out, &out); err == nil {
			t.Errorf("creating %s twice succeeded", email)
		}
	})
	t.Run("UserCreateCustomerDefault", func(t *testing.T) {
		var out bytes.Buffer
		e2 := "cust-" + randomHex(4) + "@example.com"
		if err := run(ctx, []string{"user", "create", "--db", s.DBPath, "--email", e2, "--password", "customer-pass"}, &out, &out); err != nil {
			t.Fatalf("user create: %v\n%s", err, out.String())
		}
		li := s.call(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": e2, "password": "customer-pass"}, http.StatusOK)
		if u, _ := li["user"].(map[string]any); u == nil || u["role"] != "customer" {
			t.Errorf("default role = %v, want customer", li["user"])
		}
	})
	t.Run("GatewayCreateTokenWorks", func(t *testing.T) {
		if adminSession == "" {
			t.Skip("no admin session (UserCreateAdmin failed)")
		}
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"gateway", "create", "--db", s.DBPath, "--name", "CLI bank"}, &out, &errOut); err != nil {
			t.Fatalf("gateway create: %v\n%s%s", err, out.String(), errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		token := strings.TrimSpace(lines[len(lines)-1])
		if !strings.HasPrefix(token, "fsg_") {
			t.Fatalf("last line %q is not a gateway token; output:\n%s", token, out.String())
		}
		var gwID string
		for _, g := range s.list(t, "/v1/admin/gateways", adminSession) {
			if g["name"] == "CLI bank" {
				gwID = str(t, g["id"])
			}
		}
		if gwID == "" {
			t.Fatalf("the CLI gateway is not listed by the server")
		}
		m := s.call(t, http.MethodPost, "/v1/admin/numbers", adminSession, map[string]any{"gateway_id": gwID, "numbers": []string{"+16465550199"}}, http.StatusCreated)
		if num(t, m["added"]) != 1 {
			t.Fatalf("import = %v", m)
		}
		ans := s.call(t, http.MethodPost, "/v1/inbound/sms", token, map[string]any{"id": "cli-1", "to": "+16465550199", "from": "Telegram", "body": "Telegram code: 424242"}, http.StatusAccepted)
		if ans["id"] == nil || ans["routed_to"] != nil {
			t.Errorf("inbound answer = %v, want an id and routed_to null", ans)
		}
	})
	t.Run("BadCommandsFail", func(t *testing.T) {
		var out bytes.Buffer
		for _, args := range [][]string{
			{"user", "create", "--db", s.DBPath, "--email", "x@example.com"},
			{"gateway", "create", "--db", s.DBPath},
			{"frobnicate"},
		} {
			if err := run(ctx, args, &out, &out); err == nil {
				t.Errorf("run %v succeeded", args)
			}
		}
	})
}

// TestServeWriterCPUFlag: --writer-cpu (no effect since session 7) still takes
// auto, off or a CPU number; anything else stops the server before it listens.
func TestServeWriterCPUFlag(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"banana", "-1"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/w.db", "--writer-cpu", v}, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "CPU") {
			t.Errorf("--writer-cpu %s: %v, want an error naming the CPU", v, err)
		}
	}
	s := startServer(t, "--writer-cpu", "100000")
	if len(s.list(t, "/v1/services", "")) == 0 {
		t.Error("no services from a server started with --writer-cpu 100000")
	}
}

// TestCLIPrintsCause: a failing operator command prints the cause of its error,
// the whole chain, never a bare "internal error" (the operator is no customer).
// The store is made to fail inside its transaction: a trigger refuses new users
// and gateways.
func TestCLIPrintsCause(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "refusing.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TRIGGER refuse_users BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'users are refused by the test trigger'); END`,
		`CREATE TRIGGER refuse_gateways BEFORE INSERT ON gateways BEGIN SELECT RAISE(ABORT, 'gateways are refused by the test trigger'); END`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"user", "create", "--db", path, "--email", "x@example.com", "--password", "operator-pass"},
			[]string{"fetchsms: user create: CreateUser: ", "users are refused by the test trigger"}},
		{[]string{"gateway", "create", "--db", path, "--name", "Refused bank"},
			[]string{"fetchsms: gateway create: CreateGateway: ", "gateways are refused by the test trigger"}},
		{[]string{"user", "create", "--db", "/nonexistent-dir/x.db", "--email", "x@example.com", "--password", "operator-pass"},
			[]string{"fetchsms: ", "unable to open database file"}},
		{[]string{"gateway", "create", "--database-url", "postgres://%zz", "--name", "N"},
			[]string{"fetchsms: ", "postgres://%zz", "invalid percent-encoded"}},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--db", "/nonexistent-dir/x.db"},
			[]string{"fetchsms: ", "unable to open database file"}},
	} {
		var stdout, stderr bytes.Buffer
		if code := cli(ctx, c.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit status %d, want 2", c.args, code)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v printed %q, want the cause %q", c.args, stderr.String(), w)
			}
		}
		if strings.Contains(stderr.String(), "internal error") {
			t.Errorf("%v printed %q: a generic message", c.args, stderr.String())
		}
	}
}

// TestSandboxRefusesUnsafeTargets: the sandbox seeds accounts whose passwords
// are public, so it starts only on loopback and on a database a sandbox made (or
// an empty one), unless --sandbox-force says so (issue 19, finding 5).
func TestSandboxRefusesUnsafeTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prod := filepath.Join(t.TempDir(), "prod.db")
	if code := cli(ctx, []string{"user", "create", "--db", prod, "--email", "ops@example.com", "--password", "operator-pass", "--role", "admin"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("user create: exit %d", code)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--sandbox", "--addr", "0.0.0.0:0", "--db", filepath.Join(t.TempDir(), "s.db")}, "listens only on loopback"},
		{[]string{"serve", "--sandbox", "--addr", ":0", "--db", filepath.Join(t.TempDir(), "s.db")}, "listens only on loopback"},
		{[]string{"serve", "--sandbox", "--addr", "127.0.0.1:0", "--db", prod}, "holds accounts no sandbox made"},
	} {
		var stderr bytes.Buffer
		if code := cli(ctx, c.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) || !strings.Contains(stderr.String(), "--sandbox-force") {
			t.Errorf("%v: exit %d, %q; want refused with %q", c.args, code, stderr.String(), c.want)
		}
	}
	// Forced, it starts; and a database a sandbox made starts again without force.
	sbx := filepath.Join(t.TempDir(), "sbx.db")
	for _, args := range [][]string{{"--sandbox-force", "--db", prod}, {"--db", sbx}, {"--db", sbx}} {
		started(t, append([]string{"serve", "--sandbox", "--simulator=false", "--addr", "127.0.0.1:0"}, args...))
	}
}

// started runs the CLI until it says it is listening, then stops it; it fails
// the test when the command ends first or with an error.
func started(t *testing.T, args []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs lockedBuffer
	done := make(chan int, 1)
	go func() { done <- cli(ctx, args, &out, &errs) }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("%v ended (exit %d) before listening: %s", args, code, errs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v is not listening after 30 s: %s", args, errs.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs.String())
	}
}

// TestUserCreatePasswordOffArgv: user create takes the password from standard
// input or from FETCHSMS_PASSWORD, so it need not be on the command line where
// every local user can read it (issue 19, finding 10).
func TestUserCreatePasswordOffArgv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	run := func(args []string, env []string, in string) {
		t.Helper()
		argv, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), childEnv+"="+string(argv)), env...)
		cmd.Stdin = strings.NewReader(in)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run([]string{"user", "create", "--db", path, "--email", "stdin@example.com", "--password-stdin"}, nil, "from-stdin-pass\n")
	run([]string{"user", "create", "--db", path, "--email", "env@example.com"}, []string{"FETCHSMS_PASSWORD=from-env-pass"}, "")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app, err := fetchsms.New(context.Background(), db, fetchsms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for email, pw := range map[string]string{"stdin@example.com": "from-stdin-pass", "env@example.com": "from-env-pass"} {
		if _, _, err := app.Login(context.Background(), email, pw); err != nil {
			t.Errorf("login %s with the password given off argv: %v", email, err)
		}
	}
	var stderr bytes.Buffer
	if code := cli(context.Background(), []string{"user", "create", "--db", path, "--email", "x@example.com", "--password", "a-password", "--password-stdin"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "exclusive") {
		t.Errorf("--password with --password-stdin: exit %d, %s", code, stderr.String())
	}
}
