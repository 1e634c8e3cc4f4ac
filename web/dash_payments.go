package web

import (
	"net/http"
	"net/url"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

// Payments on the dashboard: the wallet's deposits and the page a provider sends
// the customer back to.

// depositsCursor is the wallet page's query parameter of its deposits' page (the
// ledger pages by "cursor").
const depositsCursor = "deposits_cursor"

// providerLabel names a payment provider for people: in the wallet's choice and
// the lists.
func providerLabel(name string) string {
	switch name {
	case "stripe":
		return "Card (Stripe)"
	case "btcpay":
		return "Crypto (BTCPay)"
	case "sandbox":
		return "Sandbox"
	}
	return name
}

// providerBrand names a payment provider in a sentence: "waiting for Stripe".
func providerBrand(name string) string {
	switch name {
	case "stripe":
		return "Stripe"
	case "btcpay":
		return "BTCPay"
	case "sandbox":
		return "the sandbox"
	}
	return name
}

// depositStatusLabel words a deposit's status for its badge.
func depositStatusLabel(status string) string {
	switch status {
	case fetchsms.DepositPending:
		return "Pending"
	case fetchsms.DepositSucceeded:
		return "Credited"
	case fetchsms.DepositFailed:
		return "Failed"
	case fetchsms.DepositRefunded:
		return "Refunded"
	case fetchsms.DepositDisputed:
		return "Disputed"
	}
	return status
}

// depositReturn is the deposit a provider's checkout sent the customer back
// with (/dashboard/wallet?deposit=<id>, and &cancelled=1 when they cancelled
// there).
type depositReturn struct {
	Deposit   *fetchsms.Deposit
	Cancelled bool
}

// depositReturn reads ?deposit= of the wallet page: nil when there is none, or
// when it names no deposit of this user (anyone's id, or garbage, shows nothing).
func (s *Server) depositReturn(r *http.Request, userID string) (*depositReturn, error) {
	q := r.URL.Query()
	id := q.Get("deposit")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return nil, nil
	}
	d, err := s.App.UserDeposit(r.Context(), userID, id)
	if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &depositReturn{Deposit: d, Cancelled: q.Get("cancelled") == "1"}, nil
}

type checkoutView struct {
	Deposit *fetchsms.Deposit
	URL     string
}

// dashCheckout sends the customer on to the provider's checkout page of a new
// deposit. Not by a redirect: the wallet page's Content-Security-Policy
// (form-action 'self') makes browsers refuse a form's redirect to another site,
// so this page, the form's answer, moves on by a meta refresh, and has a link.
func (s *Server) dashCheckout(w http.ResponseWriter, r *http.Request, p *pageData, d *fetchsms.Deposit) {
	u, err := url.Parse(d.CheckoutURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		s.Logger.Error("checkout URL is not a web address", "provider", d.Provider, "deposit", d.ID)
		redirectErr(w, r, "/dashboard/wallet", fetchsms.Errorf(fetchsms.EUPSTREAM, "The payment provider did not give a usable checkout page. Nothing was charged; try again later."))
		return
	}
	p.Title, p.Refresh, p.Data = "Taking you to "+providerBrand(d.Provider), d.CheckoutURL, &checkoutView{Deposit: d, URL: d.CheckoutURL}
	s.render(w, r, http.StatusOK, "checkout", p)
}
