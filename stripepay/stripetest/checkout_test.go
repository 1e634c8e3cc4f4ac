package stripetest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/stripepay"
	"github.com/fetchsms/fetchsms/stripepay/stripetest"
)

// TestHostedCheckout: after Hosted, a Checkout Session's url is the stand-in's
// page; Pay sends a checkout.session.completed that the real provider accepts
// (signature, amount, deposit, PaymentIntent), once, and goes back to the
// success_url; Cancel goes back to the cancel_url; held events wait for
// ReleaseEvents.
func TestHostedCheckout(t *testing.T) {
	const whsec = "whsec_hosted"
	p := stripepay.New("sk_test_hosted", whsec, "")
	var mu sync.Mutex
	var events []*fetchsms.PaymentEvent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := p.ParseEvent(r.Context(), body, r.Header)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	received := func() []*fetchsms.PaymentEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]*fetchsms.PaymentEvent(nil), events...)
	}

	api := stripetest.NewAPI(t)
	api.Hosted(t, hook.URL, whsec)
	p = stripepay.New("sk_test_hosted", whsec, api.URL)
	begin := func(id string, cents fetchsms.Cents) string {
		t.Helper()
		_, checkout, _, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: id, AmountCents: cents, ReturnURL: "https://fetchsms.example/dashboard/wallet"})
		if err != nil {
			t.Fatal(err)
		}
		return checkout
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	press := func(page, button string) (int, string) {
		t.Helper()
		resp, err := browser.PostForm(page+"/"+button, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}

	page := begin("dep-1", 2500)
	if page != api.URL+"/pay/cs_test_dep-1" {
		t.Fatalf("checkout url %q, want the stand-in's page", page)
	}
	if st, html := get(page); st != http.StatusOK || !strings.Contains(html, "$25.00 USD") || !strings.Contains(html, `id="pay"`) || !strings.Contains(html, `id="cancel"`) {
		t.Fatalf("the page: %d %s", st, html)
	}
	if st, loc := press(page, "cancel"); st != http.StatusSeeOther || loc != "https://fetchsms.example/dashboard/wallet?deposit=dep-1&cancelled=1" {
		t.Fatalf("Cancel: %d → %s", st, loc)
	}
	if len(received()) != 0 {
		t.Fatal("Cancel sent an event")
	}
	for range 2 { // a second click pays nothing more
		if st, loc := press(page, "pay"); st != http.StatusSeeOther || loc != "https://fetchsms.example/dashboard/wallet?deposit=dep-1" {
			t.Fatalf("Pay: %d → %s", st, loc)
		}
	}
	evs := received()
	if len(evs) != 1 {
		t.Fatalf("%d events after paying, want 1", len(evs))
	}
	if ev := evs[0]; ev.Type != "checkout.session.completed" || ev.Outcome != fetchsms.PaymentPaid || ev.DepositID != "dep-1" || ev.AmountCents != 2500 ||
		ev.Currency != "usd" || ev.ProviderRef != "cs_test_dep-1" || ev.PaymentRef != stripetest.PaymentIntent("dep-1") {
		t.Fatalf("event: %+v", ev)
	}
	if _, html := get(page); !strings.Contains(html, "This checkout is complete") || strings.Contains(html, `id="pay"`) {
		t.Fatalf("the page of a paid session: %s", html)
	}

	api.HoldEvents()
	held := begin("dep-2", 1000)
	if st, _ := press(held, "pay"); st != http.StatusSeeOther || len(received()) != 1 {
		t.Fatalf("Pay while holding: %d, %d events", st, len(received()))
	}
	if err := api.ReleaseEvents(); err != nil {
		t.Fatal(err)
	}
	if evs := received(); len(evs) != 2 || evs[1].DepositID != "dep-2" || evs[1].AmountCents != 1000 {
		t.Fatalf("after the release: %+v", evs)
	}

	// A webhook that refuses the event: the page says so, and Pay can be pressed again.
	api.Hosted(t, hook.URL, "whsec_wrong")
	bad := begin("dep-3", 500)
	if st, _ := press(bad, "pay"); st != http.StatusBadGateway {
		t.Fatalf("Pay with a refused event: %d, want 502", st)
	}
	if st, html := get(bad); st != http.StatusOK || !strings.Contains(html, `id="pay"`) {
		t.Fatalf("after a refused event the page offers Pay again: %d %s", st, html)
	}
	if st, _ := get(api.URL + "/pay/cs_test_nope"); st != http.StatusNotFound {
		t.Fatalf("an unknown session: %d", st)
	}
}
