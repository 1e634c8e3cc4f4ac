// Package stripetest is a local stand-in of the part of Stripe's API that the
// server uses (creating Checkout Sessions), and signs events as Stripe does, for
// tests: point serve --stripe-api-url at API.URL.
package stripetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// API is the stand-in. Fail makes it answer every request with an error.
type API struct {
	*httptest.Server
	mu    sync.Mutex
	forms []map[string]string
	fail  bool

	refunds  []map[string]string       // the form of each refund asked for
	disputes map[string]map[string]any // dispute id → the dispute as Stripe holds it
	hosted   *hosted                   // set by Hosted: sessions are paid on the stand-in (checkout.go)
}

// NewAPI starts a stand-in; it stops when the test ends.
func NewAPI(t testing.TB) *API {
	a := &API{}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

// SetFail makes the stand-in refuse (true) or serve (false) what follows.
func (a *API) SetFail(fail bool) { a.mu.Lock(); a.fail = fail; a.mu.Unlock() }

// Sessions returns the form of every Checkout Session asked for, oldest first.
func (a *API) Sessions() []map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]string(nil), a.forms...)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if a.serveRefundsAndDisputes(w, r) {
		return
	}
	if a.serveHosted(w, r) {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/checkout/sessions" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_") {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "unexpected request"}}`))
		return
	}
	r.ParseForm()
	form := map[string]string{}
	for k, v := range r.PostForm {
		form[k] = v[0]
	}
	a.mu.Lock()
	a.forms = append(a.forms, form)
	fail := a.fail
	a.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"error": {"type": "api_error", "message": "down"}}`))
		return
	}
	id := "cs_test_" + form["client_reference_id"]
	json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session", "url": a.checkoutURL(id),
		"client_reference_id": form["client_reference_id"], "currency": "usd", "payment_status": "unpaid",
		"amount_total": json.Number(form["line_items[0][price_data][unit_amount]"])})
}

// PaymentIntent is the id of the PaymentIntent of a deposit's Checkout Session.
func PaymentIntent(deposit string) string { return "pi_test_" + deposit }

// Event is a Stripe event about a Checkout Session, signed with secret at a time
// as Stripe signs (Stripe-Signature: t=…,v1=…); it returns the body and the header.
func Event(t testing.TB, secret, id, typ, deposit, paymentStatus string, amount int64, at time.Time) ([]byte, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": "2025-01-27.acacia", "created": at.Unix(),
		"data": map[string]any{"object": map[string]any{"id": "cs_test_" + deposit, "object": "checkout.session", "client_reference_id": deposit,
			"amount_total": amount, "currency": "usd", "payment_status": paymentStatus, "payment_intent": PaymentIntent(deposit)}}})
	if err != nil {
		t.Fatal(err)
	}
	return body, Sign(body, secret, at)
}

// Sign returns the Stripe-Signature of body with secret at a time.
func Sign(body []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}
