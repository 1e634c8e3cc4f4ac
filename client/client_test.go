package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// These tests put the client's retry rules against a server that fails on
// purpose (a dropped connection, a 503, a 429); the end-to-end tests of
// cmd/fetchsms drive it against the real server.

// attempts records what a test server received.
type attempts struct {
	mu     sync.Mutex
	keys   []string
	bodies []string
	at     []time.Time
}

func (a *attempts) add(r *http.Request) int {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys = append(a.keys, r.Header.Get(IdempotencyHeader))
	a.bodies = append(a.bodies, string(b))
	a.at = append(a.at, time.Now())
	return len(a.keys)
}

func newTestClient(t *testing.T, h http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/v1/", "fsk_test", append([]Option{WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeErr(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"detail": detail, "code": code})
}

const verificationBody = `{"id":"9f3e1c2a-0000-4000-8000-000000000001","ref":"v_1","service":"telegram","service_name":"Telegram",
"number":"(332) 555-0184","code":null,"status":"waiting","cost_cents":80,"created_at":"2026-06-17T22:14:05Z","expires_at":"2026-06-17T22:29:05Z"}`

func TestPurchaseRetriedUnderOneKey(t *testing.T) {
	t.Parallel()
	t.Run("After5xxAndDroppedConnection", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			switch a.add(r) {
			case 1:
				writeErr(w, http.StatusServiceUnavailable, CodeUnavailable, "storage is down")
			case 2:
				// The answer is lost: the connection drops without one.
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
			default:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, verificationBody)
			}
		})
		v, err := c.CreateVerification(context.Background(), VerificationRequest{Service: "4", AreaCode: "332"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Number != "(332) 555-0184" || v.Code != "" || v.Status != StatusWaiting || v.CostCents != 80 || v.ExpiresAt.Sub(v.CreatedAt) != 15*time.Minute {
			t.Errorf("verification = %+v", v)
		}
		if len(a.keys) != 3 || a.keys[0] == "" || a.keys[1] != a.keys[0] || a.keys[2] != a.keys[0] {
			t.Errorf("Idempotency-Keys of the attempts = %q, want one key, three times", a.keys)
		}
		if a.bodies[0] != `{"service":4,"area_code":"332"}` || a.bodies[2] != a.bodies[0] {
			t.Errorf("bodies = %q", a.bodies)
		}
		// The next purchase is another logical call: another key.
		c.CreateVerification(context.Background(), VerificationRequest{Service: "telegram"})
		if len(a.keys) != 4 || a.keys[3] == a.keys[0] || a.bodies[3] != `{"service":"telegram"}` {
			t.Errorf("a second purchase: keys %q bodies %q", a.keys, a.bodies)
		}
	})
	t.Run("InProgressConflictAfterALostAnswer", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			switch a.add(r) {
			case 1:
				writeErr(w, http.StatusBadGateway, CodeProviderUnavailable, "lost")
			case 2:
				writeErr(w, http.StatusConflict, CodeConflict, "a request with this Idempotency-Key is still in progress")
			default:
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, verificationBody)
			}
		})
		if _, err := c.CreateVerification(context.Background(), VerificationRequest{Service: "4"}); err != nil || len(a.keys) != 3 {
			t.Fatalf("err %v after %d attempts", err, len(a.keys))
		}
	})
	t.Run("RefusalsAreNotRetried", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			switch a.add(r) {
			case 1:
				writeErr(w, http.StatusConflict, CodeOutOfStock, "Telegram is out of stock")
			case 2:
				writeErr(w, http.StatusConflict, CodeConflict, "some other conflict")
			default:
				writeErr(w, http.StatusPaymentRequired, CodeInsufficientBalance, "add funds")
			}
		})
		for i, want := range []string{CodeOutOfStock, CodeConflict, CodeInsufficientBalance} {
			_, err := c.CreateVerification(context.Background(), VerificationRequest{Service: "4"})
			var e *APIError
			if !errors.As(err, &e) || e.Code != want || ErrorCode(err) != want || e.Detail == "" || len(a.keys) != i+1 {
				t.Errorf("attempt %d: %v (%d requests), want %s, not retried", i, err, len(a.keys), want)
			}
		}
	})
	t.Run("GivesUpAfterTheRetries", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			a.add(r)
			writeErr(w, http.StatusInternalServerError, CodeInternalError, "internal error")
		}, WithRetries(2))
		_, err := c.CancelVerification(context.Background(), "9f3e1c2a-0000-4000-8000-000000000001")
		if e := (*APIError)(nil); !errors.As(err, &e) || e.Status != 500 || len(a.keys) != 3 || a.keys[0] == "" || a.keys[2] != a.keys[0] {
			t.Errorf("%v after %d attempts (keys %q)", err, len(a.keys), a.keys)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("Honoured", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if a.add(r) == 1 {
				w.Header().Set("Retry-After", "1")
				writeErr(w, http.StatusTooManyRequests, CodeRateLimited, "slow down")
				return
			}
			io.WriteString(w, `{"balance_cents": 5000, "currency": "USD"}`)
		})
		b, err := c.Balance(context.Background())
		if err != nil || b.BalanceCents != 5000 || b.Currency != "USD" {
			t.Fatalf("balance %+v, %v", b, err)
		}
		if len(a.at) != 2 || a.at[1].Sub(a.at[0]) < 900*time.Millisecond {
			t.Errorf("%d attempts, the retry came %v after the 429, want ≥ 1s", len(a.at), a.at[len(a.at)-1].Sub(a.at[0]))
		}
	})
	t.Run("NotPastTheDeadline", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			a.add(r)
			w.Header().Set("Retry-After", "30")
			writeErr(w, http.StatusTooManyRequests, CodeRateLimited, "slow down")
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Services(ctx)
		var e *APIError
		if !errors.As(err, &e) || e.Code != CodeRateLimited || e.RetryAfter != 30*time.Second || time.Since(start) > time.Second || len(a.keys) != 1 {
			t.Errorf("%v (RetryAfter %v) after %v and %d attempts: want the 429 at once", err, e.RetryAfter, time.Since(start), len(a.keys))
		}
	})
	t.Run("DepositRetriedOnlyAfter429", func(t *testing.T) {
		t.Parallel()
		var a attempts
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			switch a.add(r) {
			case 1:
				writeErr(w, http.StatusTooManyRequests, CodeRateLimited, "slow down")
			default:
				writeErr(w, http.StatusServiceUnavailable, CodeUnavailable, "down")
			}
		})
		_, err := c.CreateDeposit(context.Background(), DepositRequest{AmountCents: 1000})
		if ErrorCode(err) != CodeUnavailable || len(a.keys) != 2 || a.keys[0] != "" {
			t.Errorf("%v after %d attempts, keys %q: a deposit is retried after a 429 only, and carries no key", err, len(a.keys), a.keys)
		}
	})
}

func TestWaitForCodeLongPolls(t *testing.T) {
	t.Parallel()
	var a attempts
	var waits []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := a.add(r)
		a.mu.Lock()
		waits = append(waits, r.URL.Query().Get("wait"))
		a.mu.Unlock()
		body := verificationBody
		if n == 3 {
			body = strings.Replace(strings.Replace(body, `"code":null`, `"code":"482910"`, 1), `"waiting"`, `"received"`, 1)
		}
		io.WriteString(w, body)
	})
	v, err := c.WaitForCode(context.Background(), "9f3e1c2a-0000-4000-8000-000000000001")
	if err != nil || v.Code != "482910" || v.Status != StatusReceived {
		t.Fatalf("WaitForCode = %+v, %v", v, err)
	}
	if !slices.Equal(waits, []string{"60", "60", "60"}) {
		t.Errorf("waits = %q, want three long-polls of 60 s", waits)
	}
	// A context that ends stops the wait with its error.
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	c2 := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("wait") == "2" {
			time.Sleep(2 * time.Second)
		}
		io.WriteString(w, verificationBody)
	})
	if _, err := c2.WaitForCode(ctx, "9f3e1c2a-0000-4000-8000-000000000001"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForCode past the deadline: %v", err)
	}
}

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<html>proxy says no</html>")
	})
	_, err := c.Rental(context.Background(), "x")
	var e *APIError
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "" || !strings.Contains(e.Detail, "proxy says no") {
		t.Errorf("a non-JSON error answer: %#v", err)
	}
	if _, err := c.Rental(context.Background(), ""); err == nil || ErrorCode(err) != "" {
		t.Errorf("an empty id: %v", err)
	}
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := New(u, ""); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

// TestCodesAreTheServers: the constants are the words the server documents
// (fetchsms.Reasons and the specific reasons), none missing, none made up.
func TestCodesAreTheServers(t *testing.T) {
	t.Parallel()
	server := map[string]bool{"method_not_allowed": true}
	for _, r := range fetchsms.Reasons {
		server[r] = true
	}
	for _, r := range []string{fetchsms.ReasonOutOfStock, fetchsms.ReasonAlreadyReceived, fetchsms.ReasonNotWaiting, fetchsms.ReasonUnknownService,
		fetchsms.ReasonPaymentPaused, fetchsms.ReasonAccountDisabled, fetchsms.ReasonBadSignature,
		fetchsms.ReasonNoCodeYet, fetchsms.ReasonWindowClosed, fetchsms.ReasonNumberUnavailable} {
		server[r] = true
	}
	mine := map[string]bool{}
	for _, c := range Codes {
		mine[c] = true
		if !server[c] {
			t.Errorf("client code %q is not the server's", c)
		}
	}
	for c := range server {
		if !mine[c] {
			t.Errorf("server code %q has no client constant", c)
		}
	}
}

func TestServiceRefJSON(t *testing.T) {
	t.Parallel()
	for ref, want := range map[ServiceRef]string{"4": `4`, ServiceID(2): `2`, "telegram": `"telegram"`, "04": `"04"`, "-1": `"-1"`,
		"99999999999": `"99999999999"`, "": `""`, `a"b`: `"a\"b"`} {
		b, err := json.Marshal(ref)
		if err != nil || string(b) != want {
			t.Errorf("ServiceRef(%q) → %s, %v; want %s", string(ref), b, err, want)
		}
	}
}

func FuzzParseError(f *testing.F) {
	for _, s := range []string{`{"detail":"x","code":"out_of_stock"}`, `{"detail":""}`, `<html>`, ``, `null`, `{"detail":1}`} {
		f.Add(409, s, "3")
	}
	f.Add(429, `{}`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body, ra string) {
		e := parseError(status, http.Header{"Retry-After": {ra}}, []byte(body))
		if e.Status != status || e.Detail == "" && http.StatusText(status) != "" || e.RetryAfter < 0 || e.Error() == "" {
			t.Errorf("parseError(%d, %q, %q) = %+v", status, body, ra, e)
		}
	})
}

func FuzzServiceRef(f *testing.F) {
	for _, s := range []string{"4", "telegram", "", "007", "1e3", "-2", "2147483648"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(ServiceRef(s))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q → %s: not JSON: %v", s, b, err)
		}
		if n, ok := back.(float64); ok && ServiceID(int(n)) != ServiceRef(s) {
			t.Errorf("%q sent as the number %v", s, n)
		}
	})
}
