package fetchsms

import (
	"context"
	"net/http"
)

// PaymentProvider takes customers' money into their wallets. A provider either
// completes a deposit at once (the sandbox) or returns a checkout URL and
// completes it later through its own signed notifications.
type PaymentProvider interface {
	// Name identifies the provider in deposits, in POST /v1/wallet/deposits'
	// "provider" and in its webhook's path (/v1/payments/{name}/webhook).
	Name() string
	// Begin starts the deposit d. It returns the provider's reference, the URL the
	// customer must visit ("" when none), and whether the money is already taken.
	Begin(ctx context.Context, d *Deposit) (ref, checkoutURL string, completed bool, err error)
	// ParseEvent checks a notification's signature (in its headers) and reads
	// what it means for a deposit. An error wrapping ErrPaymentSignature when the
	// signature does not check out; another error when the provider could not be
	// asked about it (the notification should then be sent again).
	ParseEvent(ctx context.Context, payload []byte, header http.Header) (*PaymentEvent, error)
	// Refund gives the deposit's money back to the customer through the
	// provider; the wallet is debited by App.RefundDeposit once this succeeds.
	Refund(ctx context.Context, d *Deposit) error
}

// ErrPaymentSignature: a provider's notification whose signature does not check
// out. Nothing is stored and nothing changes.
var ErrPaymentSignature = Reasonf(EINVALID, ReasonBadSignature, "the signature of this notification does not check out")
