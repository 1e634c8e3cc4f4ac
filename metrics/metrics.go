// Package metrics exposes Fetch SMS to Prometheus (GET /metrics). Events are
// counted from the App's announcements (purchases, codes, refunds, webhook
// attempts, storage transactions); state (stock, the webhook queue, gateways'
// last contact) is read when Prometheus scrapes. Every name starts with
// fetchsms_, and every label has few values: requests are labelled by the
// route's pattern, never by the raw path.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the collectors the server feeds.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	purchases      *prometheus.CounterVec
	ledgerEntries  *prometheus.CounterVec
	ledgerCents    *prometheus.CounterVec
	codes          *prometheus.CounterVec
	timeToCode     *prometheus.HistogramVec
	attempts       *prometheus.CounterVec
	storageErrors  *prometheus.CounterVec
	storageSeconds prometheus.Histogram
	leader         prometheus.Gauge
}

// Options are what the scrape-time collectors read.
type Options struct {
	// App is read at scrape time and heard for events.
	App *fetchsms.App
	// Logger reports reads that fail during a scrape.
	Logger *slog.Logger
	// Batches, when set, is the SQLite writer's batch statistics (sqlite.DB.Stats).
	Batches func() BatchStats
}

// BatchStats is the SQLite writer's work so far (sqlite.DB.Stats).
type BatchStats struct {
	Batches, Requests, Flushes, FailedFlushes int64
	Commit, Flush, LastFlush                  time.Duration
}

// latencyBuckets suit requests answered in well under a millisecond to
// long-polls of a minute.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New builds the collectors and starts hearing o.App.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_http_requests_total",
		Help: "HTTP requests answered, by route pattern (\"unmatched\" for none), method and status code."}, []string{"route", "method", "code"})
	m.requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fetchsms_http_request_duration_seconds",
		Help: "Time to answer HTTP requests, by route pattern.", Buckets: latencyBuckets}, []string{"route"})
	m.purchases = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_purchases_total",
		Help: "Purchases made, by kind (verification, rental) and service."}, []string{"kind", "service"})
	m.ledgerEntries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_ledger_entries_total",
		Help: "Ledger entries committed, by kind (purchase, refund, deposit, adjustment, …)."}, []string{"kind"})
	m.ledgerCents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_ledger_cents_total",
		Help: "Absolute amount of the ledger entries committed, in cents, by kind."}, []string{"kind"})
	m.codes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_codes_delivered_total",
		Help: "Codes released to verifications, by service."}, []string{"service"})
	m.timeToCode = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fetchsms_time_to_code_seconds",
		Help: "Time from a verification's purchase to its code, by service.", Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1200}}, []string{"service"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_webhook_attempts_total",
		Help: "Webhook delivery attempts, by result: ok, failed (retried later) or gave_up."}, []string{"result"})
	m.storageErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fetchsms_storage_errors_total",
		Help: "Write transactions that failed in storage (unavailable or internal), by App step."}, []string{"op"})
	m.storageSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fetchsms_storage_transaction_seconds",
		Help:    "Time of write transactions from the App's call to the durable commit (SQLite: queue, batch and flush; PostgreSQL: the transaction).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 5}})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "fetchsms_leader",
		Help: "1 while this server runs the single-instance jobs (leader election), else 0."})
	m.reg.MustRegister(m.requests, m.requestSeconds, m.purchases, m.ledgerEntries, m.ledgerCents, m.codes, m.timeToCode,
		m.attempts, m.storageErrors, m.storageSeconds, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.App != nil {
		logger := o.Logger
		if logger == nil {
			logger = slog.Default()
		}
		m.reg.MustRegister(&stateCollector{app: o.App, logger: logger})
		o.App.Listen(m.hear)
	}
	if o.Batches != nil {
		m.reg.MustRegister(&batchCollector{stats: o.Batches})
	}
	return m
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one answered request. route is the mux pattern that
// matched ("" for none).
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // methods are the client's to make up
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.requestSeconds.WithLabelValues(route).Observe(d.Seconds())
}

// SetLeader reports whether this server runs the single-instance jobs.
func (m *Metrics) SetLeader(on bool) {
	if on {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// hear counts the App's events.
func (m *Metrics) hear(_ context.Context, change any) {
	switch c := change.(type) {
	case fetchsms.PurchaseMade:
		switch {
		case c.Verification != nil:
			m.purchases.WithLabelValues("verification", c.Verification.ServiceSlug).Inc()
		case c.Rental != nil:
			m.purchases.WithLabelValues("rental", "rental").Inc()
		}
	case fetchsms.LedgerPosted:
		for _, e := range c.Entries {
			m.ledgerEntries.WithLabelValues(e.Kind).Inc()
			cents := int64(e.AmountCents)
			if cents < 0 {
				cents = -cents
			}
			m.ledgerCents.WithLabelValues(e.Kind).Add(float64(cents))
		}
	case fetchsms.CodeDelivered:
		m.codes.WithLabelValues(c.ServiceSlug).Inc()
		m.timeToCode.WithLabelValues(c.ServiceSlug).Observe(c.Wait.Seconds())
	case fetchsms.DeliveryAttempted:
		result := "failed"
		switch {
		case c.OK:
			result = "ok"
		case c.GaveUp:
			result = "gave_up"
		}
		m.attempts.WithLabelValues(result).Inc()
	case fetchsms.StorageUpdate:
		m.storageSeconds.Observe(c.Duration.Seconds())
		if storageFailure(c.Err) {
			m.storageErrors.WithLabelValues(c.Op).Inc()
		}
	}
}

// storageFailure tells a storage failure from a refusal of the business rules
// (insufficient balance, not found, …), which is no storage error.
func storageFailure(err error) bool {
	var fe *fetchsms.Error
	if err == nil || !errors.As(err, &fe) {
		return err != nil
	}
	return fe.Code == fetchsms.EUNAVAILABLE || fe.Code == fetchsms.EINTERNAL
}

var (
	stockDesc = prometheus.NewDesc("fetchsms_stock_numbers",
		"Numbers for sale now, by service and product (short: one verification; long: a rental).", []string{"service", "product"}, nil)
	queueDesc = prometheus.NewDesc("fetchsms_webhook_queue_depth",
		"Webhook deliveries pending (not yet delivered nor given up).", nil, nil)
	lastSeenDesc = prometheus.NewDesc("fetchsms_gateway_last_seen_timestamp_seconds",
		"When each gateway last sent a message or heartbeat (Unix time; 0: never).", []string{"gateway", "name"}, nil)
	gatewayUpDesc = prometheus.NewDesc("fetchsms_gateway_numbers_for_sale",
		"Numbers of each gateway for sale now (0 while it is withdrawn: disabled or silent).", []string{"gateway", "name"}, nil)
	scrapeErrDesc = prometheus.NewDesc("fetchsms_scrape_errors",
		"1 when a read of this scrape failed (see the server's log), by what was read.", []string{"read"}, nil)
)

// stateCollector reads the store at scrape time.
type stateCollector struct {
	app    *fetchsms.App
	logger *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stockDesc
	ch <- queueDesc
	ch <- lastSeenDesc
	ch <- gatewayUpDesc
	ch <- scrapeErrDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := func(read string, err error) {
		v := 0.0
		if err != nil {
			c.logger.Error("metrics: read failed", "read", read, "err", err)
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, v, read)
	}
	stock, err := c.app.Catalog(ctx)
	failed("stock", err)
	for _, s := range stock {
		if s.IsLongTerm() {
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(s.LongAvailable), s.Slug, "long")
		} else {
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(s.ShortAvailable), s.Slug, "short")
		}
	}
	n, err := c.app.PendingDeliveries(ctx)
	failed("webhook_queue", err)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n))
	}
	gs, err := c.app.GatewaysHealth(ctx)
	failed("gateways", err)
	for _, g := range gs {
		seen := 0.0
		if !g.LastSeenAt.IsZero() {
			seen = float64(g.LastSeenAt.UnixMilli()) / 1000
		}
		ch <- prometheus.MustNewConstMetric(lastSeenDesc, prometheus.GaugeValue, seen, g.ID, g.Name)
		ch <- prometheus.MustNewConstMetric(gatewayUpDesc, prometheus.GaugeValue, float64(g.ForSale), g.ID, g.Name)
	}
}

var (
	batchesDesc     = prometheus.NewDesc("fetchsms_sqlite_batches_total", "Write batches (transactions) the SQLite writer committed or rolled back.", nil, nil)
	batchReqDesc    = prometheus.NewDesc("fetchsms_sqlite_batch_requests_total", "Write requests the SQLite writer ran in its batches.", nil, nil)
	commitSecDesc   = prometheus.NewDesc("fetchsms_sqlite_commit_seconds_total", "Time the SQLite writer spent in COMMIT.", nil, nil)
	flushesDesc     = prometheus.NewDesc("fetchsms_sqlite_flushes_total", "Flushes (fdatasync of the WAL) that made SQLite commits durable.", nil, nil)
	flushSecDesc    = prometheus.NewDesc("fetchsms_sqlite_flush_seconds_total", "Time spent making SQLite commits durable (fdatasync of the WAL).", nil, nil)
	lastFlushDesc   = prometheus.NewDesc("fetchsms_sqlite_last_flush_seconds", "The duration of the latest SQLite flush.", nil, nil)
	failedFlushDesc = prometheus.NewDesc("fetchsms_sqlite_failed_flushes_total", "SQLite flushes that failed (the store then stops serving writes: restart).", nil, nil)
)

// batchCollector reads the SQLite writer's statistics at scrape time.
type batchCollector struct{ stats func() BatchStats }

func (c *batchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{batchesDesc, batchReqDesc, commitSecDesc, flushesDesc, flushSecDesc, lastFlushDesc, failedFlushDesc} {
		ch <- d
	}
}

func (c *batchCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(batchReqDesc, prometheus.CounterValue, float64(s.Requests))
	ch <- prometheus.MustNewConstMetric(commitSecDesc, prometheus.CounterValue, s.Commit.Seconds())
	ch <- prometheus.MustNewConstMetric(flushesDesc, prometheus.CounterValue, float64(s.Flushes))
	ch <- prometheus.MustNewConstMetric(flushSecDesc, prometheus.CounterValue, s.Flush.Seconds())
	ch <- prometheus.MustNewConstMetric(lastFlushDesc, prometheus.GaugeValue, s.LastFlush.Seconds())
	ch <- prometheus.MustNewConstMetric(failedFlushDesc, prometheus.CounterValue, float64(s.FailedFlushes))
}
