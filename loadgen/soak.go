package loadgen

import (
	"bufio"
	"context"
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

	"golang.org/x/time/rate"

	"github.com/fetchsms/fetchsms/sqlite"
)

// SoakOptions are the settings of a soak run (`fetchsms bench --soak D`).
type SoakOptions struct {
	Duration time.Duration // how long the load runs
	Every    time.Duration // how often a row is printed
	// Rate is the mixed operations a second to keep up; 0 measures the server's
	// capacity for the mix first (Probe long, at full speed) and takes half of it.
	Rate  float64
	Probe time.Duration
	// Command is as in Options.
	Command func(ctx context.Context, args ...string) *exec.Cmd
}

// Flatness: a series (RSS, goroutines, p99) stays flat when the median of the
// last third of its rows is at most FlatGrowth above the median of the first
// third (plus a small absolute slack, for series near zero: flatSlack).
const FlatGrowth = 0.20

// A soak's mixed operation is one of these, in turn: a purchase that is polled
// and then cancelled (three requests), an inbound SMS on a rental whose account
// has a webhook (its POST is counted by a local receiver), and a catalog read.
const (
	opPurchase = iota
	opSMS
	opCatalog
	opCount
)

// soakRow is one printed row.
type soakRow struct {
	at         time.Duration
	ops, errs  int64
	p99        time.Duration
	rss        int64
	goroutines int64
}

// Soak runs a fresh sandbox server under mixed load at a steady rate for
// o.Duration, prints a row every o.Every (server RSS, goroutines as /metrics
// exports them, p99 of the window's operations), then a verdict on whether
// those stayed flat, and checks the invariants: every inbound SMS's webhook
// arrived, and the database's money and inventory invariants hold. It returns
// an error when a check fails.
func Soak(ctx context.Context, o SoakOptions, stdout io.Writer) error {
	if o.Duration <= 0 || o.Every <= 0 || o.Every > o.Duration {
		return errors.New("bench: --soak and --soak-every must be positive, --soak-every at most --soak")
	}
	command, err := commandOrSelf(o.Command)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fetchsms-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "soak.db")
	srv, err := startBenchServer(ctx, command, []string{"--db", dbPath}, "")
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	b := &benchClient{base: srv.url, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}

	// Setup: money, API keys to spread the per-key limit over, a webhook
	// receiver, and a rental for the inbound SMS.
	_, keys, err := b.fundAndMintKeys(srv, "soak", 40)
	if err != nil {
		return err
	}
	var hooks sync.Map // delivery id → true
	var hookCount atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hookSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if _, dup := hooks.LoadOrStore(r.Header.Get("X-FetchSMS-Delivery"), true); !dup {
			hookCount.Add(1)
		}
	})}
	go hookSrv.Serve(ln)
	defer hookSrv.Close()
	if _, err := b.json("POST", "/v1/webhooks", srv.demoSession, map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "events": []string{"sms.received"}}, 201); err != nil {
		return err
	}
	rental, err := b.json("POST", "/v1/rentals", keys[0], map[string]any{"service": 1, "days": 30}, 201)
	if err != nil {
		return err
	}
	rentalNumber := rental["number"]

	var smsSent atomic.Int64
	smsLimit := rate.NewLimiter(40, 1) // the admin session's per-key limit is 100/s: SMS past 40/s become catalog reads
	var ki atomic.Int64
	nextKey := func() string { return keys[int(ki.Add(1))%len(keys)] }
	var turn atomic.Int64
	op := func(c *rawClient) bool {
		kind := int(turn.Add(1)) % opCount
		if kind == opSMS && !smsLimit.Allow() {
			kind = opCatalog
		}
		switch kind {
		case opPurchase:
			return purchaseAndCancel(c, nextKey(), true)
		case opSMS:
			body, _ := json.Marshal(map[string]any{"to": rentalNumber, "from": "Telegram", "body": fmt.Sprintf("Telegram code: %05d", smsSent.Load()%100000)})
			st, _, err := c.do("POST", "/v1/sandbox/sms", srv.adminSession, body)
			if err == nil && st == 202 {
				smsSent.Add(1)
				return true
			}
			return false
		default:
			st, _, err := c.do("GET", "/v1/services", "", nil)
			return err == nil && st == 200
		}
	}

	const conns = 16
	opsRate := o.Rate
	if opsRate <= 0 {
		probe := o.Probe
		if probe <= 0 {
			probe = min(10*time.Second, o.Duration/6)
		}
		full := b.load(ctx, probe, conns, srv.url, op)
		opsRate = max(1, full/2)
		fmt.Fprintf(stdout, "Fetch SMS soak: capacity for the mix %.0f ops/s over %s (%d connections); soaking at half: %.0f ops/s\n", full, probe, conns, opsRate)
	} else {
		fmt.Fprintf(stdout, "Fetch SMS soak: %.0f ops/s (--soak-rate)\n", opsRate)
	}
	fmt.Fprintf(stdout, "mix: purchase+poll+cancel, inbound SMS → webhook (≤40/s), catalog read, in turn; %s, a row every %s\n\n", o.Duration, o.Every)
	fmt.Fprintf(stdout, "%8s %10s %8s %10s %10s %11s\n", "time", "ops/s", "errors", "p99", "RSS", "goroutines")

	lim := rate.NewLimiter(rate.Limit(opsRate), conns)
	var mu sync.Mutex
	var lat []time.Duration
	var ops, errs atomic.Int64
	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	defer stopLoad()
	var wg sync.WaitGroup
	for range conns {
		c, err := newRawClient(srv.url)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			for lim.Wait(loadCtx) == nil {
				began := time.Now()
				ok := op(c)
				d := time.Since(began)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				ops.Add(1)
				if !ok {
					errs.Add(1)
				}
			}
		}()
	}
	var rows []soakRow
	start := time.Now()
	tick := time.NewTicker(o.Every)
	var lastOps, lastErrs int64
	for done := false; !done; {
		select {
		case <-loadCtx.Done():
			done = true
		case <-tick.C:
		}
		if done || ctx.Err() != nil {
			break // a last window shorter than the others is not a row
		}
		mu.Lock()
		window := lat
		lat = nil
		mu.Unlock()
		n, e := ops.Load(), errs.Load()
		row := soakRow{at: time.Since(start).Round(time.Second), ops: n - lastOps, errs: e - lastErrs, p99: percentile(window, 0.99),
			rss: srv.rss(), goroutines: scrapeGoroutines(b, srv.url)}
		lastOps, lastErrs = n, e
		rows = append(rows, row)
		fmt.Fprintf(stdout, "%8s %10.0f %8d %8.1fms %8.1fMiB %11d\n", row.at, float64(row.ops)/o.Every.Seconds(), row.errs, ms(row.p99), float64(row.rss)/(1<<20), row.goroutines)
	}
	tick.Stop()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	fail := false
	fmt.Fprintln(stdout)
	if len(rows) < 3 {
		fmt.Fprintf(stdout, "flat: not judged (%d rows; 3 are needed)\n", len(rows))
	} else {
		judge := func(what string, v func(soakRow) float64, slack float64, unit string) {
			first, last := medianOf(rows[:len(rows)/3], v), medianOf(rows[len(rows)-len(rows)/3:], v)
			ok := last <= first*(1+FlatGrowth)+slack
			fail = fail || !ok
			fmt.Fprintf(stdout, "%-11s first third %10.1f%s, last third %10.1f%s: %s\n", what, first, unit, last, unit, map[bool]string{true: "flat", false: "GREW"}[ok])
		}
		judge("RSS", func(r soakRow) float64 { return float64(r.rss) / (1 << 20) }, 4, "MiB")
		judge("goroutines", func(r soakRow) float64 { return float64(r.goroutines) }, 10, "")
		judge("p99", func(r soakRow) float64 { return ms(r.p99) }, 2, "ms")
	}
	if e := errs.Load(); e > 0 {
		fail = true
		fmt.Fprintf(stdout, "errors: %d of %d operations failed\n", e, ops.Load())
	}

	// Every SMS's webhook arrives (the worker may still be sending the last).
	for deadline := time.Now().Add(30 * time.Second); hookCount.Load() < smsSent.Load() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	hooksOK := hookCount.Load() == smsSent.Load()
	fail = fail || !hooksOK
	fmt.Fprintf(stdout, "webhooks: %d inbound SMS, %d distinct deliveries received: %s\n", smsSent.Load(), hookCount.Load(), mark(hooksOK))

	srv.stop()
	stopped = true
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		return fmt.Errorf("bench: open the soak's database for the invariant check: %w", err)
	}
	c, err := db.CheckInvariants(context.Background(), time.Now())
	db.Close()
	if err != nil {
		return fmt.Errorf("bench: invariant check: %w", err)
	}
	fmt.Fprintf(stdout, "invariants (balances = ledgers, none negative, no double refund, no number held twice): %s\n", mark(c.OK()))
	if !c.OK() {
		fail = true
		fmt.Fprintf(stdout, "  %+v\n", *c)
	}
	if fail {
		return errors.New("bench: the soak failed a check (above)")
	}
	fmt.Fprintln(stdout, "soak: PASS")
	return nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func medianOf(rows []soakRow, v func(soakRow) float64) float64 {
	xs := make([]float64, 0, len(rows))
	for _, r := range rows {
		xs = append(xs, v(r))
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// scrapeGoroutines reads go_goroutines from the server's /metrics (-1 when it
// cannot).
func scrapeGoroutines(b *benchClient, base string) int64 {
	resp, err := b.client.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int64(n)
			}
		}
	}
	return -1
}
