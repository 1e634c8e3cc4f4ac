package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/webhook"
)

// Deliveries carry the Standard Webhooks headers beside the seed's, and the
// specification's reference library (npm standardwebhooks, installed by
// `npm ci` in clients/standardwebhooks and run unchanged) verifies them: with a
// new endpoint's secret, with both secrets during a rotation's overlap, and
// with the new one alone after it (issue 22).

// rawHook is one POST a receiver got, every header kept.
type rawHook struct {
	Header http.Header
	Body   []byte
}

// rawReceiver keeps every POST; it answers 500 to the first fail of them.
type rawReceiver struct {
	mu   sync.Mutex
	got  []rawHook
	fail int
}

func (h *rawReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, rawHook{r.Header.Clone(), body})
	failing := h.fail > 0
	if failing {
		h.fail--
	}
	h.mu.Unlock()
	if failing {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// next waits for the delivery after the first n and returns it.
func (h *rawReceiver) next(t *testing.T, n int) rawHook {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		if len(h.got) > n {
			g := h.got[n]
			h.mu.Unlock()
			return g
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no delivery number %d", n+1)
	return rawHook{}
}

// verifyWithLibrary runs the reference library over each (secret, delivery)
// and returns whether each verified.
func verifyWithLibrary(t *testing.T, node, dir string, checks []libCheck) []bool {
	t.Helper()
	type in struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	var input []in
	for _, c := range checks {
		input = append(input, in{c.secret, map[string]string{
			"webhook-id":        c.hook.Header.Get("webhook-id"),
			"webhook-timestamp": c.hook.Header.Get("webhook-timestamp"),
			"webhook-signature": c.hook.Header.Get("webhook-signature"),
		}, string(c.hook.Body)})
	}
	raw, _ := json.Marshal(input)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("verify.js: %v: %s", err, stderr.String())
	}
	var oks []bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("verify.js printed %q", line)
		}
		oks = append(oks, r.OK)
	}
	if len(oks) != len(checks) {
		t.Fatalf("verify.js answered %d of %d", len(oks), len(checks))
	}
	return oks
}

type libCheck struct {
	what   string
	secret string
	hook   rawHook
	want   bool
}

func TestStandardWebhooks(t *testing.T) {
	t.Parallel()
	node, dir := nodePackage(t, "standardwebhooks", "standardwebhooks")
	forEachEngine(t, func(t *testing.T, engine string) { testStandardWebhooks(t, engine, node, dir) })
}

func testStandardWebhooks(t *testing.T, engine, node, dir string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	rc := &rawReceiver{fail: 1}
	recv := httptest.NewServer(rc)
	defer recv.Close()

	ep := s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL + "/hooks"}, http.StatusCreated)
	id, s1 := str(t, ep["id"]), str(t, ep["secret"])
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s1, "whsec_")); err != nil || len(key) != 32 || !strings.HasPrefix(s1, "whsec_") {
		t.Fatalf("a new secret is not whsec_ and the standard base64 of 32 bytes: %q", s1)
	}
	test := func() {
		s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/test", s.DemoSession, nil, http.StatusAccepted)
	}

	// A delivery, its first attempt refused: the retry carries the same webhook-id.
	test()
	first := rc.next(t, 0)
	s.advance(t, 10)
	retry := rc.next(t, 1)
	if wid := first.Header.Get("webhook-id"); wid == "" || wid != retry.Header.Get("webhook-id") || wid != first.Header.Get("X-FetchSMS-Delivery") {
		t.Fatalf("webhook-id %q, on the retry %q", wid, retry.Header.Get("webhook-id"))
	}
	if !webhook.Verify(s1, retry.Body, retry.Header.Get("X-FetchSMS-Signature")) || retry.Header.Get("X-FetchSMS-Signature-Previous") != "" {
		t.Fatal("the seed's signature does not verify with the secret")
	}

	// Rotation with an overlap: both secrets sign.
	rot := s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", s.DemoSession, map[string]any{"overlap_seconds": 3600}, http.StatusOK)
	s2 := str(t, rot["secret"])
	if s2 == s1 || !strings.HasPrefix(s2, "whsec_") || rot["previous_secret_expires_at"] == nil || rot["id"] != id {
		t.Fatalf("rotation answered %v", rot)
	}
	test()
	during := rc.next(t, 2)
	if !webhook.Verify(s2, during.Body, during.Header.Get("X-FetchSMS-Signature")) ||
		!webhook.Verify(s1, during.Body, during.Header.Get("X-FetchSMS-Signature-Previous")) {
		t.Fatal("during the overlap the seed's headers must carry the new and the previous secret's signatures")
	}
	if n := len(strings.Fields(during.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("during the overlap webhook-signature carries %d signatures, want 2", n)
	}

	// Rotation with no overlap: the new secret alone.
	rot = s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", s.DemoSession, map[string]any{"overlap_seconds": 0}, http.StatusOK)
	s3 := str(t, rot["secret"])
	test()
	after := rc.next(t, 3)
	if after.Header.Get("X-FetchSMS-Signature-Previous") != "" || len(strings.Fields(after.Header.Get("webhook-signature"))) != 1 {
		t.Fatalf("after the overlap the previous secret still signs: %v", after.Header)
	}

	checks := []libCheck{
		{"first attempt, its secret", s1, first, true},
		{"retry, its secret", s1, retry, true},
		{"retry, a later secret", s2, retry, false},
		{"overlap, new secret", s2, during, true},
		{"overlap, previous secret", s1, during, true},
		{"after, newest secret", s3, after, true},
		{"after, the secret it replaced", s2, after, false},
	}
	for i, ok := range verifyWithLibrary(t, node, dir, checks) {
		if ok != checks[i].want {
			t.Errorf("the reference library on %q: verified %v, want %v", checks[i].what, ok, checks[i].want)
		}
	}

	// Bad input, and another customer's endpoint.
	for _, body := range []map[string]any{{"overlap_seconds": -1}, {"overlap_seconds": 7*24*3600 + 1}} {
		if code := s.errorCode(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", s.DemoSession, body, http.StatusUnprocessableEntity); code != "invalid_value" {
			t.Fatalf("overlap %v: code %s", body, code)
		}
	}
	s.expect(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", s.DemoSession, map[string]any{"overlap": 5}, http.StatusBadRequest)
	other, _ := s.signup(t)
	s.expect(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", other, nil, http.StatusNotFound)
	s.expect(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", s.APIKey, nil, http.StatusForbidden)
}
