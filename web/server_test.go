package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// TestPanicBecomesLogged500: a bug in a handler is a logged 500 with a JSON detail,
// and the panic value (which may hold secrets) is logged, never sent.
func TestPanicBecomesLogged500(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	s := &Server{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	h := s.recoverer(securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom: secret fsk_abc")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/anything", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"detail": "internal error"`) || strings.Contains(rec.Body.String(), "fsk_abc") {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), "boom") {
		t.Fatalf("panic not logged: %s", log.String())
	}
}

// TestAnnouncementsDropCaches: the caches drop on the domain's announcements
// (a purchase or an expiry moved stock, an admin edited the catalog, a credential
// ended), whatever the route that caused them; nothing else drops them.
func TestAnnouncementsDropCaches(t *testing.T) {
	t.Parallel()
	s := &Server{Logger: slog.Default()}
	now := time.Now()
	fill := func() {
		_, g := s.catalog.get(now)
		s.catalog.put([]byte("x"), now, g)
		_, g = s.auth.get("tok", now)
		s.auth.put("tok", &fetchsms.Principal{}, now, g)
	}
	dropped := func() (catalog, creds bool) {
		body, _ := s.catalog.get(now)
		p, _ := s.auth.get("tok", now)
		return body == nil, p == nil
	}
	for _, tc := range []struct {
		change         any
		catalog, creds bool
	}{
		{fetchsms.CredentialsChanged{}, false, true},
		{fetchsms.StockChanged{}, true, false},
		{fetchsms.CatalogChanged{}, true, false},
		{fetchsms.PurchaseMade{}, false, false},
	} {
		fill()
		s.hear(context.Background(), tc.change)
		if catalog, creds := dropped(); catalog != tc.catalog || creds != tc.creds {
			t.Errorf("%T: catalog dropped %v, credentials dropped %v", tc.change, catalog, creds)
		}
	}
}

// TestCacheFillAfterDropIsDiscarded: a lookup that began before a change and
// ends after the change dropped the cache does not put the old state back.
func TestCacheFillAfterDropIsDiscarded(t *testing.T) {
	t.Parallel()
	var s Server
	now := time.Now()
	_, g := s.auth.get("tok", now) // a request looks the key up...
	s.auth.purge()                 // ...the key is revoked meanwhile...
	s.auth.put("tok", &fetchsms.Principal{}, now, g)
	if p, _ := s.auth.get("tok", now); p != nil {
		t.Fatal("a credential read before its revocation was cached after it")
	}
	_, g = s.auth.get("tok", now)
	s.auth.put("tok", &fetchsms.Principal{}, now, g)
	if p, _ := s.auth.get("tok", now); p == nil {
		t.Fatal("a lookup with no purge in between was not cached")
	}

	_, g = s.catalog.get(now)
	s.catalog.invalidate()
	s.catalog.put([]byte("old stock"), now, g)
	if body, _ := s.catalog.get(now); body != nil {
		t.Fatalf("a catalog read before a change was cached after it: %q", body)
	}
	_, g = s.catalog.get(now)
	s.catalog.put([]byte("new stock"), now, g)
	if body, _ := s.catalog.get(now); string(body) != "new stock" {
		t.Fatalf("catalog %q", body)
	}
}

// unavailableStore is a store whose storage has failed: Health and the catalog
// answer EUNAVAILABLE, as SQLite does after a failed flush (the store side is
// tested in sqlite's TestFailedFlushStopsTheDatabase).
type unavailableStore struct{ fetchsms.Store }

var errUnavailable = &fetchsms.Error{Code: fetchsms.EUNAVAILABLE, Message: "the service is temporarily unavailable", Err: errors.New("storage failure: fdatasync: EIO")}

func (unavailableStore) Health(context.Context) error { return errUnavailable }
func (unavailableStore) AllServices(context.Context) ([]*fetchsms.Service, error) {
	return nil, fmt.Errorf("%w: storage failure: fdatasync: EIO", fetchsms.ErrUnavailable)
}

// TestStorageFailureIs503: when the store cannot serve, requests get 503 with a
// {"detail"} that hides the cause, and /healthz turns 503 so that a load balancer
// or an orchestrator takes the server out and restarts it.
func TestStorageFailureIs503(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	app, err := fetchsms.New(context.Background(), unavailableStore{}, fetchsms.Options{Detector: fetchsms.NewDetector(nil)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{App: app, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	for _, path := range []string{"/v1/services", "/healthz"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, `"detail": "the service is temporarily unavailable"`) || strings.Contains(body, "EIO") {
			t.Errorf("GET %s: %d %s", path, rec.Code, body)
		}
	}
	if !strings.Contains(log.String(), "EIO") {
		t.Errorf("the cause is not logged: %s", log.String())
	}
}
