package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/btcpay"
	"github.com/fetchsms/fetchsms/metrics"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/sandbox"
	"github.com/fetchsms/fetchsms/smtpmail"
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
	sandboxForce := fs.Bool("sandbox-force", false, "start the sandbox even on a non-loopback address or on a database no sandbox made (it seeds accounts whose passwords are public)")
	allowPrivate := fs.Bool("webhook-allow-private", false, "let webhooks reach private and loopback addresses (loopback is always allowed in sandbox)")
	trustedProxies := fs.String("trusted-proxies", "", "load balancers (CIDR,…) whose X-Forwarded-For and X-Forwarded-Proto are believed: per-IP limits then key on the client behind them")
	publicURL := fs.String("public-url", "", "how clients reach this server (https://api.example.com): an https URL makes cookies Secure and sends HSTS; providers' checkouts return there")
	noIPLimits := fs.Bool("no-ip-limits", false, "lift the per-IP limits on the catalog, signup and login (load tests from one address); per-key and per-account limits stay")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file until the server stops (for profiling)")
	simulator := fs.Bool("simulator", true, "in sandbox, answer purchases with simulated SMS")
	streamsPerAccount := fs.Int("streams-per-account", web.DefaultStreamsPerAccount, "how many event streams (GET /v1/events) one account may hold open at once")
	inboundConcurrency := fs.Int("inbound-concurrency", web.DefaultInboundConcurrency, "how many inbound SMS requests (POST /v1/inbound/…) are handled at once")
	inboundQueue := fs.Int("inbound-queue", web.DefaultInboundQueue, "how many more inbound SMS requests may wait for one of those; past that they are answered 503 with Retry-After")
	servers := fs.Int("servers", 1, "no longer needed (servers sharing a PostgreSQL database share the per-key rate limit); accepted so older scripts run")
	silence := gatewaySilenceFlag(fs)
	reliabilityEvery := fs.Duration("reliability-every", time.Minute, "how often the services' reliability figures (GET /v1/services) are recomputed from the last 7 days of verifications")
	stripeKey := fs.String("stripe-secret-key", "", "Stripe secret key (sk_…): deposits go through Stripe Checkout")
	stripeWebhookSecret := fs.String("stripe-webhook-secret", "", "signing secret (whsec_…) of the Stripe webhook endpoint POST /v1/payments/stripe/webhook")
	stripeAPIURL := fs.String("stripe-api-url", "", "the Stripe API's base URL (default https://api.stripe.com; tests point it at a stand-in)")
	smtpURL := fs.String("smtp-url", "", "SMTP server for account mails (password resets, email changes): smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465; without it those are off")
	mailFrom := fs.String("mail-from", "", "the From address of account mails, such as \"Fetch SMS <no-reply@example.com>\" (required with --smtp-url)")
	var btcpayFlags btcpayConfig
	btcpayFlags.register(fs)
	logFormat := fs.String("log-format", "text", "log lines as text (key=value) or json")
	logLevel := fs.String("log-level", "info", "the least severe log lines written: debug, info, warn or error (info includes one access line per request)")
	metricsToken := fs.String("metrics-token", "", "when set, GET /metrics asks for Authorization: Bearer <this token> (FETCHSMS_METRICS_TOKEN keeps it off the command line)")
	var tlsf tlsFlags
	tlsf.register(fs)
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
	logger, closeLog, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if closeLog != nil {
		defer closeLog()
	}
	if err := tlsf.check(); err != nil {
		return err
	}

	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	guard := webhook.Guard{AllowLoopback: *sandboxMode || *allowPrivate, AllowPrivate: *allowPrivate}
	if *servers < 1 {
		return fmt.Errorf("--servers must be at least 1")
	}
	if *silence < 0 {
		return errGatewaySilence
	}
	if *reliabilityEvery <= 0 {
		return fmt.Errorf("--reliability-every must be a positive duration such as 1m")
	}
	var clock *sandbox.Clock
	opts := fetchsms.Options{GatewaySilence: *silence, Logger: logger}
	if *smtpURL != "" {
		if *mailFrom == "" {
			return fmt.Errorf("--mail-from is required with --smtp-url")
		}
		m, err := smtpmail.New(*smtpURL, *mailFrom)
		if err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		opts.Mailer = m
	}
	box, err := d.secrets()
	if err != nil {
		return err
	}
	if box != nil {
		opts.Secrets = box
	} else {
		logger.Warn("no secret key (FETCHSMS_SECRET_KEY or --secret-key-file): gateway tokens are not kept, so gateway software that signs its requests (the Android app, Twilio-style posts) cannot be checked")
	}
	if *sandboxMode && !*sandboxForce {
		if err := sandboxSafe(ctx, db, *addr); err != nil {
			return err
		}
	}
	if *sandboxMode {
		if clock, err = sandbox.NewClock(ctx, db); err != nil {
			return err
		}
		opts.Clock = clock
	}
	// Real providers come first, Stripe then BTCPay Server (the first is the
	// default); a sandbox also takes deposits through its own provider, which
	// completes them at once.
	if *stripeKey != "" || *stripeWebhookSecret != "" {
		if *stripeKey == "" || *stripeWebhookSecret == "" {
			return fmt.Errorf("--stripe-secret-key and --stripe-webhook-secret go together")
		}
		opts.Payments = append(opts.Payments, stripepay.New(*stripeKey, *stripeWebhookSecret, *stripeAPIURL))
	}
	if p, err := btcpayFlags.provider(logger); err != nil {
		return err
	} else if p != nil {
		opts.Payments = append(opts.Payments, p)
	}
	if *sandboxMode {
		opts.Payments = append(opts.Payments, sandbox.Payments{})
	}
	app, err := fetchsms.New(ctx, db, opts)
	if err != nil {
		return err
	}
	// Secrets stored plain (webhook secrets from before the key) are sealed, and
	// what an older key sealed is sealed again under the current one.
	if changed, stuck, err := app.SealStoredSecrets(ctx); err != nil {
		return fmt.Errorf("sealing stored secrets: %w", err)
	} else if changed > 0 || stuck > 0 {
		logger.Info("stored secrets sealed under the current key", "changed", changed, "unopenable", stuck)
		if stuck > 0 {
			logger.Warn("some stored secrets open with none of this server's keys: deliveries to those webhook endpoints fail, and those gateways must rotate their tokens", "count", stuck)
		}
	}
	// Admins edit detection rules: the App rebuilds this server's detector at
	// once, and every server (several may share a PostgreSQL database) reloads
	// them every 30 s (below).
	if *inboundConcurrency < 1 || *inboundQueue < 0 {
		return fmt.Errorf("--inbound-concurrency must be at least 1 and --inbound-queue at least 0")
	}
	srv := &web.Server{App: app, Logger: logger, Guard: guard, NoIPLimits: *noIPLimits, StreamsPerAccount: *streamsPerAccount, MetricsToken: *metricsToken,
		InboundConcurrency: *inboundConcurrency, InboundQueue: *inboundQueue}
	m := metrics.New(metrics.Options{App: app, Logger: logger, Batches: batchStats(db)})
	srv.Observer, srv.Metrics = m, m.Handler()
	if srv.TrustedProxies, err = web.ParseTrustedProxies(*trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if *publicURL != "" {
		if srv.PublicURL, err = web.ParsePublicURL(*publicURL); err != nil {
			return fmt.Errorf("--public-url: %w", err)
		}
	}
	var sim *sandbox.Simulator
	var simWaiting sandbox.Waiting
	var simHeartbeat func(context.Context) error
	var banner []string
	if *sandboxMode {
		srv.Sandbox, srv.Clock = true, clock
		seed, err := seedSandbox(ctx, app)
		if err != nil {
			return fmt.Errorf("sandbox seed: %w", err)
		}
		banner = seed.banner()
		if *simulator {
			tokens := &simToken{token: seed.gatewayToken, mint: func(ctx context.Context) (string, error) {
				g, err := app.EnsureGateway(ctx, simGateway)
				if err != nil {
					return "", err
				}
				return g.Token, nil
			}}
			sim = &sandbox.Simulator{Logger: logger, Deliver: inboundVia(srv, tokens)}
			simWaiting = func(ctx context.Context) ([]*fetchsms.Verification, []*fetchsms.Rental, error) {
				return app.WaitingOnGateway(ctx, seed.gatewayID, 500)
			}
			app.Listen(sim.Hear)
		}
		// The simulated SIM bank is a gateway like any other: it sends
		// heartbeats (from now, and below), so its numbers stay on sale. It
		// calls the domain rather than POST /v1/inbound/heartbeat: sandbox
		// servers sharing a database each give it a new token as they start,
		// so only the last one's token works.
		simHeartbeat = func(ctx context.Context) error { return app.GatewayHeartbeat(ctx, seed.gatewayID) }
		if err := simHeartbeat(ctx); err != nil {
			return fmt.Errorf("sandbox SIM bank heartbeat: %w", err)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	var challenge *http.Server // autocert's HTTP-01 listener
	if tlsf.on() {
		cfg, ch, err := tlsf.config(logger)
		if err != nil {
			ln.Close()
			return err
		}
		hs.TLSConfig, scheme = cfg, "https"
		ln = tls.NewListener(ln, cfg)
		if ch != nil {
			challenge = &http.Server{Handler: ch, ReadHeaderTimeout: 10 * time.Second, ErrorLog: hs.ErrorLog}
			cln, err := net.Listen("tcp", tlsf.httpAddr)
			if err != nil {
				ln.Close()
				return fmt.Errorf("--tls-http-addr: the ACME HTTP-01 challenge listener: %w", err)
			}
			go challenge.Serve(cln)
			defer challenge.Close()
			logger.Info("ACME HTTP-01 challenges (and redirects to https)", "addr", cln.Addr().String(), "domains", tlsf.domains)
		}
	}
	// Outermost, so that a long-poll's connection returned after its answer
	// is the one the server accepted (with TLS, after its handshake).
	srv.Listener = web.NewListener(ln)
	ln = srv.Listener
	hs.RegisterOnShutdown(srv.Closing) // event streams and long-polls end, so shutdown need not wait for them
	// Links in account mails lead to the public URL, else to the address this
	// server listens on; never to the Host a request names (anyone can forge it).
	srv.LinkBase = scheme + "://" + ln.Addr().String()
	if srv.PublicURL != nil {
		srv.LinkBase = strings.TrimSuffix(srv.PublicURL.String(), "/")
	}

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
		worker.FlushParts(workCtx, app, 5*time.Second, logger)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		worker.Every(workCtx, 30*time.Second, "catalog rules reload", logger, app.ReloadRules)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Every server keeps its own figures (one aggregate read each): the
		// catalog is served from memory on each.
		worker.Every(workCtx, *reliabilityEvery, "reliability figures", logger, app.RefreshReliability)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		worker.Every(workCtx, time.Hour, "event log prune", logger, func(ctx context.Context) error {
			_, err := app.PruneEvents(ctx, 1000)
			return err
		})
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		app.RunBroadcasts(workCtx) // waiters wake on every server sharing the database
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.ShareLimits(workCtx) // one per-key rate limit over every server sharing the database
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		(&webhook.Worker{Store: app, Sender: webhook.NewSender(guard, 10*time.Second), Wake: db.DeliveriesDue(), Poll: time.Second, Logger: logger}).Run(workCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		worker.GatewayHealth(workCtx, app, worker.HealthInterval(*silence), logger)
	}()
	// The single-instance jobs run on one server of those sharing a
	// PostgreSQL database (leader election); an SQLite server is always it.
	lead := func(ctx context.Context) {
		var jobs sync.WaitGroup
		jobs.Go(func() {
			worker.Every(ctx, 10*time.Minute, "idempotency purge", logger, func(ctx context.Context) error {
				_, err := app.PurgeIdempotency(ctx)
				return err
			})
		})
		if simHeartbeat != nil {
			jobs.Go(func() {
				worker.Every(ctx, sandbox.HeartbeatInterval(*silence), "sandbox SIM bank heartbeat", logger, simHeartbeat)
			})
		}
		if sim != nil {
			jobs.Go(func() { sim.Run(ctx, simWaiting, simPoll) })
		}
		jobs.Wait()
	}
	leading := func(on bool) {
		m.SetLeader(on)
		if on {
			logger.Info("leading: this server runs the single-instance jobs (idempotency purge, the sandbox's SIM bank)")
		} else {
			logger.Info("no longer leading")
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if pg, ok := db.(*postgres.DB); ok {
			pg.Lead(workCtx, leaderLock, leaderInterval, lead, leading)
			return
		}
		leading(true)
		lead(workCtx)
	}()

	url := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Fetch SMS listening on %s\n", url)
	for _, line := range banner {
		fmt.Fprintln(stdout, line)
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	attrs := []any{"addr", ln.Addr().String(), "tls", scheme == "https", "db", d.describe(), "sandbox", *sandboxMode, "servers", *servers}
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
	stopWork()
	wg.Wait()
	if sim != nil {
		sim.Close() // after its Run (a worker) has stopped scheduling
	}
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
func inboundVia(srv *web.Server, tokens *simToken) sandbox.Deliverer {
	return func(ctx context.Context, to, from, body string) error {
		msg, _ := json.Marshal(map[string]string{"id": "sim-" + uuid.NewString(), "to": to, "from": from, "body": body})
		post := func(token string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/inbound/sms", bytes.NewReader(msg))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			return rec
		}
		token, err := tokens.get(ctx, "")
		if err != nil {
			return err
		}
		rec := post(token)
		if rec.Code == http.StatusUnauthorized {
			// Another sandbox server on the database started since, and gave
			// the SIM bank a new token: take a newer one.
			if token, err = tokens.get(ctx, token); err != nil {
				return err
			}
			rec = post(token)
		}
		for rec.Code == http.StatusServiceUnavailable {
			// Storage is down or the inbound gate is full: a gateway sends the
			// SMS again after Retry-After, and so does the simulated one.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(fetchsms.UnavailableRetryAfter):
			}
			rec = post(token)
		}
		if rec.Code != http.StatusAccepted {
			return fmt.Errorf("inbound answered %d: %s", rec.Code, rec.Body.String())
		}
		return nil
	}
}

// simToken is the SIM bank's gateway token, minted again when refused.
type simToken struct {
	mu    sync.Mutex
	token string
	mint  func(context.Context) (string, error)
}

// get returns the token; when it is refused (the one refused is given), a new one.
func (t *simToken) get(ctx context.Context, refused string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if refused != "" && t.token == refused {
		token, err := t.mint(ctx)
		if err != nil {
			return "", err
		}
		t.token = token
	}
	return t.token, nil
}

// leaderLock is the PostgreSQL session advisory lock key of the single-instance
// jobs; leaderInterval how often servers try to take it (and the leader checks
// its connection): a dead leader's jobs resume elsewhere within about that.
const leaderLock = 0x46657463685F4C44 // "Fetch_LD"

var leaderInterval = 2 * time.Second

// simPoll is how often the SIM bank looks for purchases other servers made.
const simPoll = 500 * time.Millisecond

// btcpayConfig is the serve flags of a BTCPay Server store: all four, or none.
type btcpayConfig struct{ url, apiKey, storeID, webhookSecret string }

func (c *btcpayConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "btcpay-url", "", "BTCPay Server's URL (https://…): deposits in crypto through its invoices")
	fs.StringVar(&c.apiKey, "btcpay-api-key", "", "BTCPay Server API key of the store (View invoices, Create an invoice, Create pull payments)")
	fs.StringVar(&c.storeID, "btcpay-store-id", "", "BTCPay Server store id")
	fs.StringVar(&c.webhookSecret, "btcpay-webhook-secret", "", "secret of the store's webhook POST /v1/payments/btcpay/webhook")
}

// provider is the BTCPay provider the flags describe, nil when none is set.
func (c *btcpayConfig) provider(logger *slog.Logger) (*btcpay.Provider, error) {
	set := 0
	for _, v := range []string{c.url, c.apiKey, c.storeID, c.webhookSecret} {
		if v != "" {
			set++
		}
	}
	if set == 0 {
		return nil, nil
	}
	if set != 4 {
		return nil, errors.New("--btcpay-url, --btcpay-api-key, --btcpay-store-id and --btcpay-webhook-secret go together: set all four or none")
	}
	if u, err := url.Parse(c.url); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--btcpay-url %q is not an http(s) URL", c.url)
	}
	p := btcpay.New(c.url, c.apiKey, c.storeID, c.webhookSecret)
	p.Logger = logger
	return p, nil
}
