package web

import (
	"errors"
	"io"
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
)

type userJSON struct {
	ID        string  `json:"id"`
	Email     string  `json:"email"`
	Role      string  `json:"role"`
	CreatedAt *string `json:"created_at"`
}

func userOut(u *fetchsms.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: ts(u.CreatedAt)}
}

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.throttleAuth(w, r, "") {
		return
	}
	u, err := s.App.CreateUser(r.Context(), body.Email, body.Password, fetchsms.RoleCustomer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.App.CreateSession(r.Context(), u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": sess.Token, "user": userOut(u), "expires_at": ts(sess.ExpiresAt)})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var body credentialsBody
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Email == "" || body.Password == "" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "email and password are required"))
		return
	}
	if s.throttleAuth(w, r, body.Email) {
		return
	}
	u, sess, err := s.App.Login(r.Context(), body.Email, body.Password)
	s.noteSignIn(r, body.Email, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": sess.Token, "user": userOut(u), "expires_at": ts(sess.ExpiresAt)})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.App.RevokeSession(r.Context(), principalOf(r).CredentialID); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userOut(principalOf(r).User))
}

type apiKeyJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	Key       string  `json:"key,omitempty"`
	CreatedAt *string `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
}

func apiKeyOut(k *fetchsms.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Key: k.Key, CreatedAt: ts(k.CreatedAt), RevokedAt: ts(k.RevokedAt)}
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.App.ListAPIKeys(r.Context(), principalOf(r).User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKeyOut(k))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.App.CreateAPIKey(r.Context(), principalOf(r).User.ID, body.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiKeyOut(k))
}

func (s *Server) handleRotateAPIKey(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "API key")
	if id == "" {
		return
	}
	k, err := s.App.RotateAPIKey(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiKeyOut(k))
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "API key")
	if id == "" {
		return
	}
	if err := s.App.RevokeAPIKey(r.Context(), principalOf(r).User.ID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type ledgerJSON struct {
	ID                string         `json:"id"`
	Kind              string         `json:"kind"`
	AmountCents       fetchsms.Cents `json:"amount_cents"`
	BalanceAfterCents fetchsms.Cents `json:"balance_after_cents"`
	VerificationID    *string        `json:"verification_id,omitempty"`
	RentalID          *string        `json:"rental_id,omitempty"`
	DepositID         *string        `json:"deposit_id,omitempty"`
	Reason            *string        `json:"reason,omitempty"`
	CreatedAt         *string        `json:"created_at"`
}

func ledgerOut(e *fetchsms.LedgerEntry) ledgerJSON {
	return ledgerJSON{ID: e.ID, Kind: e.Kind, AmountCents: e.AmountCents, BalanceAfterCents: e.BalanceAfterCents,
		VerificationID: strOrNil(e.VerificationID), RentalID: strOrNil(e.RentalID), DepositID: strOrNil(e.DepositID), Reason: strOrNil(e.Reason), CreatedAt: ts(e.CreatedAt)}
}

func (s *Server) handleWallet(w http.ResponseWriter, r *http.Request) {
	b, err := s.App.Balance(r.Context(), principalOf(r).User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"balance_cents": b, "currency": "USD"})
}

func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) {
	userID := principalOf(r).User.ID
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.LedgerEntry, int64, error) {
		return s.App.Ledger(r.Context(), userID, p)
	}, ledgerOut)
}

type depositJSON struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	AmountCents   fetchsms.Cents `json:"amount_cents"`
	Provider      string         `json:"provider"`
	CheckoutURL   *string        `json:"checkout_url"`
	RefundedCents fetchsms.Cents `json:"refunded_cents"`
	DisputedCents fetchsms.Cents `json:"disputed_cents"`
	OwedCents     fetchsms.Cents `json:"owed_cents"`
	CreatedAt     *string        `json:"created_at"`
}

func depositOut(d *fetchsms.Deposit) depositJSON {
	return depositJSON{ID: d.ID, Status: d.Status, AmountCents: d.AmountCents, Provider: d.Provider, CheckoutURL: strOrNil(d.CheckoutURL),
		RefundedCents: d.RefundedCents, DisputedCents: d.DisputedCents, OwedCents: d.OwedCents, CreatedAt: ts(d.CreatedAt)}
}

func (s *Server) handleListDeposits(w http.ResponseWriter, r *http.Request) {
	userID := principalOf(r).User.ID
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) {
		return s.App.Deposits(r.Context(), userID, p)
	}, depositOut)
}

func (s *Server) handleGetDeposit(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "deposit")
	if id == "" {
		return
	}
	d, err := s.App.UserDeposit(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, depositOut(d))
}

func (s *Server) handleAdminDeposits(w http.ResponseWriter, r *http.Request) {
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) { return s.App.AllDeposits(r.Context(), p) },
		adminDepositOut)
}

type adminDepositJSON struct {
	depositJSON
	UserID        string         `json:"user_id"`
	ProviderRef   string         `json:"provider_ref"`
	PaymentRef    string         `json:"payment_ref"`
	ForgivenCents fetchsms.Cents `json:"forgiven_cents"`
}

func adminDepositOut(d *fetchsms.Deposit) adminDepositJSON {
	return adminDepositJSON{depositOut(d), d.UserID, d.ProviderRef, d.PaymentRef, d.ForgivenCents}
}

// handleAdminRefundDeposit refunds a credited deposit through its provider
// (POST /v1/admin/deposits/{id}/refund, body {"reason"} or none).
func (s *Server) handleAdminRefundDeposit(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "deposit")
	if id == "" {
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			s.writeError(w, r, unwrapDecodeErr(err))
			return
		}
	}
	d, err := s.App.RefundDeposit(r.Context(), id, body.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminDepositOut(d))
}

// handleAdminSettleDeposit settles what a customer owes for a deposit taken
// back (POST /v1/admin/deposits/{id}/settle, {"action": "collect"|"forgive", "reason"}).
func (s *Server) handleAdminSettleDeposit(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "deposit")
	if id == "" {
		return
	}
	var body struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	d, err := s.App.SettleDeposit(r.Context(), id, body.Action, body.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminDepositOut(d))
}

type paymentEventJSON struct {
	Provider    string         `json:"provider"`
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	DepositID   *string        `json:"deposit_id"`
	AmountCents fetchsms.Cents `json:"amount_cents"`
	Currency    string         `json:"currency"`
	Result      string         `json:"result"`
	ReceivedAt  *string        `json:"received_at"`
}

func (s *Server) handleAdminPaymentEvents(w http.ResponseWriter, r *http.Request) {
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.PaymentEvent, int64, error) {
		return s.App.PaymentEvents(r.Context(), p)
	},
		func(e *fetchsms.PaymentEvent) paymentEventJSON {
			return paymentEventJSON{Provider: e.Provider, ID: e.ID, Type: e.Type, DepositID: strOrNil(e.DepositID), AmountCents: e.AmountCents,
				Currency: e.Currency, Result: e.Result, ReceivedAt: ts(e.ReceivedAt)}
		})
}

func (s *Server) handleDeposit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AmountCents intField `json:"amount_cents"`
		Provider    string   `json:"provider"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if !body.AmountCents.Set {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "amount_cents is required"))
		return
	}
	d, err := s.App.Deposit(r.Context(), principalOf(r).User.ID, body.Provider, fetchsms.Cents(body.AmountCents.Value), baseURL(r)+"/dashboard/wallet")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, depositOut(d))
}

// maxPaymentEvent bounds a provider's notification (Stripe's are a few KB).
const maxPaymentEvent = 512 << 10

// handlePaymentWebhook takes a payment provider's signed notifications
// (POST /v1/payments/{provider}/webhook): a bad signature is 400 and changes
// nothing; a good one is kept and applied once (App.HandlePaymentEvent), and
// answered 200 so that the provider stops sending it. A failure to store it, or
// to ask the provider about it, is 5xx: the provider sends it again.
func (s *Server) handlePaymentWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	p := s.App.PaymentProvider(name)
	switch {
	case p == nil:
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ENOTFOUND, "payment provider %q is not configured on this server", name))
		return
	case name == "sandbox":
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ENOTFOUND, "the sandbox payment provider completes deposits at once and sends no notifications"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPaymentEvent))
	if err != nil {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ETOOLARGE, "the event is larger than %d bytes", maxPaymentEvent))
		return
	}
	ev, err := p.ParseEvent(r.Context(), body, r.Header)
	if errors.Is(err, fetchsms.ErrPaymentSignature) {
		s.Logger.WarnContext(r.Context(), "payment event refused", "provider", name, "err", err)
		s.writeError(w, r, fetchsms.ErrPaymentSignature)
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	result, err := s.App.HandlePaymentEvent(r.Context(), *ev)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Logger.InfoContext(r.Context(), "payment event", "provider", name, "id", ev.ID, "type", ev.Type, "deposit", ev.DepositID, "result", result)
	writeJSON(w, http.StatusOK, map[string]string{"received": ev.ID, "result": result})
}
