package client

import "context"

// Balance returns the wallet's balance (an API key or a session).
func (c *Client) Balance(ctx context.Context) (*Balance, error) {
	out := &Balance{}
	if _, err := c.get(ctx, "/v1/balance", nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DepositRequest puts money into the wallet.
type DepositRequest struct {
	AmountCents int64  `json:"amount_cents"`
	Provider    string `json:"provider,omitempty"` // "" for the server's default
}

// CreateDeposit starts a deposit (a dashboard session only: an API key is
// refused with CodeForbidden). Pay at its CheckoutURL; the sandbox's provider
// completes it at once. It is not retried after an unknown outcome (a deposit
// has no Idempotency-Key): list the deposits before trying again.
func (c *Client) CreateDeposit(ctx context.Context, r DepositRequest) (*Deposit, error) {
	out := &Deposit{}
	if _, err := c.do(ctx, request{method: "POST", path: "/v1/wallet/deposits", body: r, out: out}); err != nil {
		return nil, err
	}
	return out, nil
}

// Deposit returns one of your deposits (a session only).
func (c *Client) Deposit(ctx context.Context, id string) (*Deposit, error) {
	p, err := pathID("deposit", id)
	if err != nil {
		return nil, err
	}
	out := &Deposit{}
	if _, err := c.get(ctx, "/v1/wallet/deposits/"+p, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListDeposits returns one page of your deposits, newest first (a session only).
func (c *Client) ListDeposits(ctx context.Context, opt ListOptions) (*Page[Deposit], error) {
	return list[Deposit](ctx, c, "/v1/wallet/deposits", nil, opt, 0)
}

// Ledger returns one page of the wallet's ledger, newest first (a session only).
func (c *Client) Ledger(ctx context.Context, opt ListOptions) (*Page[LedgerEntry], error) {
	return list[LedgerEntry](ctx, c, "/v1/wallet/ledger", nil, opt, 0)
}
