package client

import (
	"context"
	"net/url"
	"time"
)

// VerificationRequest buys a short-term number for one code of one service.
type VerificationRequest struct {
	Service  ServiceRef `json:"service"`
	AreaCode string     `json:"area_code,omitempty"` // a 3-digit US area code (+$0.10), or ""
	// IdempotencyKey is sent with every attempt of the purchase; "" makes a
	// fresh one per call. Set it to make a purchase safe to repeat across calls
	// (a process that restarts): a repeat answers the first purchase.
	IdempotencyKey string `json:"-"`
}

// CreateVerification buys a verification: the wallet is debited at once and
// refunded when no code arrives in the window. An *APIError tells why it was
// refused: CodeInsufficientBalance (402), CodeUnknownService (404),
// CodeOutOfStock (409), CodeInvalidValue (422) among others. It is retried after
// a network failure or a 5xx under one Idempotency-Key, so it never buys twice.
func (c *Client) CreateVerification(ctx context.Context, r VerificationRequest) (*Verification, error) {
	out := &Verification{}
	if err := c.write(ctx, "/v1/verifications", r.IdempotencyKey, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Verification returns one of your verifications (CodeNotFound for another's).
func (c *Client) Verification(ctx context.Context, id string) (*Verification, error) {
	return c.PollVerification(ctx, id, 0)
}

// PollVerification returns the verification as soon as it is not waiting (a
// code arrived, the window closed, it was cancelled) or when wait runs out
// (whole seconds, at most MaxWait), whichever comes first: one long-poll.
func (c *Client) PollVerification(ctx context.Context, id string, wait time.Duration) (*Verification, error) {
	p, err := pathID("verification", id)
	if err != nil {
		return nil, err
	}
	var q url.Values
	wait, secs := waitSeconds(wait)
	if wait > 0 {
		q = url.Values{"wait": {secs}}
	}
	out := &Verification{}
	if _, err := c.do(ctx, request{method: "GET", path: "/v1/verifications/" + p, query: q, out: out, idempotent: true, wait: wait}); err != nil {
		return nil, err
	}
	return out, nil
}

// WaitForCode long-polls the verification until it is no longer waiting and
// returns it: Status is StatusReceived with its Code, or StatusExpired or
// StatusCancelled (refunded). When ctx ends first it returns ctx's error.
func (c *Client) WaitForCode(ctx context.Context, id string) (*Verification, error) {
	return waitUntil(ctx, func(wait time.Duration) (*Verification, bool, error) {
		v, err := c.PollVerification(ctx, id, wait)
		return v, err == nil && v.Status != StatusWaiting, err
	})
}

// waitUntil calls poll with the longest wait that fits ctx until it says done,
// fails, or ctx ends.
func waitUntil[T any](ctx context.Context, poll func(wait time.Duration) (T, bool, error)) (T, error) {
	var zero T
	for {
		wait := MaxWait
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl).Truncate(time.Second))
			if wait < time.Second {
				// Too short for a long-poll: a last look, then the end of ctx.
				if v, done, err := poll(0); err == nil && done {
					return v, nil
				}
				<-ctx.Done()
				return zero, ctx.Err()
			}
		}
		v, done, err := poll(wait)
		if err != nil {
			if ctx.Err() != nil {
				return zero, ctx.Err()
			}
			return zero, err
		}
		if done {
			return v, nil
		}
		if err := ctx.Err(); err != nil {
			return zero, err
		}
	}
}

// Tabs of the lists of verifications and rentals.
const (
	TabActive  = "active"  // waiting (a rental: not ended)
	TabHistory = "history" // ended
)

// ListVerifications returns one page of your verifications in tab (TabActive
// when ""), newest first.
func (c *Client) ListVerifications(ctx context.Context, tab string, opt ListOptions) (*Page[Verification], error) {
	return list[Verification](ctx, c, "/v1/verifications", tabQuery(tab), opt, 0)
}

func tabQuery(tab string) url.Values {
	if tab == "" {
		return nil
	}
	return url.Values{"tab": {tab}}
}

// CancelVerification cancels a waiting verification and refunds it. It is
// refused with CodeAlreadyReceived once the code arrived, CodeNotWaiting once it
// ended. Retried safely under one Idempotency-Key.
func (c *Client) CancelVerification(ctx context.Context, id string) (*Verification, error) {
	p, err := pathID("verification", id)
	if err != nil {
		return nil, err
	}
	out := &Verification{}
	if err := c.write(ctx, "/v1/verifications/"+p+"/cancel", "", nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResendVerification asks for another code on the same number, free, after the
// first code and before ExpiresAt: the verification waits again and its next
// code is appended to Codes. Refused with CodeNoCodeYet, CodeWindowClosed,
// CodeNotWaiting or CodeNumberUnavailable. Retried safely under one
// Idempotency-Key.
func (c *Client) ResendVerification(ctx context.Context, id string) (*Verification, error) {
	p, err := pathID("verification", id)
	if err != nil {
		return nil, err
	}
	out := &Verification{}
	if err := c.write(ctx, "/v1/verifications/"+p+"/resend", "", nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Report is the answer to ReportVerification.
type Report struct {
	Refunded    Verification  `json:"refunded"`    // the reported verification, cancelled and refunded
	Replacement *Verification `json:"replacement"` // nil when none could be bought
	// ReplacementError says why there is no replacement (nil when there is one).
	ReplacementError *struct {
		Detail string `json:"detail"`
		Code   string `json:"code"`
	} `json:"replacement_error"`
}

// ReportVerification reports that the service refused a waiting
// verification's number: it is refunded and a replacement bought on another
// number. Refused with CodeAlreadyReceived after a code, CodeNotWaiting once
// ended. Retried safely under one Idempotency-Key.
func (c *Client) ReportVerification(ctx context.Context, id, reason string) (*Report, error) {
	p, err := pathID("verification", id)
	if err != nil {
		return nil, err
	}
	out := &Report{}
	if err := c.write(ctx, "/v1/verifications/"+p+"/report", "", map[string]string{"reason": reason}, out); err != nil {
		return nil, err
	}
	return out, nil
}
