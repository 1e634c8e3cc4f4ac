package main

// Every request the end-to-end tests send to the API goes through
// specTransport, which checks it and its answer against the OpenAPI document
// the server serves (web/openapi/openapi.json): the document cannot drift from
// what the server does without a test failing. docs/DECISIONS.md, "The API
// reference", says why libopenapi-validator.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/fetchsms/fetchsms/web/openapi"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// apiValidator is built once from the embedded document; a document it cannot
// read fails every test that sends a request.
var apiValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the validator: %v", errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the OpenAPI document is not valid OpenAPI 3.1: %s", describe(errs))
	}
	return v, nil
})

type hostileKey struct{}

// hostile marks a request as deliberately malformed (e2e_hostile_test.go): it
// is not held to the document, but its answer still is.
func hostile(ctx context.Context) context.Context { return context.WithValue(ctx, hostileKey{}, true) }

// specTransport checks each API request and answer against the document.
type specTransport struct {
	t    testing.TB
	base http.RoundTripper
}

// newSpecClient is an http.Client whose transport checks against the document.
func newSpecClient(t testing.TB, c *http.Client) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &specTransport{t: t, base: base}
	return c
}

// documented reports whether a path belongs to the API the document covers (the
// dashboard's HTML pages and static files do not).
func documented(path string) bool {
	return strings.HasPrefix(path, "/v1/") || path == "/healthz" || strings.HasPrefix(path, "/stubs/")
}

func (st *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !documented(req.URL.Path) {
		return st.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := st.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A stream (GET /v1/events) is read as it comes: its status and
		// headers are checked, not its body, which may never end.
		if msg := checkExchange(req, reqBody, resp, nil); msg != "" {
			st.t.Errorf("OpenAPI document and server disagree: %s", msg)
		}
		return resp, nil
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, nil // the caller sees the broken body as it would have
	}
	if msg := checkExchange(req, reqBody, resp, respBody); msg != "" {
		st.t.Errorf("OpenAPI document and server disagree: %s", msg)
	}
	return resp, nil
}

// checkExchange checks one request and its answer; it returns what is wrong, or "".
func checkExchange(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	v, err := apiValidator()
	if err != nil {
		return err.Error()
	}
	what := fmt.Sprintf("%s %s → %d", req.Method, req.URL.RequestURI(), resp.StatusCode)
	if len(what) > 200 {
		what = what[:200] + "…"
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vresp := *resp
	vresp.Body = io.NopCloser(bytes.NewReader(respBody))
	vresp.Header = resp.Header.Clone()
	reqOK, reqErrs := v.ValidateHttpRequest(vreq)
	var respOK bool
	var respErrs []*verrors.ValidationError
	routeKnown := !unknownRoute(reqErrs)
	if routeKnown {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		respOK, respErrs = v.ValidateHttpResponse(vreq, &vresp)
	}

	if !routeKnown {
		// A path or method the document does not have: the server must say so
		// too, or send the client to the cleaned path ("/v1/a/../b" → "/v1/b").
		switch resp.StatusCode {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			return ""
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			if strings.Contains(req.URL.Path, "/.") || strings.Contains(req.URL.Path, "//") {
				return ""
			}
		}
		return fmt.Sprintf("%s: not in the document, yet the server answered it: %s", what, describe(reqErrs))
	}
	exercised(req.Method, req.URL.Path, resp.StatusCode)
	if !respOK {
		return fmt.Sprintf("%s: the answer does not match the document: %s\nbody: %.600s", what, describe(respErrs), respBody)
	}
	if !reqOK && req.Context().Value(hostileKey{}) == nil && resp.StatusCode < 400 {
		// The document refuses a request the server took.
		return fmt.Sprintf("%s: the document refuses this request, the server took it: %s\nrequest body: %.300s", what, describe(reqErrs), reqBody)
	}
	return ""
}

// unknownRoute reports whether validation failed because the path or the
// method is not in the document.
func unknownRoute(errs []*verrors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == "path" {
			return true
		}
	}
	return false
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(" (" + e.Reason + ")")
		}
		for _, f := range e.SchemaValidationErrors {
			b.WriteString(" [" + f.Reason)
			if f.FieldPath != "" {
				b.WriteString(" at " + f.FieldPath)
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

// TestSpecCheckCatchesDrift: the check refuses what the document does not
// allow (a field missing or extra, a wrong type, an undocumented status or
// route, a request the document refuses but the server took) and passes what
// it allows.
func TestSpecCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	good := `{"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "ref": "v_8R3p2K", "service": "telegram", "service_name": "Telegram",
		"number": "(332) 555-0184", "number_e164": "+13325550184", "code": null, "codes": [], "link": null, "status": "waiting", "cost_cents": 70,
		"created_at": "2026-06-17T22:14:05Z", "expires_at": "2026-06-17T22:29:05Z"}`
	exchange := func(method, path, reqBody string, status int, respBody string) string {
		req, _ := http.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(reqBody))
		req.Header.Set("Authorization", "Bearer fsk_test")
		if reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
		return checkExchange(req, []byte(reqBody), resp, []byte(respBody))
	}
	for name, c := range map[string]struct {
		method, path, reqBody string
		status                int
		respBody              string
		ok                    bool
	}{
		"Matches":              {"POST", "/v1/verifications", `{"service": 4}`, 201, good, true},
		"MissingField":         {"POST", "/v1/verifications", `{"service": 4}`, 201, strings.Replace(good, `"number_e164": "+13325550184",`, "", 1), false},
		"ExtraField":           {"POST", "/v1/verifications", `{"service": 4}`, 201, strings.Replace(good, `"code": null`, `"code": null, "surprise": 1`, 1), false},
		"WrongType":            {"POST", "/v1/verifications", `{"service": 4}`, 201, strings.Replace(good, `"cost_cents": 70`, `"cost_cents": "70"`, 1), false},
		"UndocumentedStatus":   {"POST", "/v1/verifications", `{"service": 4}`, 418, `{"detail": "x", "code": "conflict"}`, false},
		"UndocumentedCode":     {"POST", "/v1/verifications", `{"service": 4}`, 409, `{"detail": "x", "code": "no_such_code"}`, false},
		"RefusedRequestTaken":  {"POST", "/v1/verifications", `{"servise": 4}`, 201, good, false},
		"RefusedRequest4xx":    {"POST", "/v1/verifications", `{"servise": 4}`, 400, `{"detail": "unknown field", "code": "invalid_request"}`, true},
		"UnknownRouteAnswered": {"GET", "/v1/nowhere", "", 200, `{}`, false},
		"UnknownRoute404":      {"GET", "/v1/nowhere", "", 404, `{"detail": "no such endpoint", "code": "not_found"}`, true},
	} {
		t.Run(name, func(t *testing.T) {
			msg := exchange(c.method, c.path, c.reqBody, c.status, c.respBody)
			if c.ok && msg != "" {
				t.Errorf("refused a matching exchange: %s", msg)
			}
			if !c.ok && msg == "" {
				t.Errorf("passed an exchange the document does not allow")
			}
		})
	}
}

// Which documented operations and statuses the tests have checked: with
// FETCHSMS_OPENAPI_COVERAGE=1, TestMain prints the operations no test reached.
var coverage = struct {
	sync.Mutex
	ops  []docOp
	seen map[string]bool
}{seen: map[string]bool{}}

type docOp struct {
	key string // "GET /v1/verifications/{id}"
	re  *regexp.Regexp
}

var loadOps = sync.OnceFunc(func() {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if json.Unmarshal(openapi.Document, &doc) != nil {
		return
	}
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for path, item := range doc.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(path), "[^/]+") + "$")
		for method := range item {
			coverage.ops = append(coverage.ops, docOp{strings.ToUpper(method) + " " + path, re})
		}
	}
})

func exercised(method, path string, status int) {
	loadOps()
	coverage.Lock()
	defer coverage.Unlock()
	for _, op := range coverage.ops {
		if strings.HasPrefix(op.key, method+" ") && op.re.MatchString(path) {
			coverage.seen[op.key] = true
			coverage.seen[fmt.Sprintf("%s %d", op.key, status)] = true
		}
	}
}

// uncoveredOperations lists the documented operations no request reached.
func uncoveredOperations() []string {
	loadOps()
	coverage.Lock()
	defer coverage.Unlock()
	var out []string
	for _, op := range coverage.ops {
		if !coverage.seen[op.key] {
			out = append(out, op.key)
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIExamplesMatch: every example in the document (the reference page
// shows them) is valid for its own schema, and the check can tell.
func TestOpenAPIExamplesMatch(t *testing.T) {
	t.Parallel()
	doc, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Components struct {
			Schemas map[string]struct {
				Examples []json.RawMessage `json:"examples"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &raw); err != nil {
		t.Fatal(err)
	}
	sv := schema_validation.NewSchemaValidator(config.WithFormatAssertions())
	n := 0
	for name, s := range raw.Components.Schemas {
		for _, ex := range s.Examples {
			schema := model.Model.Components.Schemas.GetOrZero(name).Schema()
			if ok, errs := sv.ValidateSchemaBytes(schema, ex); !ok {
				t.Errorf("the example of %s does not match its schema: %s", name, describe(errs))
			}
			n++
		}
	}
	if n < 5 {
		t.Errorf("only %d examples checked", n)
	}
	bad := []byte(`{"detail": "", "code": "no_such_code"}`)
	if ok, _ := sv.ValidateSchemaBytes(model.Model.Components.Schemas.GetOrZero("Error").Schema(), bad); ok {
		t.Errorf("a wrong Error passed its schema: the check cannot fail")
	}
}
