package stripetest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Refunds returns the form of every refund asked for, oldest first.
func (a *API) Refunds() []map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]string(nil), a.refunds...)
}

// SetDispute makes Stripe hold a dispute of a PaymentIntent's charge, in a status
// (needs_response, under_review, won, lost, warning_closed…).
func (a *API) SetDispute(id, paymentIntent, status string, amount int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.disputes == nil {
		a.disputes = map[string]map[string]any{}
	}
	a.disputes[id] = dispute(id, paymentIntent, status, amount)
}

func dispute(id, paymentIntent, status string, amount int64) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "amount": amount, "currency": "usd", "status": status,
		"payment_intent": paymentIntent, "charge": "ch_" + strings.TrimPrefix(paymentIntent, "pi_")}
}

// serveRefundsAndDisputes answers POST /v1/refunds and GET /v1/disputes/{id};
// false for any other request.
func (a *API) serveRefundsAndDisputes(w http.ResponseWriter, r *http.Request) bool {
	refund := r.Method == http.MethodPost && r.URL.Path == "/v1/refunds"
	id, isDispute := strings.CutPrefix(r.URL.Path, "/v1/disputes/")
	isDispute = isDispute && r.Method == http.MethodGet
	if !refund && !isDispute {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fail := func(status int, typ, msg string) bool {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "message": msg}})
		return true
	}
	switch {
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_"):
		return fail(http.StatusUnauthorized, "invalid_request_error", "no key")
	case a.fail:
		return fail(http.StatusBadGateway, "api_error", "down")
	case isDispute:
		d, ok := a.disputes[id]
		if !ok {
			return fail(http.StatusNotFound, "invalid_request_error", "no such dispute")
		}
		json.NewEncoder(w).Encode(d)
		return true
	}
	r.ParseForm()
	form := map[string]string{}
	for k, v := range r.PostForm {
		form[k] = v[0]
	}
	if form["payment_intent"] == "" {
		return fail(http.StatusBadRequest, "invalid_request_error", "payment_intent is required")
	}
	a.refunds = append(a.refunds, form)
	json.NewEncoder(w).Encode(map[string]any{"id": "re_test_" + form["payment_intent"], "object": "refund", "status": "succeeded",
		"amount": json.Number(form["amount"]), "currency": "usd", "payment_intent": form["payment_intent"]})
	return true
}

// ChargeRefunded is a signed charge.refunded event: the charge of a
// PaymentIntent, of which refunded cents are refunded so far.
func ChargeRefunded(t testing.TB, secret, id, paymentIntent string, amount, refunded int64, at time.Time) ([]byte, string) {
	t.Helper()
	return signedEvent(t, secret, id, "charge.refunded", at, map[string]any{"id": "ch_" + strings.TrimPrefix(paymentIntent, "pi_"), "object": "charge",
		"amount": amount, "amount_refunded": refunded, "refunded": refunded == amount, "currency": "usd", "payment_intent": paymentIntent})
}

// DisputeEvent is a signed charge.dispute.* event (typ: charge.dispute.created,
// charge.dispute.closed, …) carrying the dispute as it stood when sent.
func DisputeEvent(t testing.TB, secret, id, typ, disputeID, paymentIntent, status string, amount int64, at time.Time) ([]byte, string) {
	t.Helper()
	return signedEvent(t, secret, id, typ, at, dispute(disputeID, paymentIntent, status, amount))
}

func signedEvent(t testing.TB, secret, id, typ string, at time.Time, object map[string]any) ([]byte, string) {
	body, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": "2025-01-27.acacia", "created": at.Unix(),
		"data": map[string]any{"object": object}})
	if err != nil {
		t.Fatal(err)
	}
	return body, Sign(body, secret, at)
}
