package stripepay

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// stripeMock starts Stripe's own API mock (stripe-mock: `go install
// github.com/stripe/stripe-mock@v0.203.0`), which checks every request against
// Stripe's published API description and answers with Stripe's sample objects.
// The test is skipped when it is not installed, except in CI (.ci/run installs it).
func stripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		if b := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock"); strings.TrimSpace(string(gopath)) != "" {
			if _, serr := os.Stat(b); serr == nil {
				bin, err = b, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("stripe-mock is not installed (go install github.com/stripe/stripe-mock@v0.203.0)")
		}
		t.Skip("stripe-mock is not installed (go install github.com/stripe/stripe-mock@v0.203.0)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Listening for HTTP at") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("stripe-mock did not start")
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// TestAgainstStripeMock: the requests the provider makes — a Checkout Session, a
// refund, a dispute's lookup — are ones Stripe's API accepts as sent.
func TestAgainstStripeMock(t *testing.T) {
	url := stripeMock(t)
	p := New("sk_test_123", secret, url)
	ctx := context.Background()

	d := &fetchsms.Deposit{ID: "dep-mock", AmountCents: 2500, ReturnURL: "https://fetchsms.example/dashboard/wallet"}
	ref, checkout, completed, err := p.Begin(ctx, d)
	if err != nil || completed || !strings.HasPrefix(ref, "cs_") || !strings.HasPrefix(checkout, "https://") {
		t.Fatalf("Begin against stripe-mock: %q %q %v %v", ref, checkout, completed, err)
	}

	d.PaymentRef = "pi_123"
	if err := p.Refund(ctx, d); err != nil {
		t.Fatalf("Refund against stripe-mock: %v", err)
	}

	body, sig := stripetest.DisputeEvent(t, secret, "evt_mock", "charge.dispute.created", "dp_123", "pi_123", "needs_response", 2500, time.Now())
	ev, err := p.ParseEvent(ctx, body, http.Header{"Stripe-Signature": {sig}})
	if err != nil || ev.ProviderRef != "dp_123" || ev.Currency != "usd" || ev.Outcome == "" {
		t.Fatalf("a dispute event read against stripe-mock: %+v %v", ev, err)
	}
}
