package client

import (
	"context"
	"net/url"
	"strconv"
)

// Services returns the catalog, in display order, with each service's stock
// right now. No credential is needed.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	var out []Service
	if _, err := c.get(ctx, "/v1/services", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Purchase modes.
const (
	ModeShort = "short" // a verification
	ModeLong  = "long"  // a rental
)

// AreaCodesRequest selects the area codes of GET /v1/services/area-codes.
type AreaCodesRequest struct {
	Mode    string     // ModeShort (the default when "") or ModeLong
	Service ServiceRef // "" for every service
}

// AreaCodes returns the US area codes with a number for sale right now. No
// credential is needed.
func (c *Client) AreaCodes(ctx context.Context, r AreaCodesRequest) ([]string, error) {
	q := url.Values{}
	if r.Mode != "" {
		q.Set("mode", r.Mode)
	}
	if r.Service != "" {
		q.Set("service", string(r.Service))
	}
	var out []string
	if _, err := c.get(ctx, "/v1/services/area-codes", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// QuoteRequest is a purchase to price.
type QuoteRequest struct {
	Service        ServiceRef
	Mode           string // ModeShort or ModeLong
	Days           int    // the term of a rental: 1, 7, 30, 90 or 365
	CustomAreaCode bool   // include the area-code surcharge
}

// Quote returns the exact price of a purchase. No credential is needed.
func (c *Client) Quote(ctx context.Context, r QuoteRequest) (*Quote, error) {
	q := url.Values{"service": {string(r.Service)}, "mode": {r.Mode}}
	if r.Days != 0 {
		q.Set("days", strconv.Itoa(r.Days))
	}
	if r.CustomAreaCode {
		q.Set("custom_area_code", "true")
	}
	out := &Quote{}
	if _, err := c.get(ctx, "/v1/services/quote", q, out); err != nil {
		return nil, err
	}
	return out, nil
}
