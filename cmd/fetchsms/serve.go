package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sandbox"
	"github.com/fetchsms/fetchsms/stripepay"
	"github.com/fetchsms/fetchsms/web"
	"github.com/fetchsms/fetchsms/webhook"
	"github.com/fetchsms/fetchsms/worker"
	"github.com/google/uuid"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var d dbFlags
	d.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	sandboxMode := fs.Bool("sandbox", false, "sandbox mode: seeded pool, demo account, test clock, simulated SIM bank")
	allowPrivate := fs.Bool("webhook-allow-private", false, "let webhooks reach private and loopback addresses (loopback is always allowed in sandbox)")
	noIPLimits := fs.Bool("no-ip-limits", false, "lift the per-IP limits on the catalog, signup and login (load tests from one address); per-key limits stay")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file until the server stops (for profiling)")
	simulator := fs.Bool("simulator", true, "in sandbox, answer purchases with simulated SMS")
	servers := fs.Int("servers", 1, "how many servers share the database behind the load balancer: each enforces 1/N of the per-key rate limit")
	stripeKey := fs.String("stripe-secret-key", "", "Stripe secret key (sk_…): deposits go through Stripe Checkout")
	stripeWebhookSecret := fs.String("stripe-webhook-secret", "", "signing secret (whsec_…) of the Stripe webhook endpoint POST /v1/payments/stripe/webhook")
	stripeAPIURL := fs.String("stripe-api-url", "", "the Stripe API's base URL (default https://api.stripe.com; tests point it at a stand-in)")
	writerCPU := &writerCPUFlag{}
	writerCPU.Set("auto")
	fs.Var(writerCPU, "writer-cpu", "no effect since session 7 (the SQLite writer's CPU pinning was removed); auto, off or a CPU number are accepted so that existing scripts keep working")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	guard := webhook.Guard{AllowLoopback: *sandboxMode || *allowPrivate, AllowPrivate: *allowPrivate}
	if *servers < 1 {
		return fmt.Errorf("--servers must be at least 1")
	}
	var clock *sandbox.Clock
	var opts fetchsms.Options
	if *sandboxMode {
		if clock, err = sandbox.NewClock(ctx, db); err != nil {
			return err
		}
		opts.Clock = clock
	}
	// Real providers come first (the first is the default); a sandbox also
	// takes deposits through its own provider, which completes them at once.
	if *stripeKey != "" || *stripeWebhookSecret != "" {
		if *stripeKey == "" || *stripeWebhookSecret == "" {
			return fmt.Errorf("--stripe-secret-key and --stripe-webhook-secret go together")
		}
		opts.Payments = append(opts.Payments, stripepay.New(*stripeKey, *stripeWebhookSecret, *stripeAPIURL))
	}
	if *sandboxMode {
		opts.Payments = append(opts.Payments, sandbox.Payments{})
	}
	app, err := fetchsms.New(ctx, db, opts)
	if err != nil {
		return err
	}
	// Admins edit detection rules: the App rebuilds this server's detector at
	// once, and every server (several may share a PostgreSQL database) reloads
	// them every 30 s (below).
	srv := &web.Server{App: app, Logger: logger, Guard: guard, NoIPLimits: *noIPLimits, Servers: *servers}
	var sim *sandbox.Simulator
	var banner []string
	if *sandboxMode {
		srv.Sandbox, srv.Clock = true, clock
		seed, err := seedSandbox(ctx, app)
		if err != nil {
			return fmt.Errorf("sandbox seed: %w", err)
		}
		banner = seed.banner()
		if *simulator {
			sim = &sandbox.Simulator{Logger: logger, Deliver: inboundVia(srv, seed.gatewayToken)}
			app.Listen(sim.Hear)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}

	workCtx, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if clock != nil {
		// Other servers on the database may move the test clock.
		wg.Add(1)
		go func() {
			defer wg.Done()
			clock.Follow(workCtx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		(&worker.Expirer{Store: app, Interval: time.Second, Logger: logger}).Run(workCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		worker.Every(workCtx, 30*time.Second, "catalog rules reload", logger, app.ReloadRules)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		worker.Every(workCtx, 10*time.Minute, "idempotency purge", logger, func(ctx context.Context) error {
			_, err := app.PurgeIdempotency(ctx)
			return err
		})
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		(&webhook.Worker{Store: app, Sender: webhook.NewSender(guard, 10*time.Second), Wake: db.DeliveriesDue(), Poll: time.Second, Logger: logger}).Run(workCtx)
	}()

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Fetch SMS listening on %s\n", url)
	for _, line := range banner {
		fmt.Fprintln(stdout, line)
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	attrs := []any{"addr", ln.Addr().String(), "db", d.describe(), "sandbox", *sandboxMode, "servers", *servers}
	logger.Info("serving", attrs...)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		stopWork()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	// Ordered shutdown: stop taking requests, then the workers, then the database.
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutCtx)
	if sim != nil {
		sim.Close()
	}
	stopWork()
	wg.Wait()
	logger.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// writerCPUFlag is --writer-cpu: auto, off or a CPU number. It has no effect
// since the writer's CPU pinning was removed (docs/DECISIONS.md), and is still
// checked, so that scripts that set it keep working and a value that was never
// valid is still refused.
type writerCPUFlag struct{ value string }

func (w *writerCPUFlag) String() string { return w.value }

func (w *writerCPUFlag) Set(v string) error {
	if v != "auto" && v != "off" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return errors.New("want auto, off or a CPU number")
		}
	}
	w.value = v
	return nil
}

// inboundVia delivers simulated SMS through the server's own inbound endpoint, with
// the SIM bank's gateway token: the same path a real gateway takes.
func inboundVia(srv *web.Server, token string) sandbox.Deliverer {
	return func(ctx context.Context, to, from, body string) error {
		msg, _ := json.Marshal(map[string]string{"id": "sim-" + uuid.NewString(), "to": to, "from": from, "body": body})
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/inbound/sms", bytes.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			return fmt.Errorf("inbound answered %d: %s", rec.Code, rec.Body.String())
		}
		return nil
	}
}
