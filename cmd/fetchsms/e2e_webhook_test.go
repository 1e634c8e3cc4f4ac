package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/webhook"
)

type hook struct {
	Event     string
	Signature string
	Delivery  string
	Timestamp string
	Body      []byte
}

// hookReceiver records every delivery it gets.
type hookReceiver struct {
	mu  sync.Mutex
	got []hook
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, hook{r.Header.Get("X-FetchSMS-Event"), r.Header.Get("X-FetchSMS-Signature"), r.Header.Get("X-FetchSMS-Delivery"), r.Header.Get("X-FetchSMS-Timestamp"), body})
	h.mu.Unlock()
}

// wait returns the first delivery of event type typ whose body contains substr.
func (h *hookReceiver) wait(t *testing.T, typ, substr string) hook {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, g := range h.got {
			if g.Event == typ && strings.Contains(string(g.Body), substr) {
				h.mu.Unlock()
				return g
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s delivery containing %q", typ, substr)
	return hook{}
}

func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testWebhooksEndToEnd)
}

func testWebhooksEndToEnd(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	rc := &hookReceiver{}
	recv := httptest.NewServer(rc)
	defer recv.Close()

	ep := s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL + "/hooks"}, http.StatusCreated)
	secret := str(t, ep["secret"])
	epID := str(t, ep["id"])
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	for _, e := range s.list(t, "/v1/webhooks", s.DemoSession) {
		if _, shown := e["secret"]; shown {
			t.Fatal("the secret is shown again in the list")
		}
	}
	// Webhook management takes a session, not an API key.
	s.expect(t, http.MethodGet, "/v1/webhooks", s.APIKey, nil, http.StatusForbidden)

	t.Run("VerificationCodeIsAnnouncedWithoutBody", func(t *testing.T) {
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 482910. Do not give this code to anyone, even if they say they are from Telegram!")
		h := rc.wait(t, "sms.received", str(t, v["id"]))
		if !webhook.Verify(secret, h.Body, h.Signature) || h.Delivery == "" || h.Timestamp == "" {
			t.Fatalf("delivery %+v does not verify", h)
		}
		var p struct {
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		json.Unmarshal(h.Body, &p)
		d := p.Data
		if p.Event != "sms.received" || d["verification_id"] != v["id"] || d["ref"] != v["ref"] || d["number"] != v["number"] ||
			d["sender"] != "Telegram" || d["code"] != "482910" || d["detected_service"] != "Telegram" || d["received_at"] == nil {
			t.Fatalf("payload %s", h.Body)
		}
		if strings.Contains(string(h.Body), "Do not give") || d["body"] != nil {
			t.Fatalf("verification event carries the message body: %s", h.Body)
		}
	})

	t.Run("RentalEventsCarryBodyAndExpiry", func(t *testing.T) {
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 1}, http.StatusCreated)
		s.sms(t, str(t, r["number"]), "WhatsApp", "Your WhatsApp code: 821-193")
		h := rc.wait(t, "sms.received", str(t, r["id"]))
		var p struct{ Data map[string]any }
		json.Unmarshal(h.Body, &p)
		if p.Data["rental_id"] != r["id"] || p.Data["body"] != "Your WhatsApp code: 821-193" || p.Data["code"] != "821-193" || p.Data["verification_id"] != nil {
			t.Fatalf("rental payload %s", h.Body)
		}
		s.advance(t, 24*3600+1)
		h = rc.wait(t, "rental.expired", str(t, r["id"]))
		json.Unmarshal(h.Body, &p)
		if p.Data["ref"] != r["ref"] || p.Data["number"] != r["number"] || !webhook.Verify(secret, h.Body, h.Signature) {
			t.Fatalf("rental.expired payload %s", h.Body)
		}
	})

	t.Run("TestEventAndDeliveryLog", func(t *testing.T) {
		m := s.call(t, http.MethodPost, "/v1/webhooks/"+epID+"/test", s.DemoSession, nil, http.StatusAccepted)
		rc.wait(t, "webhook.test", epID)
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, d := range s.list(t, "/v1/webhooks/"+epID+"/deliveries", s.DemoSession) {
				attempts, _ := d["attempts"].([]any)
				if d["id"] == m["delivery_id"] && d["status"] == "delivered" && len(attempts) == 1 {
					a := attempts[0].(map[string]any)
					if num(t, a["status_code"]) != 200 || a["at"] == nil {
						t.Fatalf("attempt %v", a)
					}
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the delivery log never showed the delivered test event")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("AnotherCustomersEndpointIsNotFound", func(t *testing.T) {
		other, _ := s.signup(t)
		s.expect(t, http.MethodGet, "/v1/webhooks/"+epID+"/deliveries", other, nil, http.StatusNotFound)
		s.expect(t, http.MethodDelete, "/v1/webhooks/"+epID, other, nil, http.StatusNotFound)
	})
	checkInvariants(t, s.DBPath)
}

// TestWebhookPrivateAddressesRefused: outside the sandbox, every private-address form
// is a 4xx at registration.
func TestWebhookPrivateAddressesRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	session, _ := s.signup(t)
	urls := []string{
		"http://127.0.0.1/hook",
		"http://10.1.2.3/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]/hook",
		"http://localhost:8080/hook",
		"http://192.168.0.1/hook",
	}
	// A host name that resolves to loopback on this machine (from /etc/hosts).
	if addrs, err := net.DefaultResolver.LookupHost(context.Background(), "vm"); err == nil && len(addrs) > 0 {
		urls = append(urls, "http://vm/hook")
	}
	for _, u := range urls {
		status, _, raw := s.do(t, http.MethodPost, "/v1/webhooks", session, map[string]any{"url": u})
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", u, status, raw)
		}
	}
	s.expect(t, http.MethodPost, "/v1/webhooks", session, map[string]any{"url": "http://example.com/x", "events": []string{"sms.sent"}}, http.StatusUnprocessableEntity)
	if got := s.list(t, "/v1/webhooks", session); len(got) != 0 {
		t.Fatalf("refused endpoints were stored: %v", got)
	}
}

// TestWebhookFairness: a customer whose endpoint accepts connections and never
// answers holds at most its share of the sending slots, so another customer's
// delivery goes out meanwhile; and test events are limited per account (issue
// 19, finding 2).
func TestWebhookFairness(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	hanging, most := 0, 0
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hanging++
		most = max(most, hanging)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		hanging--
		mu.Unlock()
	}))
	defer hang.Close()
	defer close(release)
	got := make(chan struct{}, 1)
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	defer fine.Close()

	s := startServer(t, "--sandbox", "--simulator=false")
	slow, _ := s.signup(t)
	ep := s.call(t, http.MethodPost, "/v1/webhooks", slow, map[string]any{"url": hang.URL}, http.StatusCreated)
	accepted, limited := 0, 0
	for range 15 {
		switch st, _, _, _ := s.send(http.MethodPost, "/v1/webhooks/"+str(t, ep["id"])+"/test", slow, nil); st {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			limited++
		}
	}
	if accepted != 10 || limited != 5 {
		t.Fatalf("15 test events at once: %d accepted, %d limited; want 10 and 5", accepted, limited)
	}
	// The other customer's delivery goes out while the first one's hang.
	other, _ := s.signup(t)
	ep2 := s.call(t, http.MethodPost, "/v1/webhooks", other, map[string]any{"url": fine.URL}, http.StatusCreated)
	s.call(t, http.MethodPost, "/v1/webhooks/"+str(t, ep2["id"])+"/test", other, nil, http.StatusAccepted)
	select {
	case <-got:
	case <-time.After(8 * time.Second): // the sender gives up on a hanging endpoint after 10 s
		t.Fatal("another customer's delivery waited behind a hanging endpoint")
	}
	mu.Lock()
	defer mu.Unlock()
	if most > 4 {
		t.Fatalf("one customer's hanging endpoint held %d sending slots at once, want at most 4", most)
	}
}
