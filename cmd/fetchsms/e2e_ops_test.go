package main

// Operations end to end (issue 23): metrics, request ids and the access log,
// TLS, and the backup command, each through the real server.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue finds the sample of name whose labels include every k="v" of
// labels, in Prometheus's text format; ok false when none.
func metricValue(text, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer name
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(rest, labels[i]+`="`+labels[i+1]+`"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		return v, err == nil
	}
	return 0, false
}

func scrape(t *testing.T, s *testServer, token string) string {
	t.Helper()
	status, _, raw := s.do(t, http.MethodGet, "/metrics", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics → %d: %s", status, raw)
	}
	return string(raw)
}

// TestMetricsAndRequestIDs buys, receives and cancels through the real server,
// then checks that the scrape counts exactly that, by route pattern, and that
// every answer carries a request id that every log line of its request names.
func TestMetricsAndRequestIDs(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--metrics-token", "scrape-secret",
			"--stripe-secret-key", "sk_test_ops", "--stripe-webhook-secret", "whsec_ops")

		// The token guards the scrape.
		for _, token := range []string{"", "wrong"} {
			if status, _, _ := s.do(t, http.MethodGet, "/metrics", token, nil); status != http.StatusUnauthorized {
				t.Errorf("GET /metrics with token %q → %d, want 401", token, status)
			}
		}
		before := scrape(t, s, "scrape-secret")

		// A client's id is kept; an unusable one is replaced by a new one.
		status, hdr, _, err := s.sendWith(http.MethodGet, "/v1/services", "", nil, http.Header{"X-Request-Id": {"client-chosen.id-1"}})
		if err != nil || status != 200 || hdr.Get("X-Request-Id") != "client-chosen.id-1" {
			t.Errorf("sent id: %d %q %v", status, hdr.Get("X-Request-Id"), err)
		}
		_, hdr, _, _ = s.sendWith(http.MethodGet, "/v1/services", "", nil, http.Header{"X-Request-Id": {strings.Repeat("x", 200)}})
		if id := hdr.Get("X-Request-Id"); len(id) != 32 {
			t.Errorf("a 200-character id came back as %q, want a new one", id)
		}
		_, hdr, _, _ = s.sendWith(http.MethodGet, "/v1/services", "", nil, http.Header{"X-Request-Id": {"has space<script>"}})
		if id := hdr.Get("X-Request-Id"); len(id) != 32 {
			t.Errorf("an unsafe id came back as %q, want a new one", id)
		}
		// Errors and the mux's own answers carry one too.
		for _, path := range []string{"/v1/nothing-here", "/v1/verifications"} {
			if _, hdr, _ := s.do(t, http.MethodGet, path, "", nil); hdr.Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", path)
			}
		}

		// Events: two purchases, one code, one cancellation (refund).
		got := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		s.sms(t, str(t, got["number"]), "Telegram", "Telegram code: 482910")
		s.call(t, http.MethodGet, "/v1/verifications/"+str(t, got["id"]), s.APIKey, nil, http.StatusOK)
		cancelled := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, cancelled["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		// A refused payment event logs a warning inside its request.
		status, hdr, _, err = s.sendWith(http.MethodPost, "/v1/payments/stripe/webhook", "", `{"id":"evt_1"}`,
			http.Header{"X-Request-Id": {"refused-event-7"}, "Stripe-Signature": {"t=1,v1=00"}})
		if err != nil || status != http.StatusBadRequest {
			t.Errorf("bad Stripe signature → %d %v", status, err)
		}

		after := scrape(t, s, "scrape-secret")
		delta := func(name string, labels ...string) float64 {
			a, _ := metricValue(after, name, labels...)
			b, _ := metricValue(before, name, labels...)
			return a - b
		}
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"fetchsms_purchases_total", []string{"kind", "verification", "service", "telegram"}, 1},
			{"fetchsms_purchases_total", []string{"kind", "verification", "service", "whatsapp"}, 1},
			{"fetchsms_codes_delivered_total", []string{"service", "telegram"}, 1},
			{"fetchsms_time_to_code_seconds_count", []string{"service", "telegram"}, 1},
			{"fetchsms_ledger_entries_total", []string{"kind", "purchase"}, 2},
			{"fetchsms_ledger_entries_total", []string{"kind", "refund"}, 1},
			{"fetchsms_ledger_cents_total", []string{"kind", "refund"}, float64(num(t, cancelled["cost_cents"]))},
			{"fetchsms_http_requests_total", []string{"route", "POST /v1/verifications", "code", "201"}, 2},
			{"fetchsms_http_requests_total", []string{"route", "GET /v1/verifications/{id}", "code", "200"}, 1},
			{"fetchsms_http_requests_total", []string{"route", "POST /v1/verifications/{id}/cancel", "code", "200"}, 1},
			{"fetchsms_http_requests_total", []string{"route", "unmatched", "code", "404"}, 1},
			{"fetchsms_http_request_duration_seconds_count", []string{"route", "GET /v1/services"}, 3},
		} {
			if d := delta(c.name, c.labels...); d != c.want {
				t.Errorf("%s%v went up by %v, want %v", c.name, c.labels, d, c.want)
			}
		}
		// The raw path (an id) is never a label: cardinality stays bounded.
		if strings.Contains(after, str(t, got["id"])) {
			t.Error("a verification id is in the metrics")
		}
		// State read at scrape time.
		if v, ok := metricValue(after, "fetchsms_stock_numbers", "service", "telegram", "product", "short"); !ok || v < 1 {
			t.Errorf("telegram stock %v %v", v, ok)
		}
		if _, ok := metricValue(after, "fetchsms_webhook_queue_depth"); !ok {
			t.Error("no webhook queue depth")
		}
		if v, ok := metricValue(after, "fetchsms_gateway_last_seen_timestamp_seconds", "name", "Sandbox SIM bank"); !ok || time.Since(time.Unix(int64(v), 0)) > time.Hour {
			t.Errorf("SIM bank last seen %v %v", v, ok)
		}
		if v, ok := metricValue(after, "fetchsms_storage_transaction_seconds_count"); !ok || v < 5 {
			t.Errorf("storage transactions %v %v", v, ok)
		}
		if engine == engineSQLite {
			if v, _ := metricValue(after, "fetchsms_sqlite_flushes_total"); v < 1 {
				t.Errorf("SQLite flushes %v", v)
			}
		}

		// The access log: a line per request with its id, and the handler's own
		// warning of the refused event carries the same id.
		log := s.log.String()
		if !strings.Contains(log, `msg=request method=GET path=/v1/services route="GET /v1/services" status=200`) ||
			!strings.Contains(log, "request_id=client-chosen.id-1") {
			t.Errorf("no access line for the client's id")
		}
		var warned, accessed bool
		for _, line := range strings.Split(log, "\n") {
			if !strings.Contains(line, "request_id=refused-event-7") {
				continue
			}
			warned = warned || strings.Contains(line, `msg="payment event refused"`)
			accessed = accessed || strings.Contains(line, "msg=request") && strings.Contains(line, "status=400")
		}
		if !warned || !accessed {
			t.Errorf("the refused event's lines lack its request id (warning %v, access %v)", warned, accessed)
		}
	})
}

// TestLogFormatJSON starts a server logging JSON at warn level: no access
// lines (info), but a refused event's warning, as JSON with its request id.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--log-format", "json", "--log-level", "warn", "--stripe-secret-key", "sk_test_ops", "--stripe-webhook-secret", "whsec_ops")
	s.sendWith(http.MethodPost, "/v1/payments/stripe/webhook", "", `{}`, http.Header{"X-Request-Id": {"json-1"}, "Stripe-Signature": {"t=1,v1=00"}})
	s.do(t, http.MethodGet, "/v1/services", "", nil)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		lines = append(lines, m)
	}
	found := false
	for _, m := range lines {
		if m["msg"] == "request" {
			t.Errorf("an access line at warn level: %v", m)
		}
		if m["msg"] == "payment event refused" && m["request_id"] == "json-1" && m["level"] == "WARN" {
			found = true
		}
	}
	if !found {
		t.Errorf("no JSON warning with the request id in %v", lines)
	}
	for _, bad := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--tls-cert", "x.pem"}, {"--tls-domain", "not a domain"}} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")}, bad...)
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("serve %v started", bad)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns the
// pool that trusts it.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestTLS serves HTTPS from a certificate file and buys through it; plain HTTP
// to the same port gets no answer of ours.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, key, pool := selfSigned(t, t.TempDir(), "first")
	s := startServer(t, "--sandbox", "--simulator=false", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(s.BaseURL, "https://") {
		t.Fatalf("base URL %s", s.BaseURL)
	}
	s.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
	s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 111222")
	if got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK); got["code"] != "111222" {
		t.Errorf("over TLS: %v", got)
	}
	resp, err := s.client.Get(s.BaseURL + "/healthz")
	if err != nil || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("healthz over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	// A client that does not trust the certificate is refused in the handshake.
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(s.BaseURL + "/healthz"); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	// Plain HTTP on the TLS port is no API answer.
	plain := "http://" + strings.TrimPrefix(s.BaseURL, "https://")
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/v1/services"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered 200: %.100s", b)
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestTLSAutomaticCertificates runs pebble (Let's Encrypt's test ACME server,
// installed by .ci/run) and a server with --tls-domain pointed at it: the
// first HTTPS connection for the domain gets a certificate pebble issued, and
// the challenge listener redirects plain HTTP to https. Pebble is told to
// accept every challenge (PEBBLE_VA_ALWAYS_VALID): the domain cannot resolve
// here, so pebble's HTTP-01 request to port 80 is what this does not test.
func TestTLSAutomaticCertificates(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("pebble")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pebble is not installed (go install github.com/letsencrypt/pebble/v2/cmd/pebble): automatic certificates cannot be tested")
		}
		t.Skip("pebble is not installed")
	}
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir, "pebble")
	api, mgmt := freeAddr(t), freeAddr(t)
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{"listenAddress": api, "managementListenAddress": mgmt,
		"certificate": cert, "privateKey": key, "httpPort": 5002, "tlsPort": 5001}})
	cfgFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(cfgFile, cfg, 0o600)
	cmd := exec.Command(bin, "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	var pebbleLog lockedBuffer
	cmd.Stdout, cmd.Stderr = &pebbleLog, &pebbleLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	toPebble := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		resp, err := toPebble.Get("https://" + api + "/dir")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("pebble did not start: %v\n%s", err, pebbleLog.String())
		}
	}

	s := startServer(t, "--tls-domain", "api.fetchsms.test", "--tls-acme-url", "https://"+api+"/dir", "--tls-acme-ca", cert,
		"--tls-cache-dir", filepath.Join(dir, "autocert"), "--tls-http-addr", "127.0.0.1:0", "--tls-email", "ops@fetchsms.test")
	// Trust what pebble issues: its root, from its management API.
	resp, err := toPebble.Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	issued := x509.NewCertPool()
	if !issued.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's root: %s", root)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: issued, ServerName: "api.fetchsms.test"}}}
	resp, err = client.Get(s.BaseURL + "/v1/services")
	if err != nil {
		t.Fatalf("HTTPS with an issued certificate: %v\npebble:\n%s", err, pebbleLog.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.TLS.PeerCertificates) == 0 || resp.TLS.PeerCertificates[0].DNSNames[0] != "api.fetchsms.test" {
		t.Fatalf("answer %d, certificate %v", resp.StatusCode, resp.TLS.PeerCertificates[0].Subject)
	}
	if _, err := os.Stat(filepath.Join(dir, "autocert", "api.fetchsms.test")); err != nil {
		t.Errorf("the certificate is not cached: %v", err)
	}
	// Another name is refused in the handshake (no certificate is asked for it).
	other := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: issued, ServerName: "evil.example"}}}
	if _, err := other.Get(s.BaseURL + "/v1/services"); err == nil {
		t.Error("a name not in --tls-domain got a certificate")
	}
	// The challenge listener: plain HTTP is redirected to https.
	m := regexp.MustCompile(`ACME HTTP-01 challenges.* addr=(\S+)`).FindStringSubmatch(s.log.String())
	if m == nil {
		t.Fatal("no challenge listener in the log")
	}
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, "http://"+m[1]+"/v1/services", nil)
	req.Host = "api.fetchsms.test"
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode/100 != 3 || !strings.HasPrefix(resp.Header.Get("Location"), "https://api.fetchsms.test/") {
		t.Errorf("plain HTTP on the challenge listener: %v %v", resp, err)
	}
}
