// Package stripepay takes deposits through Stripe Checkout, with the official
// stripe-go library: a deposit is a Checkout Session whose client_reference_id is
// the deposit's id, and Stripe's signed events tell the domain when it is paid.
package stripepay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// Provider is the Stripe payment provider.
type Provider struct {
	client        *stripe.Client
	webhookSecret string
}

// New returns a provider with a secret key (sk_…) and the signing secret of the
// webhook endpoint (whsec_…). apiURL, when set, replaces https://api.stripe.com
// (a local stand-in in tests, or stripe-mock).
func New(secretKey, webhookSecret, apiURL string) *Provider {
	// The library's own log is off: its failures reach the caller as errors,
	// and the server logs those (without the key).
	cfg := &stripe.BackendConfig{HTTPClient: &http.Client{Timeout: 20 * time.Second}, MaxNetworkRetries: stripe.Int64(1),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if apiURL != "" {
		u := strings.TrimRight(apiURL, "/")
		cfg.URL = &u
	}
	return &Provider{client: stripe.NewClient(secretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg))), webhookSecret: webhookSecret}
}

// Name is how deposits name this provider.
func (*Provider) Name() string { return "stripe" }

// Begin creates the Checkout Session of a deposit and returns its id and URL; the
// money arrives later, with Stripe's events. The customer comes back to
// d.ReturnURL. A Stripe that refuses or cannot be reached is EUPSTREAM.
func (p *Provider) Begin(ctx context.Context, d *fetchsms.Deposit) (string, string, bool, error) {
	back := d.ReturnURL
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(d.ID),
		SuccessURL:        stripe.String(back + sep + "deposit=" + d.ID),
		CancelURL:         stripe.String(back + sep + "deposit=" + d.ID + "&cancelled=1"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String("usd"),
				UnitAmount:  stripe.Int64(int64(d.AmountCents)),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("Fetch SMS wallet top-up")},
			},
		}},
	}
	params.AddMetadata("deposit_id", d.ID)
	params.SetIdempotencyKey("deposit-" + d.ID)
	s, err := p.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", "", false, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: "the payment provider could not start this deposit; nothing was charged, try again", Op: "stripe.Begin", Err: err}
	}
	if s.ID == "" || s.URL == "" {
		return "", "", false, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: "the payment provider could not start this deposit; nothing was charged, try again", Op: "stripe.Begin", Err: errors.New("checkout session without id or url")}
	}
	return s.ID, s.URL, false, nil
}

// ParseEvent checks an event's Stripe-Signature (HMAC-SHA256 of the timestamp and
// the raw body with the endpoint's secret, within Stripe's five-minute
// tolerance) and returns what it means for a deposit. Checkout Session events
// carry the deposit; any other event is kept and changes nothing.
func (p *Provider) ParseEvent(_ context.Context, payload []byte, h http.Header) (*fetchsms.PaymentEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, h.Get("Stripe-Signature"), p.webhookSecret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return nil, fmt.Errorf("stripe: %w: %w", fetchsms.ErrPaymentSignature, err)
	}
	out := &fetchsms.PaymentEvent{Provider: "stripe", ID: ev.ID, Type: string(ev.Type), Payload: payload}
	if !strings.HasPrefix(out.Type, "checkout.session.") || ev.Data == nil {
		return out, nil
	}
	var s stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
		return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
	}
	out.DepositID, out.ProviderRef, out.AmountCents, out.Currency = s.ClientReferenceID, s.ID, fetchsms.Cents(s.AmountTotal), strings.ToLower(string(s.Currency))
	switch ev.Type {
	case "checkout.session.completed":
		// An asynchronous method (a bank debit) completes the session unpaid and
		// pays later: async_payment_succeeded.
		if s.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid {
			out.Outcome = fetchsms.PaymentPaid
		}
	case "checkout.session.async_payment_succeeded":
		out.Outcome = fetchsms.PaymentPaid
	case "checkout.session.async_payment_failed", "checkout.session.expired":
		out.Outcome = fetchsms.PaymentFailed
	}
	return out, nil
}

// Refund gives a deposit's payment back through Stripe.
func (p *Provider) Refund(ctx context.Context, d *fetchsms.Deposit) error {
	return fetchsms.Errorf(fetchsms.ECONFLICT, "refunds through Stripe are not available yet")
}
