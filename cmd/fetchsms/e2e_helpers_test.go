package main

// End-to-end test helpers: every e2e test boots the real server through run (the
// same function main calls) on port 0 with a database in t.TempDir(), and drives it
// over HTTP like a customer, an admin or a gateway would.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/client"
	"github.com/fetchsms/fetchsms/internal/sealbox"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/postgres/pgtest"
	"github.com/fetchsms/fetchsms/sqlite"
)

// testServer is one running server, started by startServer.
type testServer struct {
	BaseURL      string
	DBPath       string // the SQLite file, or the PostgreSQL URL
	APIKey       string // sandbox demo API key (fsk_…); "" outside sandbox
	DemoSession  string // sandbox demo session (fss_…)
	AdminSession string // sandbox admin session (fss_…)

	client *http.Client
	log    *lockedBuffer // the server's log (in-process servers only)
	stop   func()        // shuts the server down as SIGTERM would (once)
}

// lockedBuffer is an io.Writer safe for concurrent use (the server's logger).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startupTimeout bounds the wait for the banner. Startup hashes a few argon2id
// passwords (64 MiB each), which under -race on a small, busy machine can take
// several seconds; 10 s proved flaky there.
const startupTimeout = 30 * time.Second

// startServer runs `fetchsms serve --addr 127.0.0.1:0 --db <temp> args…` in a
// goroutine and waits (startupTimeout at most) for its banner. On cleanup it cancels the
// context, waits for the ordered shutdown, then checks the database invariants.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	return startServerOn(t, engineSQLite, args...)
}

// Storage engines the end-to-end tests run on.
const (
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
)

// forEachEngine runs fn as a parallel subtest per engine: SQLite always, and
// PostgreSQL when FETCHSMS_TEST_DATABASE_URL is set (under CI=true it must be).
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range []string{engineSQLite, enginePostgres} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if engine == enginePostgres {
				pgtest.Available(t)
			}
			fn(t, engine)
		})
	}
}

// newStorage returns the storage flags of a fresh database on engine, and the
// database's name for checkInvariants (a file path or a URL).
func newStorage(t *testing.T, engine string) (flags []string, ref string) {
	t.Helper()
	if engine == enginePostgres {
		url := pgtest.NewDatabase(t)
		return []string{"--database-url", url}, url
	}
	path := filepath.Join(t.TempDir(), "t.db")
	return []string{"--db", path}, path
}

// startServerOn is startServer on a fresh database of engine.
func startServerOn(t *testing.T, engine string, args ...string) *testServer {
	t.Helper()
	storage, dbPath := newStorage(t, engine)
	return startServerWith(t, storage, dbPath, args...)
}

// startServerWith is startServer on the storage that flags name (dbPath as
// newStorage returns it, for checkInvariants).
func startServerWith(t *testing.T, storage []string, dbPath string, args ...string) *testServer {
	t.Helper()
	sandboxMode := false
	for _, a := range args {
		if a == "--sandbox" || a == "-sandbox" || a == "--sandbox=true" {
			sandboxMode = true
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append(append([]string{"serve", "--addr", "127.0.0.1:0"}, storage...), args...), pw, stderr)
		pw.Close()
		done <- err
	}()

	ts := &testServer{DBPath: dbPath, log: stderr, client: newSpecClient(t, &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if signalled {
				continue // keep draining so the server never blocks on stdout
			}
			switch {
			case strings.HasPrefix(line, "Fetch SMS listening on "):
				ts.BaseURL = strings.TrimSpace(strings.TrimPrefix(line, "Fetch SMS listening on "))
			case strings.HasPrefix(line, "  admin session: "):
				ts.AdminSession = strings.TrimSpace(strings.TrimPrefix(line, "  admin session: "))
			case strings.HasPrefix(line, "  demo session:"):
				ts.DemoSession = strings.TrimSpace(strings.TrimPrefix(line, "  demo session:"))
			case strings.HasPrefix(line, "fsk_"):
				ts.APIKey = strings.TrimSpace(line)
			}
			if ts.BaseURL != "" && (!sandboxMode || ts.APIKey != "") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, pr)
	}()

	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after shutdown", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("run did not return within 20s of cancel")
		}
		ts.client.CloseIdleConnections()
	}
	ts.stop = stop
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run returned before the server was ready: %v\nstderr:\n%s", err, stderr.String())
	case <-time.After(startupTimeout):
		stop()
		t.Fatalf("server not ready within %v\nstderr:\n%s", startupTimeout, stderr.String())
	}
	t.Cleanup(func() {
		stop()
		log := stderr.String()
		// A 500 or a panic is logged at ERROR: the API must never answer one.
		for _, line := range strings.Split(log, "\n") {
			// Work cut short by the shutdown itself (a simulated SMS in flight) is not a bug.
			if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "context canceled") {
				t.Errorf("server logged an error: %s", line)
			}
		}
		// Secrets and message bodies never reach the log.
		for _, secret := range []string{"fsk_", "fss_", "fsg_", "whsec_", "code: ", "code is "} {
			if strings.Contains(log, secret) {
				t.Errorf("server log contains %q", secret)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log)
		}
		// After the ordered shutdown, the file must still satisfy every invariant.
		checkInvariants(t, dbPath)
	})
	if sandboxMode {
		for name, v := range map[string]string{"admin session": ts.AdminSession, "demo session": ts.DemoSession} {
			if !strings.HasPrefix(v, "fss_") {
				t.Fatalf("sandbox banner: %s = %q, want fss_…", name, v)
			}
		}
	}
	return ts
}

// checkInvariants opens the database (a SQLite path or a PostgreSQL URL) in-process and asserts the money and
// inventory invariants: balances equal ledger sums, none negative, no purchase
// refunded twice, no number held twice, no refund without its purchase.
func checkInvariants(t *testing.T, dbPath string) {
	t.Helper()
	ctx := context.Background()
	var db fetchsms.Store
	var err error
	if strings.HasPrefix(dbPath, "postgres://") {
		db, err = postgres.Open(ctx, dbPath)
	} else {
		db, err = sqlite.Open(ctx, dbPath)
	}
	if err != nil {
		t.Errorf("open %s for the invariant check: %v", dbPath, err)
		return
	}
	defer db.Close()
	c, err := db.CheckInvariants(ctx, time.Now())
	if err != nil {
		t.Errorf("CheckInvariants: %v", err)
		return
	}
	if !c.OK() || c.DoubleRefunds != 0 || c.DoubleHeldNumbers != 0 {
		t.Errorf("invariants broken: %+v", c)
	}
}

// api returns the Go client of the server with token (an API key or a session),
// as a customer's program would use it. It shares the test's connections but not
// their timeout, so that long-polls may wait.
func (s *testServer) api(t *testing.T, token string) *client.Client {
	t.Helper()
	c, err := client.New(s.BaseURL, token, client.WithHTTPClient(&http.Client{Transport: s.client.Transport}),
		client.WithBackoff(50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noErr returns v, failing the test on err: noErr(t)(call()).
func noErr[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantAPIError requires err to be an error answer of status whose code is a
// documented word (and code, when given), with a detail; it returns the answer.
func wantAPIError(t *testing.T, what string, err error, status int, code ...string) *client.APIError {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v, want an error answer %d", what, err, status)
	}
	if e.Status != status || !documentedCodes[e.Code] || strings.TrimSpace(e.Detail) == "" || len(code) > 0 && e.Code != code[0] {
		t.Fatalf("%s: %d %q %q, want %d %v with a detail", what, e.Status, e.Code, e.Detail, status, code)
	}
	return e
}

// do sends one request. body may be nil (no body), a string or []byte (sent
// verbatim), or anything else (sent as JSON). token, when set, goes in
// Authorization: Bearer. Every error answer is checked to be exactly
// {"detail": "<non-empty>"}.
func (s *testServer) do(t *testing.T, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	status, hdr, raw, err := s.send(method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status >= 400 {
		assertErrorBody(t, fmt.Sprintf("%s %s → %d", method, path, status), hdr, raw)
	}
	return status, hdr, raw
}

// send is do without the test: safe to call from any goroutine.
func (s *testServer) send(method, path, token string, body any) (int, http.Header, []byte, error) {
	return s.sendWith(method, path, token, body, nil)
}

// sendWith is send with extra request headers.
func (s *testServer) sendWith(method, path, token string, body any, extra http.Header) (int, http.Header, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("marshal request body: %w", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.BaseURL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// assertErrorBody checks an error answer: JSON, exactly the keys "detail" (a
// non-empty string, the seed's) and "code" (a documented word, SPEC §3).
func assertErrorBody(t *testing.T, what string, hdr http.Header, raw []byte) {
	t.Helper()
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s: error body is not a JSON object: %v: %s", what, err, raw)
		return
	}
	d, ok := m["detail"].(string)
	c, _ := m["code"].(string)
	if len(m) != 2 || !ok || strings.TrimSpace(d) == "" || !documentedCodes[c] {
		t.Errorf("%s: error body must be exactly {\"detail\": \"…\", \"code\": <a documented word>}, got %s", what, raw)
	}
}

// call sends a request, requires status want, and decodes the answer as a JSON
// object (nil for an empty body).
func (s *testServer) call(t *testing.T, method, path, token string, body any, want int) map[string]any {
	t.Helper()
	status, _, raw := s.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return decode[map[string]any](t, raw)
}

// list sends a request, requires 200, and decodes the answer as a JSON array of objects.
func (s *testServer) list(t *testing.T, path, token string) []map[string]any {
	t.Helper()
	status, _, raw := s.do(t, http.MethodGet, path, token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", path, status, raw)
	}
	return decode[[]map[string]any](t, raw)
}

// expect sends a request and requires status want; it returns the detail of an error.
func (s *testServer) expect(t *testing.T, method, path, token string, body any, want int) string {
	t.Helper()
	status, _, raw := s.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if status >= 400 {
		return decode[map[string]any](t, raw)["detail"].(string)
	}
	return ""
}

// decode unmarshals raw into a T, failing the test when it cannot.
func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, raw)
	}
	return v
}

// num returns a JSON number of a decoded map as an int64; it fails on anything else.
func num(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("expected a JSON number, got %T %v", v, v)
	}
	if f != float64(int64(f)) {
		t.Fatalf("expected an integer, got %v", f)
	}
	return int64(f)
}

// str returns a JSON string of a decoded map; it fails on anything else.
func str(t *testing.T, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("expected a JSON string, got %T %v", v, v)
	}
	return s
}

// parseTS parses an API timestamp, which must be ISO-8601 UTC with a Z.
func parseTS(t *testing.T, v any) time.Time {
	t.Helper()
	s := str(t, v)
	if !strings.HasSuffix(s, "Z") {
		t.Fatalf("timestamp %q is not UTC with a Z", s)
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return ts
}

var displayNumber = regexp.MustCompile(`^\(\d{3}\) \d{3}-\d{4}$`)

// e164 turns the displayed "(332) 555-0184" back into "+13325550184".
func e164(t *testing.T, display string) string {
	t.Helper()
	if !displayNumber.MatchString(display) {
		t.Fatalf("number %q is not shown as (ddd) ddd-dddd", display)
	}
	var d []byte
	for i := 0; i < len(display); i++ {
		if display[i] >= '0' && display[i] <= '9' {
			d = append(d, display[i])
		}
	}
	return "+1" + string(d)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signup makes a fresh customer over HTTP and returns its session token and user id.
func (s *testServer) signup(t *testing.T) (token, userID string) {
	t.Helper()
	email := "user-" + randomHex(6) + "@example.com"
	m := s.call(t, http.MethodPost, "/v1/auth/signup", "", map[string]any{"email": email, "password": "correct horse battery"}, http.StatusCreated)
	token = str(t, m["token"])
	if !strings.HasPrefix(token, "fss_") {
		t.Fatalf("signup token %q, want fss_…", token)
	}
	user, ok := m["user"].(map[string]any)
	if !ok {
		t.Fatalf("signup answer has no user object: %v", m)
	}
	if user["email"] != email || user["role"] != "customer" {
		t.Fatalf("signup user = %v, want email %s role customer", user, email)
	}
	return token, str(t, user["id"])
}

// fund credits a user through the admin adjustment endpoint (sandbox admin session).
func (s *testServer) fund(t *testing.T, userID string, cents int64) map[string]any {
	t.Helper()
	return s.call(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession,
		map[string]any{"amount_cents": cents, "reason": "e2e test credit"}, http.StatusCreated)
}

// balance returns the wallet balance of a session's (or an API key's) user.
func (s *testServer) balance(t *testing.T, session string) int64 {
	t.Helper()
	b, err := s.api(t, session).Balance(context.Background())
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	return b.BalanceCents
}

// ledger returns the whole ledger of a session's user (200 entries at most),
// newest first.
func (s *testServer) ledger(t *testing.T, session string) []client.LedgerEntry {
	t.Helper()
	p, err := s.api(t, session).Ledger(context.Background(), client.ListOptions{Limit: 200})
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return p.Items
}

// advance moves the sandbox clock forward.
func (s *testServer) advance(t *testing.T, seconds int64) {
	t.Helper()
	s.call(t, http.MethodPost, "/v1/sandbox/clock/advance", s.AdminSession, map[string]any{"seconds": seconds}, http.StatusOK)
}

// sms delivers an SMS through the sandbox endpoint (the number's own gateway) and
// returns the inbound answer {id, routed_to}.
func (s *testServer) sms(t *testing.T, to, from, body string) map[string]any {
	t.Helper()
	return s.call(t, http.MethodPost, "/v1/sandbox/sms", s.AdminSession, map[string]any{"to": to, "from": from, "body": body}, http.StatusAccepted)
}

// ledgerFor returns the ledger entries (newest first) that name the purchase id.
func (s *testServer) ledgerFor(t *testing.T, session, purchaseID string) []client.LedgerEntry {
	t.Helper()
	var out []client.LedgerEntry
	for _, e := range s.ledger(t, session) {
		if e.VerificationID == purchaseID || e.RentalID == purchaseID {
			out = append(out, e)
		}
	}
	return out
}

// kinds lists the kinds of ledger entries.
func kinds(entries []client.LedgerEntry) []string {
	var k []string
	for _, e := range entries {
		k = append(k, e.Kind)
	}
	return k
}

// documentedCodes are the words docs/ERRORS.md lists for an error's "code": the
// Go client's, which its own test holds to the server's (fetchsms.Reasons).
var documentedCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range client.Codes {
		m[c] = true
	}
	return m
}()

// secretKeyFile writes a fresh secret key to a file for --secret-key-file: the
// same on both engines (PostgreSQL servers make none up).
func secretKeyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte(sealbox.NewKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startWithGateway starts a sandbox that answers no purchase by itself, with a
// secret key, and makes a gateway whose token the server keeps for gateway
// software that signs or sends it.
func startWithGateway(t *testing.T, engine, name string) (s *testServer, id, token string) {
	t.Helper()
	s = startServerOn(t, engine, "--sandbox", "--simulator=false", "--secret-key-file", secretKeyFile(t))
	gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": name}, http.StatusCreated)
	if gw["signs"] != true {
		t.Fatalf("gateway = %v: its token must be kept", gw)
	}
	return s, str(t, gw["id"]), str(t, gw["token"])
}
