package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/fetchsms/fetchsms/internal/reqid"
)

// RequestObserver hears every answered request (metrics.Metrics).
type RequestObserver interface {
	// ObserveRequest is called once per request with the mux pattern that
	// matched ("" when none did), the method, the status and the time taken.
	ObserveRequest(route, method string, code int, d time.Duration)
}

// routeNote is where the mux's matched pattern is left for the outer
// middleware (the mux sets it on the request it is handed, which inner
// middleware may have copied).
type routeNote struct {
	pattern string
	parked  bool // the handler parked the connection (park.go)
}

type routeNoteKey struct{}

// observe gives the request its id (the client's X-Request-Id when valid, else
// a new one), sends it back on every answer, carries it in the context (the
// logger's handler adds it to each line: reqid.Handler), and once the request
// is answered writes its access log line and tells the Observer.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := reqid.Of(r.Header.Get(reqid.Header))
		w.Header().Set(reqid.Header, id)
		note := &routeNote{}
		ctx := context.WithValue(reqid.With(r.Context(), id), routeNoteKey{}, note)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if note.parked {
			return // its connection was parked: the lot writes the line when it answers
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		s.answered(r.WithContext(ctx), note.pattern, code, sw.bytes, time.Since(start))
	})
}

// answered writes a request's access log line and tells the Observer.
func (s *Server) answered(r *http.Request, pattern string, code int, bytes int64, took time.Duration) {
	if s.Observer != nil {
		s.Observer.ObserveRequest(pattern, r.Method, code, took)
	}
	// A 5xx is WARN here: its cause, when ours, is logged at ERROR where it
	// happened (a 502 or 503 can be a provider's or the disk's).
	level := slog.LevelInfo
	if code >= 500 {
		level = slog.LevelWarn
	}
	s.Logger.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", pattern),
		slog.Int("status", code), slog.Int64("bytes", bytes), slog.Float64("ms", float64(took.Microseconds())/1000),
		slog.String("ip", s.clientInfoOf(r).ip))
}

// noteRoute records the pattern the mux matched for observe.
func noteRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if n, ok := r.Context().Value(routeNoteKey{}).(*routeNote); ok {
			n.pattern = r.Pattern
		}
	})
}

// statusWriter remembers the status and size of an answer. Unwrap lets
// http.ResponseController reach the connection (flushes of streams and
// long-polls, deadlines).
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handleMetrics serves Prometheus's scrape, behind MetricsToken when it is set
// (Authorization: Bearer <token>).
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.Metrics == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Detail: "no such endpoint: this server exports no metrics", Code: "not_found"})
		return
	}
	if s.MetricsToken != "" {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+s.MetricsToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Detail: "the metrics token is missing or wrong: send Authorization: Bearer <the --metrics-token value>", Code: "unauthorized"})
			return
		}
	}
	s.Metrics.ServeHTTP(w, r)
}
