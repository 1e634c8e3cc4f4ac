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
// tolerance) and returns what it means for a deposit:
//
//   - Checkout Session events pay or fail the deposit named by
//     client_reference_id, and name its PaymentIntent;
//   - charge.refunded takes back what Stripe has refunded of the PaymentIntent's
//     charge so far (amount_refunded: a total, so repeats and reordering change
//     nothing more);
//   - charge.dispute.* events are read against the dispute as Stripe holds it now
//     (an event may arrive late, after the dispute closed): open or lost, the
//     disputed amount is taken back; won (or an inquiry closed), it is given back.
//
// Any other event is kept and changes nothing. A Stripe that cannot be asked
// about a dispute is an error (Stripe sends the event again).
func (p *Provider) ParseEvent(ctx context.Context, payload []byte, h http.Header) (*fetchsms.PaymentEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, h.Get("Stripe-Signature"), p.webhookSecret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return nil, fmt.Errorf("stripe: %w: %w", fetchsms.ErrPaymentSignature, err)
	}
	out := &fetchsms.PaymentEvent{Provider: "stripe", ID: ev.ID, Type: string(ev.Type), Payload: payload}
	if ev.Data == nil {
		return out, nil
	}
	read := func(v any) error {
		if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
			return fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		return nil
	}
	switch {
	case strings.HasPrefix(out.Type, "checkout.session."):
		var s stripe.CheckoutSession
		if err := read(&s); err != nil {
			return nil, err
		}
		out.DepositID, out.ProviderRef, out.AmountCents, out.Currency = s.ClientReferenceID, s.ID, fetchsms.Cents(s.AmountTotal), strings.ToLower(string(s.Currency))
		if s.PaymentIntent != nil {
			out.PaymentRef = s.PaymentIntent.ID
		}
		switch ev.Type {
		case "checkout.session.completed":
			// An asynchronous method (a bank debit) completes the session
			// unpaid and pays later: async_payment_succeeded.
			if s.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid {
				out.Outcome = fetchsms.PaymentPaid
			}
		case "checkout.session.async_payment_succeeded":
			out.Outcome = fetchsms.PaymentPaid
		case "checkout.session.async_payment_failed", "checkout.session.expired":
			out.Outcome = fetchsms.PaymentFailed
		}
	case ev.Type == "charge.refunded":
		var c stripe.Charge
		if err := read(&c); err != nil {
			return nil, err
		}
		if c.PaymentIntent != nil {
			out.PaymentRef = c.PaymentIntent.ID
		}
		out.ProviderRef, out.AmountCents, out.Currency, out.Outcome = c.ID, fetchsms.Cents(c.AmountRefunded), strings.ToLower(string(c.Currency)), fetchsms.PaymentRefunded
	case strings.HasPrefix(out.Type, "charge.dispute."):
		var d stripe.Dispute
		if err := read(&d); err != nil {
			return nil, err
		}
		now, err := p.client.V1Disputes.Retrieve(ctx, d.ID, nil)
		if err != nil {
			return nil, &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: "Stripe could not be asked about this dispute; send the event again", Op: "stripe.ParseEvent",
				Err: fmt.Errorf("reading dispute %s of event %s: %w", d.ID, ev.ID, err)}
		}
		if now.PaymentIntent != nil {
			out.PaymentRef = now.PaymentIntent.ID
		}
		out.ProviderRef, out.AmountCents, out.Currency = now.ID, fetchsms.Cents(now.Amount), strings.ToLower(string(now.Currency))
		switch now.Status {
		case stripe.DisputeStatusWon, stripe.DisputeStatusWarningClosed:
			out.Outcome = fetchsms.PaymentDisputeWon
		case stripe.DisputeStatusLost:
			out.Outcome = fetchsms.PaymentDisputeLost
		default:
			out.Outcome = fetchsms.PaymentDisputed
		}
	}
	return out, nil
}

// Refund refunds a deposit's PaymentIntent in full through Stripe (once, whatever
// the retries: the deposit's id is the idempotency key). A Stripe that refuses
// or cannot be reached is EUPSTREAM.
func (p *Provider) Refund(ctx context.Context, d *fetchsms.Deposit) error {
	if d.PaymentRef == "" {
		return fetchsms.Errorf(fetchsms.ECONFLICT, "this deposit has no Stripe payment to refund")
	}
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(d.PaymentRef), Amount: stripe.Int64(int64(d.AmountCents))}
	params.AddMetadata("deposit_id", d.ID)
	params.SetIdempotencyKey("refund-" + d.ID)
	if _, err := p.client.V1Refunds.Create(ctx, params); err != nil {
		return &fetchsms.Error{Code: fetchsms.EUPSTREAM, Message: "Stripe could not refund this deposit; nothing changed, try again", Op: "stripe.Refund", Err: err}
	}
	return nil
}
