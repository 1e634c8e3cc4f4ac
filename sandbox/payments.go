package sandbox

import (
	"context"
	"fmt"
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

// Payments is the sandbox payment provider: every deposit completes at once, no
// money moves.
type Payments struct{}

// Name returns "sandbox".
func (Payments) Name() string { return "sandbox" }

// Begin completes the deposit immediately with a fake reference.
func (Payments) Begin(ctx context.Context, d *fetchsms.Deposit) (string, string, bool, error) {
	return "sbx_" + uuid.NewString(), "", true, nil
}

// ParseEvent refuses every notification: the sandbox provider sends none.
func (Payments) ParseEvent(context.Context, []byte, http.Header) (*fetchsms.PaymentEvent, error) {
	return nil, fmt.Errorf("sandbox: %w: the sandbox provider sends no notifications", fetchsms.ErrPaymentSignature)
}

// Refund succeeds at once: no money moved.
func (Payments) Refund(context.Context, *fetchsms.Deposit) error { return nil }
