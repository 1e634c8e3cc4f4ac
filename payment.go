package fetchsms

import "context"

// PaymentProvider takes customers' money into their wallets. A provider either
// completes a deposit at once (the sandbox) or returns a checkout URL and completes
// it later through its own callback.
type PaymentProvider interface {
	// Name identifies the provider in deposits.
	Name() string
	// Begin starts the deposit d. It returns the provider's reference, the URL the
	// customer must visit ("" when none), and whether the money is already taken.
	Begin(ctx context.Context, d *Deposit) (ref, checkoutURL string, completed bool, err error)
}

// PaymentEventParser reads a provider's signed notification: an error when its
// signature does not check out.
type PaymentEventParser interface {
	ParseEvent(payload []byte, signature string) (*PaymentEvent, error)
}
