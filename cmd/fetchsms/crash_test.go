package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/sqlite"
)

// childEnv makes the test binary act as the server: the crash test runs it as a
// real process so it can SIGKILL it.
const childEnv = "FETCHSMS_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signalContext()
		code := cli(ctx, argv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	if os.Getenv("FETCHSMS_OPENAPI_COVERAGE") != "" {
		// Which documented operations no test's request reached (openapi_check_test.go).
		for _, op := range uncoveredOperations() {
			fmt.Println("openapi: not exercised:", op)
		}
	}
	os.Exit(code)
}

func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, cancel
}

// child is the server running as a separate process.
type child struct {
	cmd *exec.Cmd
	ts  *testServer
}

func startChild(t *testing.T, dbPath string, args ...string) *child {
	t.Helper()
	return startChildOn(t, []string{"--db", dbPath}, dbPath, args...)
}

// startChildOn runs a server process on the database that storage flags name
// (dbRef is its path or URL, for checkInvariants).
func startChildOn(t *testing.T, storage []string, dbRef string, args ...string) *child {
	t.Helper()
	dbPath := dbRef
	argv, _ := json.Marshal(append(append([]string{"serve", "--addr", "127.0.0.1:0"}, storage...), args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(argv))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{DBPath: dbPath, client: newSpecClient(t, &http.Client{Timeout: 10 * time.Second})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "Fetch SMS listening on "):
				ts.BaseURL = strings.TrimPrefix(line, "Fetch SMS listening on ")
			case strings.HasPrefix(line, "  admin session: "):
				ts.AdminSession = strings.TrimSpace(strings.TrimPrefix(line, "  admin session: "))
			case strings.HasPrefix(line, "  demo session:"):
				ts.DemoSession = strings.TrimSpace(strings.TrimPrefix(line, "  demo session:"))
			case strings.HasPrefix(line, "fsk_"):
				ts.APIKey = line
				close(ready)
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child not ready\n%s", stderr.String())
	}
	c := &child{cmd: cmd, ts: ts}
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// TestCrashUnderLoad SIGKILLs the server while customers buy, cancel and receive
// codes, restarts it on the same database, and checks that everything acknowledged
// survived, every invariant holds, and background work (expiries, webhook
// deliveries) resumes by itself.
func TestCrashUnderLoad(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "crash.db")
	var hooks atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hooks.Add(1) }))
	defer recv.Close()

	c := startChild(t, dbPath, "--sandbox", "--simulator=false")
	s := c.ts
	s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL}, http.StatusCreated)
	demo := s.call(t, http.MethodGet, "/v1/account", s.DemoSession, nil, http.StatusOK)
	s.fund(t, str(t, demo["id"]), 1_000_000)

	type ack struct {
		id        string
		cancelled bool
		code      string
	}
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, _, raw, err := s.send(http.MethodPost, "/v1/verifications", s.DemoSession, map[string]any{"service": 4})
				if err != nil || st != http.StatusCreated {
					continue // the crash, or out of stock: not acknowledged
				}
				var v map[string]any
				json.Unmarshal(raw, &v)
				a := ack{id: v["id"].(string)}
				switch i % 3 {
				case 0:
					if st, _, _, err := s.send(http.MethodPost, "/v1/verifications/"+a.id+"/cancel", s.DemoSession, nil); err == nil && st == http.StatusOK {
						a.cancelled = true
					}
				case 1:
					code := fmt.Sprintf("%06d", w*100000+i)
					if st, _, raw, err := s.send(http.MethodPost, "/v1/sandbox/sms", s.AdminSession, map[string]any{"to": v["number"], "from": "Telegram", "body": "Telegram code: " + code}); err == nil && st == http.StatusAccepted && strings.Contains(string(raw), a.id) {
						a.code = code
					}
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
			}
		}(w)
	}
	// Let the load build up (a slow, busy machine takes longer), then SIGKILL mid-load.
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 60 && time.Since(start) > time.Second {
			break
		}
	}
	c.kill()
	close(stop)
	wg.Wait()
	if len(acks) < 20 {
		t.Fatalf("only %d acknowledged purchases before the crash", len(acks))
	}

	// Restart on the same file: every acknowledged change is there.
	c2 := startChild(t, dbPath, "--sandbox", "--simulator=false")
	s2 := c2.ts
	waiting := 0
	for _, a := range acks {
		v := s2.call(t, http.MethodGet, "/v1/verifications/"+a.id, s2.DemoSession, nil, http.StatusOK)
		switch {
		case a.cancelled && v["status"] != "cancelled":
			t.Errorf("acknowledged cancel of %s lost: %v", a.id, v["status"])
		case a.code != "" && (v["status"] != "received" || v["code"] != a.code):
			t.Errorf("acknowledged code for %s lost: %v %v", a.id, v["status"], v["code"])
		case v["status"] == "waiting":
			waiting++
		}
	}
	checkInvariants(t, dbPath)

	// Background work resumes: the waiting ones expire and are refunded...
	s2.advance(t, 16*60)
	deadline := time.Now().Add(10 * time.Second)
	for len(s2.list(t, "/v1/verifications?tab=active", s2.DemoSession)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("waiting verifications never expired after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// ...and every webhook event is delivered, those enqueued before the crash
	// included (the ones the dead server had leased, once the lease lapses).
	deadline = time.Now().Add(30 * time.Second)
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		pending, err := db.PendingDeliveries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook deliveries still pending after the restart", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c2.kill()
	checkInvariants(t, dbPath)
	t.Logf("%d purchases acknowledged before SIGKILL (%d left waiting), %d webhook POSTs received", len(acks), waiting, hooks.Load())
}
