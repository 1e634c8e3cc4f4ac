package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// fakeDNS answers every lookup with the given addresses, as a rebinding or
// internal-name DNS server would.
func fakeDNS(addrs ...string) func(context.Context, string) ([]netip.Addr, error) {
	return func(context.Context, string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestCheckURLRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	strict := Guard{LookupIP: fakeDNS("93.184.215.14")}
	for _, u := range []string{
		"http://127.0.0.1/hook",
		"http://127.8.9.10:8080/hook",
		"http://10.0.0.1/hook",
		"http://172.16.5.4/hook",
		"http://192.168.1.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]/hook",
		"http://[fe80::1]/hook",
		"http://[fd00::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://0.0.0.0/hook",
		"http://100.64.1.1/hook",
		"http://[::127.0.0.1]/hook",                          // IPv4-compatible (::/96)
		"http://[::a00:1]/hook",                              // IPv4-compatible 10.0.0.1
		"http://[64:ff9b:1::a00:1]/hook",                     // local-use NAT64 (64:ff9b:1::/48)
		"http://[2002:7f00:1::1]/hook",                       // 6to4 of 127.0.0.1 (2002::/16)
		"http://[2002:c0a8:101::1]/hook",                     // 6to4 of 192.168.1.1
		"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", // Teredo (2001::/32)
		"http://[2001:db8::1]/hook",                          // documentation
		"http://localhost/hook",
		"http://LOCALHOST:9000/hook",
		"http://api.localhost/hook",
		"ftp://example.com/hook",
		"example.com/hook",
		"http://user:pass@example.com/hook",
		"http:///nohost",
	} {
		err := strict.CheckURL(context.Background(), u)
		if fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("%s: got %v, want a 422", u, err)
		}
	}
	for _, dns := range [][]string{{"10.1.2.3"}, {"127.0.0.1"}, {"169.254.169.254"}, {"::1"}, {"93.184.215.14", "192.168.0.10"}} {
		g := Guard{LookupIP: fakeDNS(dns...)}
		if err := g.CheckURL(context.Background(), "https://hooks.example.com/x"); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("name resolving to %v: got %v", dns, err)
		}
	}
	if err := strict.CheckURL(context.Background(), "https://hooks.example.com/x?y=1"); err != nil {
		t.Errorf("public host refused: %v", err)
	}
	if err := strict.CheckURL(context.Background(), "https://93.184.215.14/x"); err != nil {
		t.Errorf("public IP refused: %v", err)
	}
	sandbox := Guard{AllowLoopback: true}
	for _, u := range []string{"http://127.0.0.1:9999/hook", "http://localhost:9999/hook", "http://[::1]:9999/"} {
		if err := sandbox.CheckURL(context.Background(), u); err != nil {
			t.Errorf("sandbox refused %s: %v", u, err)
		}
	}
	if err := sandbox.CheckURL(context.Background(), "http://10.0.0.1/"); err == nil {
		t.Error("sandbox admitted a private address")
	}
}

// TestSendRefusesAtConnect proves the connect-time check: even a URL that passed
// registration cannot reach a loopback receiver (DNS rebinding).
func TestSendRefusesAtConnect(t *testing.T) {
	t.Parallel()
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	s := NewSender(Guard{}, 2*time.Second)
	a := s.Send(context.Background(), &fetchsms.Delivery{ID: "d", URL: srv.URL, Secret: "s", Payload: []byte(`{}`), EventType: "sms.received"})
	if a.OK() || !strings.Contains(a.Error, "refused") || hit {
		t.Fatalf("attempt %+v, receiver hit %v", a, hit)
	}
	if !errors.Is(Guard{}.Control("tcp4", "127.0.0.1:80", nil), errBlocked) {
		t.Fatal("Control admitted loopback")
	}
	if err := (Guard{}).Control("tcp4", "93.184.215.14:443", nil); err != nil {
		t.Fatalf("Control refused a public address: %v", err)
	}
}

func TestSendSignsAndCapsResponses(t *testing.T) {
	t.Parallel()
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body = make([]byte, r.ContentLength)
		r.Body.Read(body)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Write([]byte(strings.Repeat("x", 1<<20))) // a flood the sender must not read
	}))
	defer srv.Close()
	s := NewSender(Guard{AllowLoopback: true}, 2*time.Second)
	d := &fetchsms.Delivery{ID: "del-1", URL: srv.URL + "/hook", Secret: "whsec_test", Payload: []byte(`{"event": "sms.received"}`), EventType: "sms.received"}
	a := s.Send(context.Background(), d)
	if !a.OK() || a.StatusCode != 200 {
		t.Fatalf("attempt %+v", a)
	}
	if !Verify("whsec_test", body, got.Get(HeaderSignature)) || Verify("other", body, got.Get(HeaderSignature)) {
		t.Fatal("signature does not verify with the secret (or verifies with another)")
	}
	if got.Get(HeaderEvent) != "sms.received" || got.Get(HeaderDelivery) != "del-1" || got.Get(HeaderTimestamp) == "" {
		t.Fatalf("headers %v", got)
	}
	d.URL = srv.URL + "/redirect"
	if a := s.Send(context.Background(), d); a.OK() || a.StatusCode != http.StatusFound {
		t.Fatalf("redirect followed or accepted: %+v", a)
	}
}

// TestSignStandard: the Standard Webhooks signature of the specification's
// example (secret, message id, timestamp and body), which its reference
// library (npm standardwebhooks 1.3.0) also prints: v1,g0hM9Ss…
func TestSignStandard(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	got := SignStandard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("SignStandard = %s, want %s", got, want)
	}
	// A secret not of the standard form is keyed by its bytes, whole.
	if string(StandardKey("whsec_not*base64")) != "whsec_not*base64" || string(StandardKey("plain")) != "plain" {
		t.Fatal("a secret of another form must be its own key")
	}
}
