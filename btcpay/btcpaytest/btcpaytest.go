// Package btcpaytest is a local stand-in of the part of BTCPay Server's
// Greenfield API that the server uses (creating and reading a store's invoices,
// refunding them, listing the refunds' pull payments), with the invoice's hosted checkout page, and it sends
// notifications signed as BTCPay Server signs them, for tests: point serve
// --btcpay-url at Server.URL.
package btcpaytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Invoice is an invoice of the stand-in, as created through the API.
type Invoice struct {
	ID                    string
	StoreID               string
	Amount                string // a decimal string, as sent ("25.00")
	Currency              string
	Status                string // New, Settled, Expired or Invalid
	CheckoutLink          string
	RedirectURL           string
	RedirectAutomatically bool
	Metadata              map[string]any
	// Checkout is the whole "checkout" object of the request.
	Checkout map[string]any
}

// Refund is a refund asked for: the invoice and the request's body.
type Refund struct {
	InvoiceID     string
	Request       map[string]any
	PullPaymentID string
}

// Server is the stand-in. Its API answers only to "Authorization: token
// APIKey" and only for the store StoreID.
type Server struct {
	*httptest.Server
	APIKey  string
	StoreID string

	t             testing.TB
	mu            sync.Mutex
	invoices      map[string]*Invoice
	order         []string
	refunds       []Refund
	fail          bool
	webhookURL    string
	webhookSecret string
}

// New starts a stand-in with the API key and store id it accepts; it stops when
// the test ends.
func New(t testing.TB, apiKey, storeID string) *Server {
	s := &Server{APIKey: apiKey, StoreID: storeID, t: t, invoices: map[string]*Invoice{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/stores/{storeId}/invoices", s.api(s.createInvoice))
	mux.HandleFunc("GET /api/v1/stores/{storeId}/invoices/{invoiceId}", s.api(s.getInvoice))
	mux.HandleFunc("POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund", s.api(s.refund))
	mux.HandleFunc("GET /api/v1/stores/{storeId}/pull-payments", s.api(s.pullPayments))
	mux.HandleFunc("GET /i/{invoiceId}", s.checkoutPage)
	mux.HandleFunc("POST /i/{invoiceId}/pay", s.pay)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// SetFail makes the stand-in answer 503 to everything (true), or serve (false).
func (s *Server) SetFail(fail bool) { s.mu.Lock(); s.fail = fail; s.mu.Unlock() }

// SetWebhook is the store's webhook: where the checkout page's Pay button sends
// the signed InvoiceSettled notification, and its secret.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	s.webhookURL, s.webhookSecret = url, secret
	s.mu.Unlock()
}

// Settle marks an invoice paid (status Settled).
func (s *Server) Settle(invoiceID string) {
	s.set(invoiceID, func(i *Invoice) { i.Status = "Settled" })
}

// Expire marks an invoice expired (status Expired).
func (s *Server) Expire(invoiceID string) {
	s.set(invoiceID, func(i *Invoice) { i.Status = "Expired" })
}

// Invalidate marks an invoice invalid (status Invalid).
func (s *Server) Invalidate(invoiceID string) {
	s.set(invoiceID, func(i *Invoice) { i.Status = "Invalid" })
}

// SetAmount changes an invoice's amount ("24.00"), to fake an invoice that does
// not match its deposit.
func (s *Server) SetAmount(invoiceID, amount string) {
	s.set(invoiceID, func(i *Invoice) { i.Amount = amount })
}

// set changes an invoice; an unknown one fails the test (call it from the
// test's goroutine).
func (s *Server) set(invoiceID string, change func(*Invoice)) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceID]
	if !ok {
		s.t.Fatalf("btcpaytest: no invoice %q", invoiceID)
	}
	change(inv)
}

// Invoices returns a copy of every invoice, oldest first.
func (s *Server) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Invoice, 0, len(s.order))
	for _, id := range s.order {
		inv := *s.invoices[id]
		inv.Metadata, inv.Checkout = maps.Clone(inv.Metadata), maps.Clone(inv.Checkout)
		out = append(out, inv)
	}
	return out
}

// Refunds returns every refund asked for, oldest first.
func (s *Server) Refunds() []Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refund(nil), s.refunds...)
}

// api wraps a Greenfield handler: the fail switch, the API key and the store.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fail := s.fail
		s.mu.Unlock()
		switch {
		case fail:
			apiError(w, http.StatusServiceUnavailable, "unavailable", "the stand-in is set to fail")
		case r.Header.Get("Authorization") != "token "+s.APIKey:
			apiError(w, http.StatusUnauthorized, "unauthenticated", "Authentication is required for accessing this endpoint")
		case r.PathValue("storeId") != s.StoreID:
			apiError(w, http.StatusForbidden, "unauthorized", "The API key is not allowed to access this store")
		default:
			h(w, r)
		}
	}
}

func apiError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func (s *Server) createInvoice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount   *string        `json:"amount"`
		Currency string         `json:"currency"`
		Metadata map[string]any `json:"metadata"`
		Checkout map[string]any `json:"checkout"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid-json", err.Error())
		return
	}
	if req.Amount == nil || !decimal.MatchString(*req.Amount) || req.Currency == "" {
		writeJSON(w, http.StatusUnprocessableEntity, []map[string]string{{"path": "amount", "message": "want a decimal string amount and a currency"}})
		return
	}
	inv := &Invoice{ID: randomID(), StoreID: s.StoreID, Amount: *req.Amount, Currency: req.Currency, Status: "New",
		Metadata: req.Metadata, Checkout: req.Checkout}
	inv.CheckoutLink = s.URL + "/i/" + inv.ID
	inv.RedirectURL, _ = req.Checkout["redirectURL"].(string)
	inv.RedirectAutomatically, _ = req.Checkout["redirectAutomatically"].(bool)
	s.mu.Lock()
	s.invoices[inv.ID] = inv
	s.order = append(s.order, inv.ID)
	out := invoiceJSON(inv)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// invoiceJSON is an invoice as Greenfield shows it (InvoiceData); s.mu is held.
func invoiceJSON(inv *Invoice) map[string]any {
	return map[string]any{"id": inv.ID, "storeId": inv.StoreID, "amount": inv.Amount, "currency": inv.Currency, "type": "Standard",
		"checkoutLink": inv.CheckoutLink, "status": inv.Status, "additionalStatus": "None", "metadata": maps.Clone(inv.Metadata),
		"checkout": maps.Clone(inv.Checkout), "createdTime": time.Now().Unix(), "expirationTime": time.Now().Add(15 * time.Minute).Unix(),
		"archived": false}
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv, ok := s.invoices[r.PathValue("invoiceId")]
	var out map[string]any
	if ok {
		out = invoiceJSON(inv)
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "invoice-not-found", "The invoice was not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var refundVariants = map[string]bool{"RateThen": true, "CurrentRate": true, "OverpaidAmount": true, "Fiat": true, "Custom": true}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid-json", err.Error())
		return
	}
	if v, _ := req["refundVariant"].(string); !refundVariants[v] {
		writeJSON(w, http.StatusUnprocessableEntity, []map[string]string{{"path": "refundVariant", "message": "Please select a valid refund option"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[r.PathValue("invoiceId")]
	if !ok {
		apiError(w, http.StatusNotFound, "invoice-not-found", "The invoice was not found")
		return
	}
	if inv.Status != "Settled" {
		apiError(w, http.StatusBadRequest, "non-refundable", "Cannot refund this invoice")
		return
	}
	r2 := Refund{InvoiceID: inv.ID, Request: req, PullPaymentID: randomID()}
	s.refunds = append(s.refunds, r2)
	writeJSON(w, http.StatusOK, s.pullPaymentJSON(r2))
}

// pullPaymentJSON is a refund's pull payment as Greenfield shows it (PullPaymentData).
func (s *Server) pullPaymentJSON(r Refund) map[string]any {
	name, _ := r.Request["name"].(string)
	if name == "" {
		name = "Refund " + r.InvoiceID
	}
	description, _ := r.Request["description"].(string)
	return map[string]any{"id": r.PullPaymentID, "name": name, "description": description, "currency": "BTC", "amount": "0.00041000",
		"archived": false, "autoApproveClaims": true, "viewLink": s.URL + "/pull-payments/" + r.PullPaymentID}
}

// pullPayments lists the store's pull payments: its refunds', newest first.
func (s *Server) pullPayments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]map[string]any, 0, len(s.refunds))
	for i := len(s.refunds) - 1; i >= 0; i-- {
		out = append(out, s.pullPaymentJSON(s.refunds[i]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

var checkoutTemplate = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {{.ID}}</title></head>
<body>
<h1>Pay {{.Amount}} {{.Currency}}</h1>
<p>Invoice {{.ID}}: {{.Status}}</p>
{{if eq .Status "New"}}<form method="post" action="/i/{{.ID}}/pay"><button type="submit">Pay</button></form>{{end}}
</body></html>
`))

// checkoutPage is the invoice's hosted checkout: its amount and a Pay button.
func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fail := s.fail
	inv, ok := s.invoices[r.PathValue("invoiceId")]
	var view Invoice
	if ok {
		view = *inv
	}
	s.mu.Unlock()
	switch {
	case fail:
		http.Error(w, "the stand-in is set to fail", http.StatusServiceUnavailable)
	case !ok:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		checkoutTemplate.Execute(w, view)
	}
}

// pay is the Pay button: the invoice settles, the store's webhook gets the
// signed InvoiceSettled notification, and the customer goes back to the
// invoice's redirectURL (303). A webhook that does not answer 200 is a 502 page.
func (s *Server) pay(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fail := s.fail
	inv, ok := s.invoices[r.PathValue("invoiceId")]
	var back, url, secret, was string
	if ok {
		was = inv.Status
		if !fail && was == "New" && s.webhookURL != "" {
			inv.Status = "Settled"
		}
		back, url, secret = inv.RedirectURL, s.webhookURL, s.webhookSecret
	}
	s.mu.Unlock()
	switch {
	case fail:
		http.Error(w, "the stand-in is set to fail", http.StatusServiceUnavailable)
		return
	case !ok:
		http.NotFound(w, r)
		return
	case url == "":
		http.Error(w, "the stand-in has no webhook: call SetWebhook", http.StatusInternalServerError)
		return
	case was != "New":
		http.Error(w, "this invoice is "+was+": it cannot be paid", http.StatusConflict)
		return
	}
	n, err := s.event("InvoiceSettled", r.PathValue("invoiceId"))
	if err == nil {
		var status int
		if status, _, err = n.Send(url, secret); err == nil && status != http.StatusOK {
			err = fmt.Errorf("the webhook answered %d", status)
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if back == "" {
		back = "/i/" + r.PathValue("invoiceId")
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// Notification is one webhook delivery about an invoice.
type Notification struct {
	DeliveryID         string
	OriginalDeliveryID string
	Body               []byte
	fields             map[string]any
}

// Event is a notification of type typ (InvoiceSettled, InvoiceExpired,
// InvoiceInvalid, InvoiceCreated, …) about an invoice of the stand-in, with
// the invoice's metadata, as BTCPay Server's first delivery of it: a new
// deliveryId, which is also its originalDeliveryId.
func (s *Server) Event(typ, invoiceID string) *Notification {
	s.t.Helper()
	n, err := s.event(typ, invoiceID)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *Server) event(typ, invoiceID string) (*Notification, error) {
	s.mu.Lock()
	inv, ok := s.invoices[invoiceID]
	var metadata map[string]any
	if ok {
		metadata = maps.Clone(inv.Metadata)
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("btcpaytest: no invoice %q", invoiceID)
	}
	id := randomID()
	fields := map[string]any{"deliveryId": id, "webhookId": "wh_" + s.StoreID, "originalDeliveryId": id, "isRedelivery": false,
		"type": typ, "timestamp": time.Now().Unix(), "storeId": s.StoreID, "invoiceId": invoiceID, "metadata": metadata}
	switch typ {
	case "InvoiceSettled":
		fields["manuallyMarked"], fields["overPaid"] = false, false
	case "InvoiceExpired":
		fields["partiallyPaid"] = false
	case "InvoiceInvalid":
		fields["manuallyMarked"] = false
	}
	return newNotification(fields)
}

func newNotification(fields map[string]any) (*Notification, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return &Notification{DeliveryID: fields["deliveryId"].(string), OriginalDeliveryID: fields["originalDeliveryId"].(string), Body: body, fields: fields}, nil
}

// Redelivery is the same notification delivered again, as BTCPay Server
// redelivers: a new deliveryId, the same originalDeliveryId, isRedelivery true.
func (n *Notification) Redelivery() *Notification {
	fields := maps.Clone(n.fields)
	fields["deliveryId"], fields["isRedelivery"] = randomID(), true
	again, err := newNotification(fields)
	if err != nil {
		panic(err) // the fields marshalled once already
	}
	return again
}

// Send posts the notification to a webhook URL signed with secret, and returns
// the answer's status and body. It may be called from any goroutine.
func (n *Notification) Send(webhookURL, secret string) (int, []byte, error) {
	return Post(webhookURL, n.Body, Sign(n.Body, secret))
}

// Notify sends a new notification of type typ about an invoice to a webhook URL,
// signed with secret, requires a 200 and returns its delivery id.
func (s *Server) Notify(t testing.TB, webhookURL, secret, typ, invoiceID string) (deliveryID string) {
	t.Helper()
	n := s.Event(typ, invoiceID)
	status, body, err := n.Send(webhookURL, secret)
	if err != nil || status != http.StatusOK {
		t.Fatalf("btcpaytest: %s of %s: %d %s %v", typ, invoiceID, status, body, err)
	}
	return n.DeliveryID
}

// Sign is the BTCPay-Sig header of body with secret: "sha256=" and the lower-case
// hex HMAC-SHA256 of the body's bytes.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

var client = &http.Client{Timeout: 15 * time.Second}

// Post posts body to a webhook URL as BTCPay Server does, with sig as BTCPay-Sig
// (none when ""), and returns the answer's status and body.
func Post(webhookURL string, body []byte, sig string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("BTCPay-Sig", sig)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// randomID is an id such as BTCPay Server's: 22 random base-58-looking characters.
func randomID() string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	b := make([]byte, 22)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
