package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// IdempotencyHeader names the key a client sends to make a retry safe.
const IdempotencyHeader = "Idempotency-Key"

// idempotent makes a purchase or cancel safe to retry: with an Idempotency-Key the
// first answer (status and body) is stored and replayed to a retry with the same
// key and request, without running it again. render answers for a resource whose
// change committed when the answer itself was lost (a crash mid-request).
func (s *Server) idempotent(status int, render func(w http.ResponseWriter, r *http.Request, id string, status int), h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(IdempotencyHeader)
		if key == "" {
			h(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, r, fetchsms.Errorf(fetchsms.ETOOLARGE, "request body is larger than %d bytes", maxBody))
				return
			}
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "could not read the request body"))
			return
		}
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
		sum.Write(bytes.TrimSpace(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		replay := idempotentReplay{status: status, render: render, contentType: func([]byte) string { return "application/json" }, fail: s.writeError}
		s.runIdempotent(w, r, key, sum.Sum(nil), replay, h)
	}
}

// idempotentReplay says how runIdempotent answers a retry: a stored answer with
// contentType's type for its body; a resource whose answer was lost by render
// with status; a failure by fail.
type idempotentReplay struct {
	status      int
	render      func(w http.ResponseWriter, r *http.Request, id string, status int)
	contentType func(body []byte) string
	fail        func(w http.ResponseWriter, r *http.Request, err error)
}

// runIdempotent runs h under the Idempotency-Key key for a request whose
// fingerprint is sum (the same key with another fingerprint is refused), or
// answers a retry as replay says.
func (s *Server) runIdempotent(w http.ResponseWriter, r *http.Request, key string, sum []byte, replay idempotentReplay, h http.HandlerFunc) {
	if len(key) > 255 || !printable(key) {
		replay.fail(w, r, fetchsms.Errorf(fetchsms.EINVALID, "Idempotency-Key must be 1–255 printable ASCII characters"))
		return
	}
	user := principalOf(r).User.ID
	st, err := s.App.BeginIdempotent(r.Context(), user, key, sum)
	if err != nil {
		replay.fail(w, r, err)
		return
	}
	if st != nil {
		w.Header().Set("Idempotent-Replayed", "true")
		if st.Replay {
			w.Header().Set("Content-Type", replay.contentType(st.Response))
			w.WriteHeader(st.Status)
			w.Write(st.Response)
			return
		}
		replay.render(w, r, st.ResourceID, replay.status)
		return
	}
	rec := &recorder{header: w.Header(), status: http.StatusOK}
	h(rec, r.WithContext(fetchsms.WithIdempotency(r.Context(), user, key)))
	if err := s.App.FinishIdempotent(r.Context(), user, key, rec.status, rec.body.Bytes()); err != nil {
		s.finishLater(user, key, rec.status, rec.body.Bytes(), err)
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// finishLater stores an answer that could not be stored at once (storage down or
// unreachable: err) in the background, trying again for finishLaterFor; until
// then a retry with the key is answered 409 conflict with Retry-After. A failed
// answer (5xx) is not retried: forgetting the key is not safe to repeat (a
// forget whose outcome was lost, sent again, could forget a later run's claim of
// the key, which would then be charged twice); the key counts as abandoned after
// fetchsms.IdempotencyAbandonedAfter instead, and a retry then runs it afresh.
// Other failures are logged.
func (s *Server) finishLater(user, key string, status int, body []byte, err error) {
	if fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		s.Logger.Error("store idempotent answer", "err", err)
		return
	}
	if status >= 500 {
		s.Logger.Warn("forget idempotency key: storage unavailable; it counts as abandoned in a while", "err", err)
		return
	}
	s.Logger.Warn("store idempotent answer: storage unavailable; trying again in the background", "err", err)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), finishLaterFor)
		defer cancel()
		for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
			select {
			case <-ctx.Done():
				s.Logger.Warn("store idempotent answer: gave up; the key counts as abandoned", "err", err)
				return
			case <-time.After(pause):
			}
			if err = s.App.FinishIdempotent(ctx, user, key, status, body); err == nil {
				return
			}
		}
	}()
}

// finishLaterFor bounds finishLater well within fetchsms.IdempotencyAbandonedAfter,
// so that it never stores an answer over a later run of the key.
const finishLaterFor = fetchsms.IdempotencyAbandonedAfter / 2

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder holds a handler's answer so it can be stored (idempotency) or sent
// later (a parked long-poll) rather than now.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

func (s *Server) renderVerification(w http.ResponseWriter, r *http.Request, id string, status int) {
	v, err := s.App.Verification(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, verificationAnswer{v})
}

func (s *Server) renderRental(w http.ResponseWriter, r *http.Request, id string, status int) {
	x, err := s.App.Rental(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, rentalAnswer{x})
}
