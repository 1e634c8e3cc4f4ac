// Package btcpay takes deposits in cryptocurrency through a BTCPay Server, with
// its Greenfield API over plain net/http: a deposit is an invoice of the store in
// US dollars whose metadata.orderId is the deposit's id; the customer pays on the
// invoice's hosted checkout page, and the store's webhook (signed with
// HMAC-SHA256 of the raw body, header BTCPay-Sig) tells us when it changed. The
// notification is only a hint: what it means is read back from the invoice.
package btcpay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Provider is the BTCPay Server payment provider.
type Provider struct {
	base          string // the server's URL, without a trailing slash
	apiKey        string
	storeID       string
	webhookSecret string
	client        *http.Client
	refunding     sync.Mutex // one refund at a time: see Refund
	// Logger notes each refund's pull payment; slog.Default() when nil.
	Logger *slog.Logger
}

// New returns a provider for the store storeID of the BTCPay Server at baseURL
// (https://btcpay.example.com), with an API key of that store and the secret of
// the store's webhook that points at POST /v1/payments/btcpay/webhook.
func New(baseURL, apiKey, storeID, webhookSecret string) *Provider {
	return &Provider{base: strings.TrimRight(baseURL, "/"), apiKey: apiKey, storeID: storeID, webhookSecret: webhookSecret,
		client: &http.Client{Timeout: 20 * time.Second, CheckRedirect: refuseRedirect}}
}

// refuseRedirect stops at a redirect, which would turn a POST into a GET (an
// http:// URL sent to https://, say): the operator should configure the URL
// it leads to.
func refuseRedirect(r *http.Request, _ []*http.Request) error {
	return fmt.Errorf("BTCPay Server redirected to %s://%s%s: configure that URL", r.URL.Scheme, r.URL.Host, r.URL.Path)
}

// Name is how deposits name this provider.
func (*Provider) Name() string { return "btcpay" }

const (
	beginFailed  = "the payment provider could not start this deposit; nothing was charged, try again"
	askFailed    = "the payment provider could not be asked about this notification; it will be sent again"
	refundFailed = "the payment provider could not refund this deposit; nothing was refunded, try again or refund it in BTCPay Server"
)

// invoice is the part of a Greenfield invoice (InvoiceData) that we read.
type invoice struct {
	ID           string         `json:"id"`
	StoreID      string         `json:"storeId"`
	Amount       string         `json:"amount"`
	Currency     string         `json:"currency"`
	Status       string         `json:"status"`
	CheckoutLink string         `json:"checkoutLink"`
	Metadata     map[string]any `json:"metadata"`
}

// orderID is the invoice's metadata.orderId: our deposit's id ("" when none).
func orderID(metadata map[string]any) string {
	s, _ := metadata["orderId"].(string)
	return s
}

// Begin creates the invoice of a deposit and returns its id and checkout link;
// the money arrives later, with the store's notifications. The customer comes
// back to d.ReturnURL. A BTCPay Server that refuses or cannot be reached is
// EUPSTREAM, and nothing was charged.
func (p *Provider) Begin(ctx context.Context, d *fetchsms.Deposit) (string, string, bool, error) {
	fail := func(err error) (string, string, bool, error) {
		return "", "", false, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: beginFailed, Op: "btcpay.Begin", Err: err}
	}
	if d.AmountCents <= 0 {
		return fail(fmt.Errorf("amount %d cents", d.AmountCents))
	}
	back := d.ReturnURL
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	req := map[string]any{
		"amount":   formatAmount(d.AmountCents),
		"currency": "USD",
		"metadata": map[string]any{"orderId": d.ID, "itemDesc": "Fetch SMS wallet top-up"},
		"checkout": map[string]any{
			"redirectURL":           back + sep + "deposit=" + d.ID,
			"redirectAutomatically": true,
			// Settled means paid in full, whatever tolerance the store allows
			// its other invoices: only the amount asked for is credited.
			"paymentTolerance": 0,
		},
	}
	var inv invoice
	if err := p.call(ctx, http.MethodPost, p.storePath("invoices"), req, &inv); err != nil {
		return fail(err)
	}
	if inv.ID == "" || inv.CheckoutLink == "" {
		return fail(errors.New("invoice without id or checkoutLink"))
	}
	return inv.ID, inv.CheckoutLink, false, nil
}

// notification is the part of a Greenfield webhook event that we read.
type notification struct {
	DeliveryID         string `json:"deliveryId"`
	WebhookID          string `json:"webhookId"`
	OriginalDeliveryID string `json:"originalDeliveryId"`
	// Older versions of BTCPay Server misspelt originalDeliveryId this way.
	OldOriginalDeliveryID string `json:"orignalDeliveryId"`
	IsRedelivery          bool   `json:"isRedelivery"`
	Type                  string `json:"type"`
	StoreID               string `json:"storeId"`
	InvoiceID             string `json:"invoiceId"`
	// Metadata is the invoice's, in invoice notifications; it is read only for
	// the deposit's id, and leniently: other notifications may carry another shape.
	Metadata json.RawMessage `json:"metadata"`
}

// id identifies the notification across its redeliveries: BTCPay gives every
// delivery a new deliveryId, and a redelivery the first one's as originalDeliveryId.
func (n *notification) id() string {
	for _, id := range []string{n.OriginalDeliveryID, n.OldOriginalDeliveryID, n.DeliveryID} {
		if id != "" {
			return id
		}
	}
	return ""
}

// ParseEvent checks a notification's BTCPay-Sig (sha256= and the hex
// HMAC-SHA256 of the raw body with the webhook's secret) and returns what it
// means for a deposit. InvoiceSettled, InvoiceExpired and InvoiceInvalid are
// only hints: the invoice is read from BTCPay Server, and its status, amount,
// currency and metadata.orderId decide (Settled pays; Expired and Invalid fail
// the deposit). Any other notification, and one of another store, is kept and
// changes nothing. An invoice that cannot be read is EUPSTREAM, so that BTCPay
// sends the notification again.
func (p *Provider) ParseEvent(ctx context.Context, payload []byte, h http.Header) (*fetchsms.PaymentEvent, error) {
	if err := checkSignature(p.webhookSecret, payload, h.Get("BTCPay-Sig")); err != nil {
		return nil, err
	}
	var n notification
	if err := json.Unmarshal(payload, &n); err != nil {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "the notification is not a BTCPay Server webhook event: %v", err)
	}
	if n.id() == "" || n.Type == "" {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "the notification has no deliveryId or no type")
	}
	var metadata map[string]any
	json.Unmarshal(n.Metadata, &metadata) // anything but an object: no deposit named
	out := &fetchsms.PaymentEvent{Provider: "btcpay", ID: n.id(), Type: n.Type, Payload: payload,
		DepositID: orderID(metadata), ProviderRef: n.InvoiceID}
	if n.StoreID != p.storeID {
		out.DepositID, out.ProviderRef = "", ""
		return out, nil // another store's: not ours to act on
	}
	switch n.Type {
	case "InvoiceSettled", "InvoiceExpired", "InvoiceInvalid":
	default: // InvoiceCreated, InvoiceReceivedPayment, InvoiceProcessing, …
		return out, nil
	}
	if n.InvoiceID == "" {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "the %s notification names no invoice", n.Type)
	}
	var inv invoice
	err := p.call(ctx, http.MethodGet, p.storePath("invoices", n.InvoiceID), nil, &inv)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		// Not an invoice of this store (any longer): kept, and it changes nothing.
		out.DepositID = ""
		return out, nil
	} else if err != nil {
		return nil, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: askFailed, Op: "btcpay.ParseEvent", Err: err}
	}
	if inv.ID != n.InvoiceID {
		return nil, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: askFailed, Op: "btcpay.ParseEvent",
			Err: fmt.Errorf("asked for invoice %q, got %q", n.InvoiceID, inv.ID)}
	}
	amount, err := parseAmount(inv.Amount)
	if err != nil {
		return nil, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: askFailed, Op: "btcpay.ParseEvent", Err: fmt.Errorf("invoice %s: %w", inv.ID, err)}
	}
	out.DepositID, out.ProviderRef, out.AmountCents, out.Currency = orderID(inv.Metadata), inv.ID, amount, strings.ToLower(inv.Currency)
	switch inv.Status {
	case "Settled":
		out.Outcome = fetchsms.PaymentPaid
	case "Expired", "Invalid":
		out.Outcome = fetchsms.PaymentFailed
	default:
		// New or Processing after a notification that it settled, expired or
		// became invalid: BTCPay has not caught up with itself; ask again when it
		// sends the notification again.
		return nil, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: askFailed, Op: "btcpay.ParseEvent",
			Err: fmt.Errorf("%s notification, but invoice %s is %q", n.Type, inv.ID, inv.Status)}
	}
	return out, nil
}

// checkSignature checks header, "sha256=" and the lower-case hex HMAC-SHA256 of
// payload with secret, in constant time.
func checkSignature(secret string, payload []byte, header string) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("btcpay: %w: BTCPay-Sig is missing or not sha256=…", fetchsms.ErrPaymentSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("btcpay: %w: BTCPay-Sig is not hex", fetchsms.ErrPaymentSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("btcpay: %w: BTCPay-Sig does not match the body", fetchsms.ErrPaymentSignature)
	}
	return nil
}

// pullPayment is the part of a Greenfield pull payment that Refund reads.
type pullPayment struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Refund gives a settled deposit's money back: BTCPay Server makes a refund
// pull payment of the invoice, and the customer claims it at its link with an
// address of theirs (staff send them the link from the invoice's page in
// BTCPay Server). The variant is CurrentRate: the dollars the invoice was paid
// in, converted to the coin it was paid with at today's rate and fixed now, so
// the customer gets back what the wallet loses, and with an API key allowed to
// create pull payments the claim needs no approval (Fiat would fix the dollars
// and convert only when the payout is sent, leaving the rate to move meanwhile,
// and every claim waits for staff to approve it).
//
// BTCPay takes no idempotency key, and refunds an invoice as often as it is
// asked: the pull payment is named after the deposit, and a refund whose pull
// payment the store already has is not made again (a retry after an answer
// that was lost, or the wallet's update that failed). Refunds are serialised in
// this process, so that two at once cannot both miss the other's.
func (p *Provider) Refund(ctx context.Context, d *fetchsms.Deposit) error {
	fail := func(err error) error {
		return &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: refundFailed, Op: "btcpay.Refund", Err: err}
	}
	if d.ProviderRef == "" {
		return fail(errors.New("the deposit has no invoice"))
	}
	p.refunding.Lock()
	defer p.refunding.Unlock()
	name := "Fetch SMS refund of deposit " + d.ID
	var made []pullPayment
	if err := p.call(ctx, http.MethodGet, p.storePath("pull-payments")+"?includeArchived=true", nil, &made); err != nil {
		return fail(err)
	}
	for _, pp := range made {
		if pp.Name == name {
			p.logger().Info("btcpay refund made before", "deposit", d.ID, "invoice", d.ProviderRef, "pull_payment", pp.ID)
			return nil
		}
	}
	req := map[string]any{
		"refundVariant": "CurrentRate",
		"name":          name,
		"description":   "Refund of a " + fetchsms.Dollars(d.AmountCents) + " Fetch SMS wallet top-up",
	}
	var pp pullPayment
	if err := p.call(ctx, http.MethodPost, p.storePath("invoices", d.ProviderRef, "refund"), req, &pp); err != nil {
		return fail(err)
	}
	if pp.ID == "" {
		return fail(errors.New("refund answered without a pull payment id"))
	}
	// The pull payment's link lets whoever holds it claim the money: it is not logged.
	p.logger().Info("btcpay refund", "deposit", d.ID, "invoice", d.ProviderRef, "pull_payment", pp.ID, "amount", pp.Amount, "currency", pp.Currency)
	return nil
}

func (p *Provider) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// storePath is the path of a resource of the store: /api/v1/stores/{id}/parts….
func (p *Provider) storePath(parts ...string) string {
	s := "/api/v1/stores/" + url.PathEscape(p.storeID)
	for _, part := range parts {
		s += "/" + url.PathEscape(part)
	}
	return s
}

// apiError is an answer of BTCPay Server other than 2xx.
type apiError struct {
	status int
	body   string // the start of its body (Greenfield's {"code", "message"}), for the logs
}

func (e *apiError) Error() string { return fmt.Sprintf("answered %d: %s", e.status, e.body) }

// maxAnswer bounds what is read of one answer of BTCPay Server (the store's
// pull payments are a list).
const maxAnswer = 16 << 20

// call sends a Greenfield request (in as JSON, when not nil) with the API key
// and decodes a 2xx answer into out. The key is never part of an error.
func (p *Provider) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "token "+p.apiKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if len(raw) > 300 {
			raw = append(raw[:300], "…"...)
		}
		text := strings.ToValidUTF8(string(raw), "")
		return fmt.Errorf("%s %s: %w", method, path, &apiError{status: resp.StatusCode, body: text})
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what Greenfield sends: %w", method, path, err)
	}
	return nil
}
