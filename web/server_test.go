package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
