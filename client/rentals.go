package client

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// RentalRequest rents a long-term number, exclusive for its term.
type RentalRequest struct {
	Service  ServiceRef `json:"service"`             // UnlimitedServices (id 1)
	Days     int        `json:"days"`                // 1, 7, 30, 90 or 365
	AreaCode string     `json:"area_code,omitempty"` // a 3-digit US area code (+$0.10), or ""
	// IdempotencyKey: as VerificationRequest's.
	IdempotencyKey string `json:"-"`
}

// CreateRental rents a number for the term: the wallet is debited at once and
// refunded when the term ends without a message. Refusals are as
// CreateVerification's, and CodeInvalidValue (422) for an unsupported term.
// Retried safely under one Idempotency-Key.
func (c *Client) CreateRental(ctx context.Context, r RentalRequest) (*Rental, error) {
	out := &Rental{}
	if err := c.write(ctx, "/v1/rentals", r.IdempotencyKey, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Rental returns one of your rentals (CodeNotFound for another's).
func (c *Client) Rental(ctx context.Context, id string) (*Rental, error) {
	p, err := pathID("rental", id)
	if err != nil {
		return nil, err
	}
	out := &Rental{}
	if _, err := c.get(ctx, "/v1/rentals/"+p, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListRentals returns one page of your rentals in tab (TabActive when ""),
// newest first.
func (c *Client) ListRentals(ctx context.Context, tab string, opt ListOptions) (*Page[Rental], error) {
	return list[Rental](ctx, c, "/v1/rentals", tabQuery(tab), opt, 0)
}

// CancelRental cancels a rental that has received no message yet and refunds
// it; after a message it is refused with CodeAlreadyReceived. Retried safely
// under one Idempotency-Key.
func (c *Client) CancelRental(ctx context.Context, id string) (*Rental, error) {
	p, err := pathID("rental", id)
	if err != nil {
		return nil, err
	}
	out := &Rental{}
	if err := c.write(ctx, "/v1/rentals/"+p+"/cancel", "", nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// MessagesOptions selects the messages of a rental.
type MessagesOptions struct {
	ListOptions
	// Wait, when set, makes the request a long-poll (whole seconds, at most
	// MaxWait): it is answered once the newest message is not After (or, with
	// After "", once there is one), the rental ends, or Wait runs out.
	Wait  time.Duration
	After string // a message id; only with Wait
}

// RentalMessages returns one page of the SMS received on the rental's number,
// newest first, each with the code found in it.
func (c *Client) RentalMessages(ctx context.Context, id string, opt MessagesOptions) (*Page[Message], error) {
	p, err := pathID("rental", id)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	wait, secs := waitSeconds(opt.Wait)
	if wait > 0 {
		q.Set("wait", secs)
		if opt.After != "" {
			q.Set("after", opt.After)
		}
	}
	return list[Message](ctx, c, "/v1/rentals/"+p+"/messages", q, opt.ListOptions, wait)
}

// ErrRentalEnded is returned by WaitForMessage when the rental expired or was
// cancelled before a new message came.
var ErrRentalEnded = errors.New("fetchsms: the rental ended")

// WaitForMessage long-polls the rental until a message newer than the message
// after (a message id; "" for any message) arrives, and returns the newest
// message. It returns ErrRentalEnded when the rental ends first, ctx's error
// when ctx does.
func (c *Client) WaitForMessage(ctx context.Context, rentalID, after string) (*Message, error) {
	return waitUntil(ctx, func(wait time.Duration) (*Message, bool, error) {
		pg, err := c.RentalMessages(ctx, rentalID, MessagesOptions{ListOptions: ListOptions{Limit: 1}, Wait: wait, After: after})
		if err != nil {
			return nil, false, err
		}
		if len(pg.Items) > 0 && pg.Items[0].ID != after {
			return &pg.Items[0], true, nil
		}
		r, err := c.Rental(ctx, rentalID)
		if err != nil {
			return nil, false, err
		}
		if r.Status != StatusWaiting && r.Status != StatusReceived {
			return nil, false, ErrRentalEnded
		}
		return nil, false, nil
	})
}

// ExtendRental adds days (1, 7, 30, 90 or 365) to a live rental at the
// long-term price of that term. Refused with CodeInvalidValue (a term not sold,
// or more than 365 days ahead), CodeInsufficientBalance, CodeNotWaiting once
// ended. Retried safely under one Idempotency-Key, so it never charges twice.
func (c *Client) ExtendRental(ctx context.Context, id string, days int) (*Rental, error) {
	p, err := pathID("rental", id)
	if err != nil {
		return nil, err
	}
	out := &Rental{}
	if err := c.write(ctx, "/v1/rentals/"+p+"/extend", "", map[string]int{"days": days}, out); err != nil {
		return nil, err
	}
	return out, nil
}
