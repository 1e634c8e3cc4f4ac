package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/reqid"
	"github.com/fetchsms/fetchsms/metrics"
	"github.com/fetchsms/fetchsms/sqlite"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// newLogger is the server's logger: text or JSON lines at level and above,
// each with the request id of the request it was logged for (reqid.Handler).
// Lines to a file are buffered (bufferedLog); close, when not nil, writes the
// rest.
func newLogger(w io.Writer, format, level string) (logger *slog.Logger, close func(), err error) {
	var out *bufferedLog
	if f, ok := w.(*os.File); ok {
		out = newBufferedLog(f)
		w = out
	}
	logger, err = buildLogger(w, format, level)
	if err != nil || out == nil {
		if out != nil {
			out.Close()
		}
		return logger, nil, err
	}
	return slog.New(&flushAt{logger.Handler(), slog.LevelWarn, out}), out.Close, nil
}

func buildLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return slog.New(reqid.NewHandler(h)), nil
}

// batchStats reads the SQLite writer's statistics for the metrics (nil on
// PostgreSQL, whose transactions fetchsms_storage_transaction_seconds times).
func batchStats(db fetchsms.Store) func() metrics.BatchStats {
	s, ok := db.(*sqlite.DB)
	if !ok {
		return nil
	}
	return func() metrics.BatchStats {
		st := s.Stats()
		return metrics.BatchStats{Batches: st.Batches, Requests: st.Requests, Flushes: st.Flushes, FailedFlushes: st.FailedFlushes,
			Commit: st.Commit, Flush: st.Flush, LastFlush: st.LastFlush}
	}
}

// tlsFlags are serve's TLS flags: a certificate and key from files, or
// certificates obtained automatically (ACME, as Let's Encrypt issues them) for
// the domains named.
type tlsFlags struct {
	cert, key string
	domains   string
	cacheDir  string
	httpAddr  string
	acmeURL   string
	acmeCA    string
	email     string
}

func (t *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.cert, "tls-cert", "", "serve HTTPS with this certificate (PEM, the chain after the leaf); with --tls-key. A renewed file is picked up within a minute, without a restart")
	fs.StringVar(&t.key, "tls-key", "", "the private key (PEM) of --tls-cert")
	fs.StringVar(&t.domains, "tls-domain", "", "serve HTTPS with certificates obtained automatically (ACME HTTP-01) for these domains (comma-separated); needs --tls-http-addr reachable on port 80")
	fs.StringVar(&t.cacheDir, "tls-cache-dir", "fetchsms-autocert", "where --tls-domain keeps its account key and certificates (keep it: issuers limit how often they issue)")
	fs.StringVar(&t.httpAddr, "tls-http-addr", ":80", "with --tls-domain: the listener that answers the ACME HTTP-01 challenges and redirects the rest to https")
	fs.StringVar(&t.acmeURL, "tls-acme-url", "", "with --tls-domain: the ACME directory URL (default Let's Encrypt's production one; a staging or local one for tests)")
	fs.StringVar(&t.acmeCA, "tls-acme-ca", "", "with --tls-acme-url: a PEM file of the CA that signs the ACME server's own HTTPS certificate (a private ACME server), trusted besides the system's")
	fs.StringVar(&t.email, "tls-email", "", "with --tls-domain: the contact address given to the ACME issuer (expiry warnings)")
}

func (t *tlsFlags) on() bool { return t.cert != "" || t.key != "" || t.domains != "" }

// check refuses flags that do not go together.
func (t *tlsFlags) check() error {
	switch {
	case (t.cert == "") != (t.key == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case t.cert != "" && t.domains != "":
		return errors.New("--tls-cert/--tls-key and --tls-domain are exclusive: certificates from files, or obtained automatically")
	case t.domains != "" && t.cacheDir == "":
		return errors.New("--tls-domain needs --tls-cache-dir")
	case t.acmeCA != "" && t.acmeURL == "":
		return errors.New("--tls-acme-ca goes with --tls-acme-url")
	}
	for _, d := range t.domainList() {
		if strings.ContainsAny(d, "/: ") || !strings.Contains(d, ".") {
			return fmt.Errorf("--tls-domain: %q is not a domain name", d)
		}
	}
	return nil
}

func (t *tlsFlags) domainList() []string {
	var out []string
	for _, d := range strings.Split(t.domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, strings.ToLower(d))
		}
	}
	return out
}

// config is the TLS configuration; for --tls-domain also the handler of the
// HTTP-01 challenge listener.
func (t *tlsFlags) config(logger *slog.Logger) (*tls.Config, http.Handler, error) {
	if t.cert != "" {
		r := &certFiles{cert: t.cert, key: t.key, logger: logger}
		if _, err := r.load(); err != nil {
			return nil, nil, err
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get, NextProtos: []string{"h2", "http/1.1"}}, nil, nil
	}
	if err := os.MkdirAll(t.cacheDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("--tls-cache-dir: %w", err)
	}
	m := &autocert.Manager{Prompt: autocert.AcceptTOS, Cache: autocert.DirCache(t.cacheDir), HostPolicy: autocert.HostWhitelist(t.domainList()...), Email: t.email}
	if t.acmeURL != "" {
		m.Client = &acme.Client{DirectoryURL: t.acmeURL}
		if t.acmeCA != "" {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pem, err := os.ReadFile(t.acmeCA)
			if err != nil {
				return nil, nil, fmt.Errorf("--tls-acme-ca: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("--tls-acme-ca: no PEM certificate in %s", t.acmeCA)
			}
			m.Client.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		}
	}
	cfg := m.TLSConfig()
	cfg.MinVersion = tls.VersionTLS12
	return cfg, m.HTTPHandler(nil), nil
}

// certFiles serves the certificate of --tls-cert/--tls-key, read again when
// either file changes (checked at most once a minute), so a renewal needs no
// restart. A file that no longer loads keeps the last good certificate (and
// logs why).
type certFiles struct {
	cert, key string
	logger    *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string
	checked time.Time
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) >= time.Minute {
		c.checked = time.Now()
		if stamp := fileStamp(c.cert) + fileStamp(c.key); stamp != c.stamp {
			if _, err := c.loadLocked(); err != nil {
				c.logger.Error("TLS certificate not reloaded: the previous one stays", "err", err)
			}
		}
	}
	return c.current, nil
}

func (c *certFiles) load() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Now()
	return c.loadLocked()
}

func (c *certFiles) loadLocked() (*tls.Certificate, error) {
	stamp := fileStamp(c.cert) + fileStamp(c.key)
	cert, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	c.current, c.stamp = &cert, stamp
	return c.current, nil
}

func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
}

// backup copies a live SQLite database, consistently and checked (see
// sqlite.Backup), and the key file beside it when there is one: a copy
// without its key cannot open the gateway tokens and webhook secrets it seals.
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	db := fs.String("db", "fetchsms.db", "the SQLite database to copy (a server may be running on it)")
	to := fs.String("to", "", "the backup file to write (required)")
	force := fs.Bool("force", false, "replace the backup file when it exists")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("backup: --to is required")
	}
	if os.Getenv("FETCHSMS_DATABASE_URL") != "" {
		return errors.New("backup copies an SQLite database; back PostgreSQL up with pg_dump or pg_basebackup (docs/OPERATIONS.md)")
	}
	res, err := sqlite.Backup(ctx, *db, *to, *force)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d bytes in %s; integrity ok, schema %d, %d accounts, every balance equals its ledger\n",
		*db, *to, res.Bytes, res.Took.Round(time.Millisecond), res.Schema, res.Check.Users)
	key := *db + ".key"
	if data, err := os.ReadFile(key); err == nil {
		if err := writeFileAtomic(*to+".key", data, 0o600); err != nil {
			return fmt.Errorf("backup: the key file: %w", err)
		}
		fmt.Fprintf(stdout, "copied the secret key %s to %s.key: keep it with the copy, and as safe as the database\n", key, *to)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: the key file: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// bufferedLog batches log lines on their way to a file (standard error of a
// real process): one write per line costs the cheapest requests about a tenth
// of their throughput (docs/OPERATIONS.md, Logging). Lines wait at most
// logFlushEvery; a warning or worse is written at once with what preceded it,
// and Close writes the rest. What a kill -9 loses is at most that much
// information-level output (access lines).
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const logFlushEvery = 200 * time.Millisecond

func newBufferedLog(f io.Writer) *bufferedLog {
	b := &bufferedLog{w: bufio.NewWriterSize(f, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(logFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				b.Flush()
				return
			case <-t.C:
				b.Flush()
			}
		}
	}()
	return b
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered.
func (b *bufferedLog) Flush() {
	b.mu.Lock()
	b.w.Flush()
	b.mu.Unlock()
}

// Close writes the rest and stops the flusher.
func (b *bufferedLog) Close() {
	close(b.stop)
	<-b.done
}

// flushAt writes the buffer after each record at level or above.
type flushAt struct {
	slog.Handler
	level slog.Level
	out   *bufferedLog
}

func (h *flushAt) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		h.out.Flush()
	}
	return err
}

func (h *flushAt) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushAt{h.Handler.WithAttrs(attrs), h.level, h.out}
}

func (h *flushAt) WithGroup(name string) slog.Handler {
	return &flushAt{h.Handler.WithGroup(name), h.level, h.out}
}
