//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// pgCluster is a PostgreSQL cluster of the test's own, made like
// scripts/with-postgres.sh makes one, so that the test may kill and restart it.
type pgCluster struct {
	bin, dir string
	port     int
	owner    []string // runs a command as the cluster's owner (runuser under root)
	URL      string
}

// newPGCluster makes and starts a cluster on a free loopback port; it is stopped
// and deleted when the test ends. Without PostgreSQL's binaries the test is
// skipped, or fails under CI=true.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(bins, func(i, j int) bool { return pgMajor(bins[i]) < pgMajor(bins[j]) })
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL's binaries are not installed (/usr/lib/postgresql/*/bin): CI must run the fault tests")
		}
		t.Skip("PostgreSQL's binaries are not installed (/usr/lib/postgresql/*/bin)")
	}
	c := &pgCluster{bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "fetchsms-pgfault-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		// initdb refuses root: the cluster belongs to the postgres user.
		if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown %s: %v %s", dir, err, out)
		}
		c.owner = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		c.pgctl("-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if out, err := c.cmd("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.start(t)
	return c
}

func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, c.owner...), filepath.Join(c.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (c *pgCluster) pgctl(args ...string) ([]byte, error) {
	return c.cmd("pg_ctl", append([]string{"-D", c.data()}, args...)...).CombinedOutput()
}

// start starts the cluster (after a kill it runs crash recovery first). A start
// right after a kill may find the dead server's shared memory still held by its
// last backends: it is tried again until it succeeds.
//
// fsync is off (a killed process loses nothing the kernel holds), but commits
// are synchronous: with synchronous_commit off PostgreSQL answers a commit before
// its WAL leaves its own memory, so a SIGKILL loses commits it acknowledged, and
// the test, which checks that every answered purchase is in the ledger, once
// found 15 purchases for 16 answered keys.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200 -c fsync=off", c.port, c.dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "start", "-o", opts)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill9 kills the postmaster and every one of its processes with SIGKILL, as a
// crash of the database's machine would, and waits until they are gone.
func (c *pgCluster) kill9(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %q", raw)
	}
	pids := append([]int{pid}, childrenOf(pid)...)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range pids {
		for syscall.Kill(p, 0) == nil && time.Now().Before(deadline) {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); strings.Contains(string(st), ") Z ") {
				break // a zombie waiting for its (dead) parent's reaper
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
		s := string(st)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// TestPostgresKilledUnderLoad kills PostgreSQL with SIGKILL while customers buy
// and cancel, keeps it down for a while, and restarts it: while it is down every
// answer is a quick 503 {"detail","code":"unavailable"} with Retry-After; the
// server recovers by itself; every purchase key is charged once, no refund is
// doubled, balances equal their ledgers.
func TestPostgresKilledUnderLoad(t *testing.T) {
	t.Parallel()
	pg := newPGCluster(t)
	s := startServerWith(t, []string{"--database-url", pg.URL}, pg.URL, "--sandbox", "--simulator=false")
	l := startFaultLoad(t, s, 10*time.Second)

	time.Sleep(1500 * time.Millisecond)
	pg.kill9(t)
	// Longer than the client's retries last (4, a second apart as Retry-After
	// says): some purchases end in 503 and are resolved by their key below.
	time.Sleep(6 * time.Second)
	pg.start(t)
	l.waitServing(t, 30*time.Second)
	time.Sleep(1500 * time.Millisecond)
	l.finish(t)
	if l.probed503.Load() == 0 {
		t.Errorf("no probe saw a 503 while PostgreSQL was down")
	}
	checkInvariants(t, pg.URL)
}

// faultLoad is customers buying and cancelling through the Go client, each
// purchase under a key of its own, and a prober sending single attempts, while
// a test breaks the storage under them.
type faultLoad struct {
	s         *testServer
	customers []*faultCustomer
	stop      atomic.Bool
	wg        sync.WaitGroup
	mu        sync.Mutex
	outcomes  map[string]int
	probed503 atomic.Int64
	slowest   atomic.Int64 // the prober's slowest answer, in ns
}

type faultCustomer struct {
	session string
	api     *client.Client
	keys    []string // every purchase key it used, in order
}

// startFaultLoad starts four customers and the prober. Each single attempt of
// the prober must be answered within bound: 2xx, or 503 {"detail","code"} with
// Retry-After; any other answer, or a 500 to a customer, fails the test.
func startFaultLoad(t *testing.T, s *testServer, bound time.Duration) *faultLoad {
	t.Helper()
	l := &faultLoad{s: s, outcomes: map[string]int{}}
	for range 4 {
		session, id := s.signup(t)
		s.fund(t, id, 1_000_000)
		l.customers = append(l.customers, &faultCustomer{session: session, api: s.api(t, session)})
	}
	for w, c := range l.customers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; !l.stop.Load(); i++ {
				time.Sleep(50 * time.Millisecond) // paced: the load spans the faults
				key := fmt.Sprintf("w%d-buy-%d", w, i)
				c.keys = append(c.keys, key)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				v, err := c.api.CreateVerification(ctx, client.VerificationRequest{Service: "4", IdempotencyKey: key})
				l.note(t, "purchase", err)
				if err == nil {
					_, err = c.api.CancelVerification(ctx, v.ID)
					l.note(t, "cancel", err)
				}
				cancel()
			}
		}()
	}
	// The prober's own connections, with room beyond bound to see a late answer.
	probe := *s
	probe.client = &http.Client{Timeout: bound + 10*time.Second}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for !l.stop.Load() {
			start := time.Now()
			st, hdr, raw, err := probe.send("GET", "/v1/balance", l.customers[0].session, nil)
			took := time.Since(start)
			if int64(took) > l.slowest.Load() {
				l.slowest.Store(int64(took))
			}
			switch {
			case err != nil:
				t.Errorf("probe: %v after %v", err, took)
			case took > bound:
				t.Errorf("probe answered after %v, want within %v", took, bound)
			case st == 200:
			case st == 503:
				l.probed503.Add(1)
				assertErrorBody(t, "balance while the storage fails", hdr, raw)
				if hdr.Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
			default:
				t.Errorf("probe: %d %s", st, raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return l
}

func (l *faultLoad) note(t *testing.T, what string, err error) {
	var ae *client.APIError
	key := what + ": ok"
	switch {
	case err == nil:
	case errors.As(err, &ae):
		key = fmt.Sprintf("%s: %d %s", what, ae.Status, ae.Code)
		if ae.Status >= 500 && ae.Code != client.CodeUnavailable {
			t.Errorf("%s answered %d %s: %s", what, ae.Status, ae.Code, ae.Detail)
		}
	default:
		key = what + ": transport error"
	}
	l.mu.Lock()
	l.outcomes[key]++
	l.mu.Unlock()
}

// waitServing waits until the server answers a read again, within limit: it
// recovers by itself.
func (l *faultLoad) waitServing(t *testing.T, limit time.Duration) {
	t.Helper()
	since := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := l.customers[0].api.Balance(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Since(since) > limit {
			t.Fatalf("the server did not serve again within %v: %v", limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("served again %v after the fault ended", time.Since(since).Round(time.Millisecond))
}

// finish stops the load and sends every purchase key again, now that storage
// serves: each answers exactly one purchase (the keys whose outcome was lost
// are resolved, none is charged twice), and each customer's ledger holds one
// purchase per key.
func (l *faultLoad) finish(t *testing.T) {
	t.Helper()
	l.stop.Store(true)
	l.wg.Wait()
	t.Logf("outcomes: %v; 503 probes: %d; slowest probe: %v", l.outcomes, l.probed503.Load(), time.Duration(l.slowest.Load()).Round(time.Millisecond))
	if l.outcomes["purchase: ok"] == 0 {
		t.Errorf("no purchase succeeded")
	}
	ctx := context.Background()
	for w, c := range l.customers {
		// A patient client: a key whose first run was cut between its commit and
		// its stored answer is busy (409 conflict, Retry-After) until its answer
		// is stored or it counts as abandoned.
		api, _ := client.New(l.s.BaseURL, c.session, client.WithRetries(40), client.WithBackoff(100*time.Millisecond, 2*time.Second))
		ids := map[string]bool{}
		for _, key := range c.keys {
			cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			v, err := api.CreateVerification(cctx, client.VerificationRequest{Service: "4", IdempotencyKey: key})
			for ae := (*client.APIError)(nil); errors.As(err, &ae) && ae.Code == client.CodeConflict && ae.RetryAfter > 0 && cctx.Err() == nil; {
				time.Sleep(ae.RetryAfter)
				v, err = api.CreateVerification(cctx, client.VerificationRequest{Service: "4", IdempotencyKey: key})
			}
			cancel()
			if err != nil {
				t.Errorf("customer %d: retry of %s: %v", w, key, err)
				continue
			}
			if ids[v.ID] {
				t.Errorf("customer %d: two keys answered purchase %s", w, v.ID)
			}
			ids[v.ID] = true
		}
		var purchases int
		for cursor := "first"; cursor != ""; {
			if cursor == "first" {
				cursor = ""
			}
			p := noErr[*client.Page[client.LedgerEntry]](t)(api.Ledger(ctx, client.ListOptions{Limit: 200, Cursor: cursor}))
			for _, e := range p.Items {
				if e.Kind == "purchase" {
					purchases++
				}
			}
			cursor = p.NextCursor
		}
		if purchases != len(c.keys) {
			t.Errorf("customer %d: %d purchases in the ledger for %d keys: want one each", w, purchases, len(c.keys))
		}
	}
}
