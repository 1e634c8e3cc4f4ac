// Package client is the official Go client of the Fetch SMS API: typed requests
// and answers for the customer API (catalog, verifications, rentals, balance and
// wallet), errors as *APIError with the documented codes, purchases and cancels
// retried safely under an Idempotency-Key made once per call, Retry-After
// honoured, and codes awaited with the server's long-poll.
//
// Every method takes a context: its deadline or cancellation bounds the whole
// call, retries and waits included.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// IdempotencyHeader is the request header that makes a purchase or a cancel
// safe to send again: the server answers a repeat with the first answer.
const IdempotencyHeader = "Idempotency-Key"

// MaxWait is the longest one long-poll request waits on the server.
const MaxWait = 60 * time.Second

// DefaultURL is where a sandbox started by `fetchsms serve --sandbox` listens.
const DefaultURL = "http://127.0.0.1:8080"

// Client calls one Fetch SMS server with one credential. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	token     string
	hc        *http.Client
	retries   int
	minDelay  time.Duration
	maxDelay  time.Duration
	timeout   time.Duration
	userAgent string
}

// Option configures a Client made by New.
type Option func(*Client)

// WithHTTPClient sends the requests through hc (its Transport, cookies and
// redirects). Its Timeout, when set, must exceed MaxWait for long-polls to work;
// the default has none and bounds each attempt itself (see WithTimeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times a failed call is tried again (default 4; 0
// never retries). Only what is safe is retried: reads, purchases and cancels
// (under their Idempotency-Key) after a network failure or a 5xx, and anything
// answered 429.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(0, n) } }

// WithBackoff sets the first and the longest pause between retries (default
// 250ms and 8s); each pause doubles, with jitter. A Retry-After from the server
// replaces the pause.
func WithBackoff(first, longest time.Duration) Option {
	return func(c *Client) { c.minDelay, c.maxDelay = first, max(first, longest) }
}

// WithTimeout bounds each attempt that is not a long-poll (default 30s); a
// long-poll gets its wait on top.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (such as
// "https://api.fetchsms.com" or DefaultURL; a trailing "/v1" is accepted) that
// authenticates with token: an API key (fsk_…) or a dashboard session (fss_…),
// or "" for the public catalog only. It fails when baseURL is not an absolute
// http or https URL.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetchsms: the server URL %q is not an http:// or https:// URL", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, token: token, hc: &http.Client{}, retries: 4, minDelay: 250 * time.Millisecond,
		maxDelay: 8 * time.Second, timeout: 30 * time.Second, userAgent: "fetchsms-go-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// request is one logical call, sent once or more.
type request struct {
	method string
	path   string // "/v1/…", already escaped
	query  url.Values
	body   any // JSON-encoded once; nil for none
	out    any // decoded from a 2xx answer; nil to drop it
	// idempotent: the call may be sent again after an unknown outcome (a read,
	// or a write under key).
	idempotent bool
	key        string        // the Idempotency-Key, sent on every attempt
	wait       time.Duration // a long-poll's wait, added to the attempt's timeout
}

// newKey returns a fresh Idempotency-Key (128 random bits).
func newKey() string { return rand.Text() }

// do sends r until it succeeds, fails in a way not worth retrying, the retries
// run out, or ctx ends. It returns the answer's headers.
func (c *Client) do(ctx context.Context, r request) (http.Header, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("fetchsms: encoding the request to %s %s: %w", r.method, r.path, err)
		}
	}
	uncertain := false // an earlier attempt may have run on the server
	for attempt := 0; ; attempt++ {
		hdr, status, raw, err := c.once(ctx, r, body)
		if err == nil && status < 300 {
			if r.out != nil && len(bytes.TrimSpace(raw)) > 0 {
				if err := json.Unmarshal(raw, r.out); err != nil {
					return hdr, fmt.Errorf("fetchsms: decoding the answer to %s %s: %w", r.method, r.path, err)
				}
			}
			return hdr, nil
		}
		var apiErr *APIError
		if err == nil {
			apiErr = parseError(status, hdr, raw)
			err = apiErr
		}
		if ctx.Err() != nil || attempt >= c.retries || !c.mayRetry(r, apiErr, uncertain) {
			return hdr, err
		}
		delay := c.backoff(attempt)
		if apiErr != nil && apiErr.RetryAfter > 0 {
			delay = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return hdr, err // the pause would outlast the call
		}
		if apiErr == nil || apiErr.Status >= 500 {
			uncertain = true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return hdr, err
		case <-t.C:
		}
	}
}

// mayRetry says whether a failed attempt of r is sent again: apiErr is its
// error answer (nil: no answer came), uncertain whether an earlier attempt may
// have run.
func (c *Client) mayRetry(r request, apiErr *APIError, uncertain bool) bool {
	switch {
	case apiErr == nil:
		return r.idempotent
	case apiErr.Status == http.StatusTooManyRequests:
		return true // refused before it ran
	case retryable(apiErr.Status):
		return r.idempotent
	case apiErr.Status == http.StatusConflict && apiErr.Code == CodeConflict:
		// An earlier attempt under the same key still runs on the server.
		return r.key != "" && uncertain
	}
	return false
}

// backoff is the pause before retry n+1: doubling from minDelay, at most
// maxDelay, between half and all of it at random.
func (c *Client) backoff(n int) time.Duration {
	d := c.minDelay << min(n, 20)
	if d <= 0 || d > c.maxDelay {
		d = c.maxDelay
	}
	if d <= 1 {
		return d
	}
	return d/2 + mathrand.N(d/2+1)
}

// once sends one attempt and reads the whole answer.
func (c *Client) once(ctx context.Context, r request, body []byte) (http.Header, int, []byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout+r.wait)
		defer cancel()
	}
	target := strings.TrimSuffix(c.base.String(), "/") + r.path // r.path is escaped
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("fetchsms: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.key != "" {
		req.Header.Set(IdempotencyHeader, r.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("fetchsms: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("fetchsms: %s %s: reading the answer: %w", r.method, r.path, err)
	}
	return resp.Header, resp.StatusCode, raw, nil
}

// parseError makes the *APIError of an error answer; a body that is not the
// documented {"detail", "code"} still gives the status and what it said.
func parseError(status int, hdr http.Header, raw []byte) *APIError {
	e := &APIError{Status: status, RetryAfter: retryAfter(hdr.Get("Retry-After"))}
	var body struct {
		Detail string `json:"detail"`
		Code   string `json:"code"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Detail != "" {
		e.Detail, e.Code = body.Detail, body.Code
		return e
	}
	e.Detail = http.StatusText(status)
	if s := strings.TrimSpace(string(raw)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Detail += ": " + s
	}
	return e
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date; 0 when absent
// or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Do sends a request to path (such as "/v1/account") with in as its JSON body
// (nil for none) and decodes a 2xx answer into out (nil to drop it). It is for
// routes this package has no method for. A GET is retried like the typed
// reads; any other method only after a 429. It returns the answer's headers,
// and an *APIError for an error answer.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	p, q, _ := strings.Cut(path, "?")
	query, err := url.ParseQuery(q)
	if err != nil {
		return nil, fmt.Errorf("fetchsms: the query of %q: %w", path, err)
	}
	return c.do(ctx, request{method: method, path: p, query: query, body: in, out: out, idempotent: method == http.MethodGet})
}

// get reads path into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) (http.Header, error) {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: query, out: out, idempotent: true})
}

// write sends a purchase or a cancel under key (a fresh one when ""), so that
// it may be retried whatever happened to an attempt.
func (c *Client) write(ctx context.Context, path, key string, body, out any) error {
	if key == "" {
		key = newKey()
	}
	_, err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, out: out, idempotent: true, key: key})
	return err
}

// list reads one page of a list into a Page; wait makes it a long-poll.
func list[T any](ctx context.Context, c *Client, path string, query url.Values, opt ListOptions, wait time.Duration) (*Page[T], error) {
	if query == nil {
		query = url.Values{}
	}
	if opt.Limit != 0 {
		query.Set("limit", strconv.Itoa(opt.Limit))
	}
	if opt.Cursor != "" {
		query.Set("cursor", opt.Cursor)
	}
	p := &Page[T]{}
	hdr, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query, out: &p.Items, idempotent: true, wait: wait})
	if err != nil {
		return nil, err
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	p.NextCursor = hdr.Get("X-Next-Cursor")
	return p, nil
}

// pathID escapes an id for a path, refusing an empty one (which would name
// another route).
func pathID(what, id string) (string, error) {
	if id == "" {
		return "", errors.New("fetchsms: no " + what + " id")
	}
	return url.PathEscape(id), nil
}

// waitSeconds is a long-poll's wait as the query sends it: whole seconds,
// within 0–MaxWait.
func waitSeconds(d time.Duration) (time.Duration, string) {
	d = min(max(d, 0), MaxWait).Truncate(time.Second)
	return d, strconv.Itoa(int(d / time.Second))
}
