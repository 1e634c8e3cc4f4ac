// Package loadgen is the load generator behind `fetchsms bench`: it starts a
// sandbox server and a bare net/http baseline as child processes of the fetchsms
// binary, loads both over HTTP with a lean client, times webhooks and history
// pages, and reports each target of docs/PERFORMANCE.md as met or missed.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/fetchsms/fetchsms/sqlite" // registers the SQLite driver (cgo or pure Go): seedHistory writes the server's file
)

// BareCommand is the fetchsms command that runs the baseline, ServeBare, with the
// answers file as its one argument.
const BareCommand = "bench-bare"

// Options are the settings of one run (the flags of `fetchsms bench`).
type Options struct {
	Duration       time.Duration // length of each load phase
	Keys           int           // API keys to spread load over (each allows 100 req/s)
	Webhooks       int           // inbound SMS to time to their webhook POST
	CPUProfile     string        // where the server writes its CPU profile ("" for none)
	ListRows       int           // verifications in one customer's history for the list phase
	Waiters        int           // clients waiting at once (half long-poll, half event stream); 0 skips the phase
	WaiterAccounts int           // accounts the waiters are spread over (one rental each)
	WaiterSMS      int           // inbound SMS timed to their waiters
	PairAccounts   int           // accounts the purchase + cancel pairs are spread over (0 counts as 1)
	// DatabaseURL, when set, runs the server on PostgreSQL: on a database made for
	// the run on that URL's cluster (and dropped after it), beside pgbench's
	// TPC-B-like script on the same cluster (see postgres.go).
	DatabaseURL string
	PGBench     string // pgbench's path ("" finds it)

	// Command makes the command that runs the fetchsms binary with args, as the
	// server (`serve …`) or the baseline (BareCommand). Nil runs this executable
	// (os.Executable); tests run their own binary instead.
	Command func(ctx context.Context, args ...string) *exec.Cmd
}

// Run starts a real server as a child process on a temp database, loads it over
// HTTP beside a bare net/http handler that writes the same bytes (so ratios survive
// a noisy machine), and prints the figures of docs/PERFORMANCE.md to stdout.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	command, err := commandOrSelf(o.Command)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fetchsms-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var pg *pgDatabase
	dbArgs := []string{"--db", filepath.Join(dir, "bench.db")}
	if o.DatabaseURL != "" {
		if pg, err = newPGDatabase(ctx, o.DatabaseURL, o.PGBench); err != nil {
			return err
		}
		defer pg.drop()
		if err := pg.initPGBench(ctx); err != nil {
			return err
		}
		dbArgs = []string{"--database-url", pg.url}
	}
	srv, err := startBenchServer(ctx, command, dbArgs, o.CPUProfile)
	if err != nil {
		return err
	}
	srv.pg = pg
	defer srv.stop()
	b := &benchClient{base: srv.url, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}}

	// Setup: fund the demo account and mint API keys to spread the load.
	demoID, apiKeys, err := b.fundAndMintKeys(srv, "bench", o.Keys)
	if err != nil {
		return err
	}
	v, err := b.json("POST", "/v1/verifications", apiKeys[0], map[string]any{"service": 4}, 201)
	if err != nil {
		return err
	}
	vid := v["id"].(string)
	vresp, err := b.raw("GET", "/v1/verifications/"+vid, apiKeys[0])
	if err != nil {
		return err
	}
	sresp, err := b.raw("GET", "/v1/services", "")
	if err != nil {
		return err
	}

	bare, err := startBare(ctx, command, filepath.Join(dir, "bare.json"), map[string]*bareAnswer{"/v1/verifications/" + vid: vresp, "/v1/services": sresp})
	if err != nil {
		return err
	}
	defer bare.stop()
	bareURL := bare.url

	engine := "SQLite"
	if pg != nil {
		engine = "PostgreSQL"
	}
	fmt.Fprintf(stdout, "Fetch SMS bench on %s: %d connections per phase, %s each, %d API keys, GOMAXPROCS of this machine: %d cores\n\n", engine, 32, o.Duration, o.Keys, numCPU())
	fmt.Fprintf(stdout, "%-44s %12s %12s %8s %8s\n", "what", "server", "bare", "ratio", "target")
	pass := true
	row := func(what string, got, base float64, target float64, unit string) {
		ratio := got / base
		ok := ratio >= target
		pass = pass && ok
		fmt.Fprintf(stdout, "%-44s %10.0f/s %10.0f/s %7.0f%% %7.0f%% %s\n", what, got, base, 100*ratio, 100*target, mark(ok))
	}
	var ki atomic.Int64
	nextKey := func() string { return apiKeys[int(ki.Add(1))%len(apiKeys)] }

	vpath := "/v1/verifications/" + vid
	get := func(c *rawClient, path, token string) bool {
		st, _, err := c.do("GET", path, token, nil)
		return err == nil && st == 200
	}
	got := b.load(ctx, o.Duration, 32, srv.url, func(c *rawClient) bool { return get(c, vpath, nextKey()) })
	// The bare handler gets the same requests (the key too) and writes the same bytes.
	base := b.load(ctx, o.Duration, 32, bareURL, func(c *rawClient) bool { return get(c, vpath, nextKey()) })
	row("GET /v1/verifications/{id} (API key)", got, base, 0.5, "")
	basePoll := base

	got = b.load(ctx, o.Duration, 32, srv.url, func(c *rawClient) bool { return get(c, "/v1/services", "") })
	base = b.load(ctx, o.Duration, 32, bareURL, func(c *rawClient) bool { return get(c, "/v1/services", "") })
	row("GET /v1/services", got, base, 0.7, "")
	baseCatalog := base

	var tps float64
	if pg != nil {
		// pgbench on the same cluster, just before the pairs: the cluster's
		// figure for a plain transactional load at this moment.
		if tps, err = pg.pgbench(ctx, o.Duration); err != nil {
			return err
		}
	}
	pairKeys, err := b.pairKeys(srv, apiKeys, o.PairAccounts)
	if err != nil {
		return err
	}
	var pi atomic.Int64
	pairs := b.load(ctx, o.Duration, 16, srv.url, func(c *rawClient) bool {
		return purchaseAndCancel(c, pairKeys[int(pi.Add(1))%len(pairKeys)], false)
	})
	accounts := max(1, o.PairAccounts)
	if pg == nil {
		okPairs := pairs >= 3000
		pass = pass && okPairs
		fmt.Fprintf(stdout, "%-44s %10.0f/s %12s %8s %8s %s\n", fmt.Sprintf("purchase + cancel pairs (16 conn., %d acc.)", accounts), pairs, "", "", "3000/s", mark(okPairs))
	} else {
		// The target is a share of what the same cluster does for pgbench.
		row(fmt.Sprintf("pairs (%d acc.) vs pgbench (%d cl., %d br.)", accounts, PGBenchClients, PGBenchScale), pairs, tps, 0.4, "")
	}

	p50, p99, err := b.webhookLatency(ctx, srv, apiKeys[1], o.Webhooks)
	if err != nil {
		return err
	}
	okHook := p99 <= 25*time.Millisecond
	pass = pass && okHook
	fmt.Fprintf(stdout, "%-44s %9.2fms %10.2fms %8s %8s %s\n", "inbound SMS → webhook POST (p50, p99)", ms(p50), ms(p99), "", "≤25ms", mark(okHook))

	// Lists: one page of the history, before and after the customer's history
	// grows to list-rows verifications, at its newest, middle and oldest end.
	small, err := b.pageTime(apiKeys, "")
	if err != nil {
		return err
	}
	seed, dbRef := seedHistory, srv.db
	if pg != nil {
		seed, dbRef = seedHistoryPG, pg.libpq
	}
	before, first, last, err := seed(ctx, dbRef, demoID, o.ListRows)
	if err != nil {
		return err
	}
	var worst time.Duration
	var at [3]time.Duration
	for i, cursor := range []int64{0, (first + last) / 2, first + 51} {
		c := ""
		if cursor > 0 {
			c = strconv.FormatInt(cursor, 10)
		}
		if at[i], err = b.pageTime(apiKeys, c); err != nil {
			return err
		}
		worst = max(worst, at[i])
	}
	okList := worst <= 2*small
	pass = pass && okList
	fmt.Fprintf(stdout, "%-44s %10.0fµs %10.0fµs %7.1f× %8s %s\n", fmt.Sprintf("history page, %d rows vs %d", before+o.ListRows, before),
		float64(worst.Microseconds()), float64(small.Microseconds()), float64(worst)/float64(small), "≤2×", mark(okList))
	fmt.Fprintf(stdout, "%-44s newest %.0fµs, middle %.0fµs, oldest %.0fµs (median of 200)\n", "  (50-row pages; slowest of the ends above)",
		float64(at[0].Microseconds()), float64(at[1].Microseconds()), float64(at[2].Microseconds()))

	rss := srv.peakRSS()
	okRSS := rss > 0 && rss <= 150<<20
	pass = pass && okRSS
	fmt.Fprintf(stdout, "%-44s %10.1fMB %12s %8s %8s %s\n", "server peak RSS", float64(rss)/(1<<20), "", "", "≤150MB", mark(okRSS))

	if o.Waiters > 0 {
		// The poll and catalog phases again, beside the waiters (the bare
		// handler's figures from above).
		during := func() error {
			got := b.load(ctx, o.Duration, 32, srv.url, func(c *rawClient) bool { return get(c, vpath, nextKey()) })
			row(fmt.Sprintf("  with %d waiters: GET /v1/verifications/{id}", o.Waiters), got, basePoll, 0.5, "")
			got = b.load(ctx, o.Duration, 32, srv.url, func(c *rawClient) bool { return get(c, "/v1/services", "") })
			row(fmt.Sprintf("  with %d waiters: GET /v1/services", o.Waiters), got, baseCatalog, 0.7, "")
			return nil
		}
		w, err := b.waitersPhase(ctx, srv, o.Waiters, o.WaiterAccounts, o.WaiterSMS, during)
		if err != nil {
			return err
		}
		okW := w.rss <= 300<<20
		pass = pass && okW
		fmt.Fprintf(stdout, "%-44s %10.1fMB %12s %8s %8s %s\n", fmt.Sprintf("server RSS, %d waiters (½ long-poll, ½ SSE)", w.connected), float64(w.rss)/(1<<20), "", "", "≤300MB", mark(okW))
		okL := w.p99 <= 10*time.Millisecond
		pass = pass && okL
		fmt.Fprintf(stdout, "%-44s %9.2fms %10.2fms %8s %8s %s\n", "inbound SMS → its waiters (p50, p99)", ms(w.p50), ms(w.p99), "", "≤10ms", mark(okL))
		fmt.Fprintf(stdout, "%-44s %d arrivals of %d SMS over %d accounts (%d waiters each); slowest %.2fms\n", "  (every waiter of the SMS's rental/account)",
			w.samples, o.WaiterSMS, o.WaiterAccounts, o.Waiters/o.WaiterAccounts, ms(w.max))
	}
	if !pass {
		fmt.Fprintln(stdout, "\nsome targets are not met")
	} else {
		fmt.Fprintln(stdout, "\nevery target met")
	}
	return nil
}

// purchaseAndCancel buys a verification with key, reads it back when poll is
// set, and cancels it; it reports whether every step succeeded.
func purchaseAndCancel(c *rawClient, key string, poll bool) bool {
	st, body, err := c.do("POST", "/v1/verifications", key, []byte(`{"service": 4}`))
	if err != nil || st != 201 {
		return false
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || v.ID == "" {
		return false
	}
	if poll {
		if st, _, err = c.do("GET", "/v1/verifications/"+v.ID, key, nil); err != nil || st != 200 {
			return false
		}
	}
	st, _, err = c.do("POST", "/v1/verifications/"+v.ID+"/cancel", key, nil)
	// A cancel refused by the key's rate limit (a run with few keys) is sent
	// again: an uncancelled purchase would hold its number, and the pool would
	// run dry for the phases after this one.
	for i := 0; err == nil && st == http.StatusTooManyRequests && i < 40; i++ {
		time.Sleep(50 * time.Millisecond)
		st, _, err = c.do("POST", "/v1/verifications/"+v.ID+"/cancel", key, nil)
	}
	return err == nil && st == 200
}

// commandOrSelf is command, or (nil) one that runs this executable.
func commandOrSelf(command func(context.Context, ...string) *exec.Cmd) (func(context.Context, ...string) *exec.Cmd, error) {
	if command != nil {
		return command, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, exe, args...)
	}, nil
}

// fundAndMintKeys funds the sandbox's demo account and mints n API keys for
// it; it returns the account's id and the keys.
func (b *benchClient) fundAndMintKeys(srv *benchServer, reason string, n int) (string, []string, error) {
	acct, err := b.json("GET", "/v1/account", srv.demoSession, nil, 200)
	if err != nil {
		return "", nil, err
	}
	id := acct["id"].(string)
	if _, err := b.json("POST", "/v1/admin/users/"+id+"/adjustments", srv.adminSession, map[string]any{"amount_cents": 90_000_000, "reason": reason}, 201); err != nil {
		return "", nil, err
	}
	var keys []string
	for i := 0; i < n; i++ {
		k, err := b.json("POST", "/v1/api-keys", srv.demoSession, map[string]any{"name": fmt.Sprint(reason, " ", i)}, 201)
		if err != nil {
			return "", nil, err
		}
		keys = append(keys, k["key"].(string))
	}
	return id, keys, nil
}

// pairKeys returns the API keys the pairs phase uses, spread over accounts
// accounts: the demo account's keys and, for each further account (signed up and
// funded here), as many keys of its own, interleaved so that consecutive pairs
// buy for different accounts. A customer's purchases and cancels take its
// wallet's row one at a time; the bench's load, like pgbench's TPC-B-like script
// over its branches, comes from several customers at once.
func (b *benchClient) pairKeys(srv *benchServer, demoKeys []string, accounts int) ([]string, error) {
	if accounts <= 1 {
		return demoKeys, nil
	}
	per := max(1, len(demoKeys)/accounts)
	keys := [][]string{demoKeys[:per]}
	for i := 1; i < accounts; i++ {
		token, err := b.newAccount(srv, "pairs", i, 90_000_000)
		if err != nil {
			return nil, err
		}
		var ks []string
		for j := 0; j < per; j++ {
			k, err := b.json("POST", "/v1/api-keys", token, map[string]any{"name": fmt.Sprint("pairs ", j)}, 201)
			if err != nil {
				return nil, err
			}
			ks = append(ks, k["key"].(string))
		}
		keys = append(keys, ks)
	}
	var out []string
	for j := 0; j < per; j++ {
		for _, ks := range keys {
			out = append(out, ks[j])
		}
	}
	return out, nil
}

// newAccount signs up a customer account (its email made of prefix and i) and
// funds it with cents; it returns the account's session token.
func (b *benchClient) newAccount(srv *benchServer, prefix string, i int, cents int64) (string, error) {
	m, err := b.json("POST", "/v1/auth/signup", "", map[string]any{"email": fmt.Sprintf("%s-%d-%d@example.com", prefix, time.Now().UnixNano(), i), "password": "correct horse battery"}, 201)
	if err != nil {
		return "", err
	}
	uid := m["user"].(map[string]any)["id"].(string)
	if _, err := b.json("POST", "/v1/admin/users/"+uid+"/adjustments", srv.adminSession, map[string]any{"amount_cents": cents, "reason": "bench " + prefix}, 201); err != nil {
		return "", err
	}
	return m["token"].(string), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

type benchServer struct {
	cmd          *exec.Cmd
	db           string      // the server's SQLite file, or its PostgreSQL URL
	pg           *pgDatabase // the run's PostgreSQL database (nil on SQLite)
	url          string
	apiKey       string
	demoSession  string
	adminSession string
}

func startBenchServer(ctx context.Context, command func(context.Context, ...string) *exec.Cmd, dbArgs []string, profile string) (*benchServer, error) {
	args := append([]string{"serve", "--sandbox", "--simulator=false", "--no-ip-limits", "--streams-per-account", "1000", "--addr", "127.0.0.1:0"}, dbArgs...)
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	cmd, out, stderr, err := startChild(ctx, command, args...)
	if err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, db: dbArgs[1]}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Fetch SMS listening on "):
			s.url = strings.TrimPrefix(line, "Fetch SMS listening on ")
		case strings.HasPrefix(line, "  admin session: "):
			s.adminSession = strings.TrimSpace(strings.TrimPrefix(line, "  admin session: "))
		case strings.HasPrefix(line, "  demo session:"):
			s.demoSession = strings.TrimSpace(strings.TrimPrefix(line, "  demo session:"))
		case strings.HasPrefix(line, "fsk_"):
			s.apiKey = line
			go io.Copy(io.Discard, out)
			return s, nil
		}
	}
	return nil, notStarted(cmd, stderr, "the server")
}

// startChild starts the fetchsms binary with args and returns its stdout, and
// the end of its stderr.
func startChild(ctx context.Context, command func(context.Context, ...string) *exec.Cmd, args ...string) (*exec.Cmd, io.ReadCloser, *tail, error) {
	cmd := command(ctx, args...)
	stderr := &tail{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, out, stderr, nil
}

// notStarted stops a child that did not start (its stdout is read to the end)
// and returns why: the end of its stderr, where fetchsms prints its error.
func notStarted(cmd *exec.Cmd, stderr *tail, what string) error {
	cmd.Process.Kill()
	cmd.Wait() // and its stderr is copied
	msg := "bench: " + what + " did not start"
	if why := strings.TrimSpace(stderr.String()); why != "" {
		msg += ": " + why
	}
	return errors.New(msg)
}

// tail keeps the last tailSize bytes written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = t.b[len(t.b)-tailSize:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func (s *benchServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
	}
}

// peakRSS reads the child's high-water resident set size.
func (s *benchServer) peakRSS() int64 { return s.status("VmHWM:") }

// rss reads the child's resident set size now.
func (s *benchServer) rss() int64 { return s.status("VmRSS:") }

// status reads a size (kB) from the child's /proc status.
func (s *benchServer) status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// bareAnswer is an answer of the server, replayed by the bare handler.
type bareAnswer struct {
	Header http.Header
	Body   []byte
}

// startBare runs the baseline, a bare net/http handler replaying the server's
// answers (headers and body), in a child process of its own like the server, so
// both sides of each ratio cross the same process boundary.
func startBare(ctx context.Context, command func(context.Context, ...string) *exec.Cmd, file string, answers map[string]*bareAnswer) (*benchServer, error) {
	b, err := json.Marshal(answers)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	cmd, out, stderr, err := startChild(ctx, command, BareCommand, file)
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, notStarted(cmd, stderr, "the bare baseline")
	}
	return &benchServer{cmd: cmd, url: strings.TrimSpace(line)}, nil
}

// ServeBare serves the answers in file (written by Run) until ctx ends, after
// printing its URL as the first line of stdout: the bench's baseline.
func ServeBare(ctx context.Context, file string, stdout io.Writer) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var answers map[string]*bareAnswer
	if err := json.Unmarshal(b, &answers); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range a.Header {
			if k != "Date" {
				h[k] = v
			}
		}
		w.Write(a.Body)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

type benchClient struct {
	base   string
	client *http.Client
}

func (b *benchClient) do(c *http.Client, method, url, token string, body []byte) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, out
}

func (b *benchClient) raw(method, path, token string) (*bareAnswer, error) {
	req, _ := http.NewRequest(method, b.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, body)
	}
	return &bareAnswer{Header: resp.Header, Body: body}, nil
}

func (b *benchClient) json(method, path, token string, body any, want int) (map[string]any, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	st, out := b.do(b.client, method, b.base+path, token, raw)
	// A setup request right after a load phase may find its key's rate limit
	// spent: wait for it (Retry-After is one second) rather than fail the run.
	for i := 0; st == http.StatusTooManyRequests && i < 5; i++ {
		time.Sleep(time.Second)
		st, out = b.do(b.client, method, b.base+path, token, raw)
	}
	if st != want {
		return nil, fmt.Errorf("bench: %s %s: %d %s", method, path, st, out)
	}
	var m map[string]any
	err := json.Unmarshal(out, &m)
	return m, err
}

// load runs op from conns goroutines, each on its own keep-alive connection to
// base, for d and returns successful operations per second.
func (b *benchClient) load(ctx context.Context, d time.Duration, conns int, base string, op func(*rawClient) bool) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		c, err := newRawClient(base)
		if err != nil {
			return 0
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if op(c) {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// webhookLatency times, n times on an idle server, an inbound SMS (through the
// sandbox endpoint, which takes the real inbound path) to its webhook POST arriving
// at a local receiver. The time is measured from sending the request, so it bounds
// the commit-to-POST latency from above.
func (b *benchClient) webhookLatency(ctx context.Context, srv *benchServer, key string, n int) (p50, p99 time.Duration, err error) {
	arrived := make(chan time.Time, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- time.Now()
	}))
	if _, err := b.json("POST", "/v1/webhooks", srv.demoSession, map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "events": []string{"sms.received"}}, 201); err != nil {
		return 0, 0, err
	}
	r, err := b.json("POST", "/v1/rentals", key, map[string]any{"service": 1, "days": 30}, 201)
	if err != nil {
		return 0, 0, err
	}
	var lat []time.Duration
	for i := 0; i < n; i++ {
		body, _ := json.Marshal(map[string]any{"to": r["number"], "from": "Telegram", "body": fmt.Sprintf("Telegram code: %05d", i)})
		start := time.Now()
		st, out := b.do(b.client, "POST", srv.url+"/v1/sandbox/sms", srv.adminSession, body)
		if st != 202 {
			return 0, 0, fmt.Errorf("bench: sandbox sms: %d %s", st, out)
		}
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(start))
		case <-time.After(5 * time.Second):
			return 0, 0, errors.New("bench: a webhook did not arrive within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// pageTime is the median time of one 50-row page of the history, from cursor
// ("" for the newest), over 200 requests on one keep-alive connection, with the
// customer's keys in turn (each allows 100 requests a second).
func (b *benchClient) pageTime(keys []string, cursor string) (time.Duration, error) {
	c, err := newRawClient(b.base)
	if err != nil {
		return 0, err
	}
	defer c.close()
	path := "/v1/verifications?tab=history&limit=50"
	if cursor != "" {
		path += "&cursor=" + cursor
	}
	times := make([]time.Duration, 0, 200)
	waits := 0
	for i := -20; i < 200; i++ { // the first 20 warm the connection and caches up
		t := time.Now()
		st, body, err := c.do("GET", path, keys[(i+20)%len(keys)], nil)
		if err != nil {
			return 0, err
		}
		if st == http.StatusTooManyRequests && waits < 5 {
			// The key's rate limit is spent by an earlier phase: wait for it and
			// time this page again.
			waits++
			time.Sleep(time.Second)
			i--
			continue
		}
		if st != 200 {
			return 0, fmt.Errorf("bench: GET %s: %d %s", path, st, body)
		}
		if i >= 0 {
			times = append(times, time.Since(t))
		}
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// seedHistory adds n received verifications to the customer's history, straight
// into the server's SQLite file (as another process may; one INSERT … SELECT per
// 50 000 rows), and returns how many verifications the customer had before, and
// the first and last seq of the customer's rows after.
func seedHistory(ctx context.Context, path, userID string, n int) (before int, first, last int64, err error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=15000&_journal_mode=WAL")
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var numberID, number string
	if err := db.QueryRowContext(ctx, `SELECT id, e164 FROM numbers ORDER BY seq LIMIT 1`).Scan(&numberID, &number); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM verifications WHERE user_id = ?`, userID).Scan(&before); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	const chunk = 50_000
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		if _, err := db.ExecContext(ctx, `WITH RECURSIVE c(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM c WHERE i < ?)
			INSERT INTO verifications (id, ref_key, ref, user_id, service_id, number_id, number, status, code, cost_cents, created_at, expires_at, received_at)
			SELECT printf('bench-%010d', i), printf('b_%010d', i), printf('b_%010d', i), ?, 4, ?, ?, 'received', '123456', 70, 1700000000000 + i, 1700000900000 + i, 1700000060000 + i FROM c`,
			done, done+k-1, userID, numberID, number); err != nil {
			return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
		}
	}
	err = db.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM verifications WHERE user_id = ?`, userID).Scan(&first, &last)
	return before, first, last, err
}
