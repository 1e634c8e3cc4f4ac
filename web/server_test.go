package web

import (
	"bytes"
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

// TestWritesDropCaches: a write through any route drops the catalog cache, and one
// that may end a credential drops the credential cache.
func TestWritesDropCaches(t *testing.T) {
	t.Parallel()
	s := &Server{Logger: slog.Default()}
	h := s.dropCaches(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	now := time.Now()
	fill := func() {
		s.catalog.put([]byte("x"), now)
		s.auth.put("tok", &fetchsms.Principal{}, now)
	}
	for _, tc := range []struct {
		method, path   string
		catalog, creds bool
	}{
		{"GET", "/v1/services", false, false},
		{"POST", "/dashboard/verifications", true, false},
		{"POST", "/logout", true, true},
		{"POST", "/dashboard/api/keys/x/revoke", true, true},
		{"POST", "/admin/users/x/disable", true, true},
		{"DELETE", "/v1/api-keys/x", true, true},
	} {
		fill()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		if dropped := s.catalog.get(now) == nil; dropped != tc.catalog {
			t.Errorf("%s %s: catalog dropped %v", tc.method, tc.path, dropped)
		}
		if dropped := s.auth.get("tok", now) == nil; dropped != tc.creds {
			t.Errorf("%s %s: credentials dropped %v", tc.method, tc.path, dropped)
		}
	}
}
