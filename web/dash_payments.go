package web

import (
	"net/http"
	"net/url"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

// Payments on the dashboard: the wallet's deposits and the page a provider sends
// the customer back to; for admins, every deposit and the providers' events.

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

// idEnd is the random end of an id, to tell ids apart in a list (a UUIDv7's
// first part is the time it was made: the same for ids made within a minute).
func idEnd(id string) string { return id[strings.LastIndex(id, "-")+1:] }

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
		s.Logger.ErrorContext(r.Context(), "checkout URL is not a web address", "provider", d.Provider, "deposit", d.ID)
		redirectErr(w, r, "/dashboard/wallet", fetchsms.Errorf(fetchsms.EUPSTREAM, "The payment provider did not give a usable checkout page. Nothing was charged; try again later."))
		return
	}
	p.Title, p.Refresh, p.Data = "Taking you to "+providerBrand(d.Provider), d.CheckoutURL, &checkoutView{Deposit: d, URL: d.CheckoutURL}
	s.render(w, r, http.StatusOK, "checkout", p)
}

type adminDepositsView struct {
	Deposits []*fetchsms.Deposit
	Emails   map[string]string // user id → email
	Next     int64
}

// adminDeposits lists every customer's deposits, newest first.
func (s *Server) adminDeposits(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &adminDepositsView{Emails: map[string]string{}}
	var err error
	if v.Deposits, v.Next, err = s.App.AllDeposits(r.Context(), cursorOf(r)); err == nil {
		for _, d := range v.Deposits {
			if _, seen := v.Emails[d.UserID]; seen {
				continue
			}
			u, uerr := s.App.UserByID(r.Context(), d.UserID)
			if fetchsms.ErrorCode(uerr) == fetchsms.ENOTFOUND {
				v.Emails[d.UserID] = "" // the page shows the id
				continue
			} else if uerr != nil {
				err = uerr
				break
			}
			v.Emails[d.UserID] = u.Email
		}
	}
	s.show(w, r, p, err, "admin_payments", "Payments", v)
}

type adminPaymentEventsView struct {
	Events []*fetchsms.PaymentEvent
	Next   int64
}

// adminPaymentEvents lists the providers' events and what became of each.
func (s *Server) adminPaymentEvents(w http.ResponseWriter, r *http.Request, p *pageData) {
	events, next, err := s.App.PaymentEvents(r.Context(), cursorOf(r))
	s.show(w, r, p, err, "admin_payment_events", "Payment events", &adminPaymentEventsView{events, next})
}

// eventResultUsual reports whether a payment event's result is routine: anything
// else ("amount mismatch: …", "unknown deposit", a dispute…) is for an admin to
// look at.
func eventResultUsual(result string) bool {
	return result == "credited" || result == "duplicate" || result == "ignored"
}

// adminRefundDeposit refunds a credited deposit through its provider
// (App.RefundDeposit) and goes back to the Payments page with what happened.
func (s *Server) adminRefundDeposit(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "deposit")
	if id == "" {
		return
	}
	d, err := s.App.RefundDeposit(r.Context(), id, r.PostFormValue("reason"))
	if err != nil {
		redirectErr(w, r, "/admin/payments", err)
		return
	}
	redirect(w, r, "/admin/payments", "Refunded "+dollarsText(d.RefundedCents)+" through "+providerLabel(d.Provider)+"; the wallet was debited.")
}

// adminSettleDeposit collects or forgives what a customer owes for a deposit
// taken back (App.SettleDeposit).
func (s *Server) adminSettleDeposit(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "deposit")
	if id == "" {
		return
	}
	action := r.PostFormValue("action")
	d, err := s.App.SettleDeposit(r.Context(), id, action, r.PostFormValue("reason"))
	if err != nil {
		redirectErr(w, r, "/admin/payments", err)
		return
	}
	msg := "Forgiven."
	if action == fetchsms.SettleCollect {
		msg = "Collected from the balance."
	}
	if d.OwedCents > 0 {
		msg += " Still owed: " + dollarsText(d.OwedCents) + "."
	} else {
		msg += " Nothing is owed now; the customer can buy again."
	}
	redirect(w, r, "/admin/payments", msg)
}
