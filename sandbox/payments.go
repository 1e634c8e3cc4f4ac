package sandbox

import (
	"context"

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
