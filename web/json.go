package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// maxBody caps every request body.
const maxBody = 64 << 10

// statusOf maps each error code to its HTTP status: the one table.
var statusOf = map[string]int{
	fetchsms.EINVALID:       http.StatusBadRequest,
	fetchsms.EUNAUTHORIZED:  http.StatusUnauthorized,
	fetchsms.EPAYMENT:       http.StatusPaymentRequired,
	fetchsms.EFORBIDDEN:     http.StatusForbidden,
	fetchsms.ENOTFOUND:      http.StatusNotFound,
	fetchsms.ECONFLICT:      http.StatusConflict,
	fetchsms.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	fetchsms.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	fetchsms.ERATELIMIT:     http.StatusTooManyRequests,
	fetchsms.EINTERNAL:      http.StatusInternalServerError,
	fetchsms.EUNAVAILABLE:   http.StatusServiceUnavailable,
	fetchsms.EUPSTREAM:      http.StatusBadGateway,
}

// writeJSON writes v as indented JSON, the shape the API document shows.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	if a, ok := v.(appender); ok {
		b = a.appendIndented(make([]byte, 0, 512))
	} else {
		var err error
		if b, err = json.MarshalIndent(v, "", "  "); err != nil {
			http.Error(w, `{"detail": "internal error"}`, http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Header values shared by every answer (never modified in place: Header.Set and
// Del replace the slice).
var (
	contentTypeJSON = []string{"application/json"}
	valNosniff      = []string{"nosniff"}
	valDeny         = []string{"DENY"}
	valNoReferrer   = []string{"no-referrer"}
	valNoStore      = []string{"no-store"}
)

type errorBody struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
}

// writeError answers with the error's status and {"detail": …}; internal causes are
// logged, never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := fetchsms.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if d := fetchsms.RetryAfterOf(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
	}
	if code == fetchsms.EUPSTREAM {
		// A provider's failure, not ours: worth a look, not an alarm.
		s.Logger.WarnContext(r.Context(), "request failed upstream", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if code == fetchsms.EUNAVAILABLE {
		// Storage down or unreachable: the client is told to retry; the operator
		// sees it in the health check and these warnings.
		s.Logger.WarnContext(r.Context(), "request failed: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{Detail: fetchsms.ErrorMessage(err), Code: fetchsms.ErrorReason(err)})
}

// decode reads a JSON object body strictly into dst: size-capped, unknown fields
// refused, exactly one value.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fetchsms.Errorf(fetchsms.ETOOLARGE, "request body is larger than %d bytes", maxBody)
		}
		return fetchsms.Errorf(fetchsms.EINVALID, "could not read the request body")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fetchsms.Errorf(fetchsms.EINVALID, "request body is empty: send a JSON object")
	}
	if body[0] != '{' {
		return fetchsms.Errorf(fetchsms.EINVALID, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return fetchsms.Errorf(fetchsms.EINVALID, "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fetchsms.Errorf(fetchsms.EINVALID, "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var fe *fetchsms.Error
	if errors.As(err, &fe) {
		return fe
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fetchsms.Errorf(fetchsms.EINVALID, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fetchsms.Errorf(fetchsms.EINVALID, "field %q must be %s", typ.Field, jsonKind(typ.Type.Kind().String()))
		}
		return fetchsms.Errorf(fetchsms.EINVALID, "request body has the wrong type")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fetchsms.Errorf(fetchsms.EINVALID, "malformed JSON: the body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fetchsms.Errorf(fetchsms.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fetchsms.Errorf(fetchsms.EINVALID, "malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}

// serviceRef is a service reference as JSON: an integer id or a slug string.
type serviceRef string

func (s *serviceRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str == "" || len(str) > 64 {
			return fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "service must be a numeric id or a slug")
		}
		*s = serviceRef(str)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil || n <= 0 {
		return fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "service must be a positive integer id or a slug string")
	}
	*s = serviceRef(strconv.FormatInt(n, 10))
	return nil
}

// unwrapDecodeErr lifts an *Error raised inside a custom UnmarshalJSON.
func unwrapDecodeErr(err error) error {
	var fe *fetchsms.Error
	if errors.As(err, &fe) {
		return fe
	}
	return err
}

// intField decodes a JSON integer that must fit in an int64.
type intField struct {
	Set   bool
	Value int64
}

func (f *intField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return fetchsms.Errorf(fetchsms.EINVALID, "expected an integer, got %s", truncate(string(b), 40))
	}
	f.Set, f.Value = true, n
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ts renders a time as the API shows it: ISO-8601 UTC with a Z, to the second.
func ts(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05Z")
	return &s
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// page reads limit and cursor from the query: limit 1–200 (default 50).
func page(r *http.Request) (fetchsms.Page, error) {
	var p fetchsms.Page
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return p, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "limit must be an integer from 1 to 200")
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return p, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "cursor is not valid: pass the X-Next-Cursor value of the previous page")
		}
		p.Cursor = n
	}
	return p, nil
}

func setNext(w http.ResponseWriter, next int64) {
	if next > 0 {
		w.Header().Set("X-Next-Cursor", strconv.FormatInt(next, 10))
	}
}

// writePage answers one page of a list, each item as out makes it, with the
// next page's cursor in X-Next-Cursor.
func writePage[T, J any](s *Server, w http.ResponseWriter, r *http.Request, load func(fetchsms.Page) ([]T, int64, error), out func(T) J) {
	p, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := load(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]J, 0, len(list))
	for _, x := range list {
		items = append(items, out(x))
	}
	setNext(w, next)
	writeJSON(w, http.StatusOK, items)
}

// readBody reads a request body of at most max bytes: ETOOLARGE past it (what
// names the body in the detail).
func readBody(w http.ResponseWriter, r *http.Request, max int64, what string) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fetchsms.Errorf(fetchsms.ETOOLARGE, "%s is limited to %d bytes", what, max)
		}
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "could not read the request body")
	}
	return body, nil
}
