package web

import (
	"net/http"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

type adminUserJSON struct {
	userJSON
	BalanceCents fetchsms.Cents `json:"balance_cents"`
	Disabled     bool           `json:"disabled"`
}

func adminUserOut(u *fetchsms.User) adminUserJSON {
	return adminUserJSON{userJSON: userOut(u), BalanceCents: u.BalanceCents, Disabled: u.Disabled}
}

func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request) {
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.User, int64, error) { return s.App.ListUsers(r.Context(), p) }, adminUserOut)
}

func (s *Server) handleAdminUser(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "user")
	if id == "" {
		return
	}
	u, err := s.App.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminUserOut(u))
}

func (s *Server) handleAdminAdjust(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "user")
	if id == "" {
		return
	}
	var body struct {
		AmountCents intField `json:"amount_cents"`
		Reason      string   `json:"reason"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if !body.AmountCents.Set {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "amount_cents is required (negative to debit)"))
		return
	}
	if body.AmountCents.Value > 100_000_000 || body.AmountCents.Value < -100_000_000 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "amount_cents must be within ±100000000"))
		return
	}
	if _, err := s.App.UserByID(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.App.Adjust(r.Context(), id, fetchsms.Cents(body.AmountCents.Value), body.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ledgerOut(e))
}

func (s *Server) handleAdminDisable(w http.ResponseWriter, r *http.Request) {
	s.setDisabled(w, r, true)
}
func (s *Server) handleAdminEnable(w http.ResponseWriter, r *http.Request) {
	s.setDisabled(w, r, false)
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	id := s.pathID(w, r, "user")
	if id == "" {
		return
	}
	if disabled && id == principalOf(r).User.ID {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "you cannot disable your own account"))
		return
	}
	u, err := s.App.SetUserDisabled(r.Context(), id, disabled)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminUserOut(u))
}

type gatewayJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Token     string  `json:"token,omitempty"`
	CreatedAt *string `json:"created_at,omitempty"`
}

func (s *Server) handleAdminGateways(w http.ResponseWriter, r *http.Request) {
	list, err := s.App.ListGateways(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]gatewayJSON, 0, len(list))
	for _, g := range list {
		out = append(out, gatewayJSON{ID: g.ID, Name: g.Name, CreatedAt: ts(g.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleAdminCreateGateway(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.App.CreateGateway(r.Context(), body.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, gatewayJSON{ID: g.ID, Name: g.Name, Token: g.Token})
}

func (s *Server) handleAdminImportNumbers(w http.ResponseWriter, r *http.Request) {
	var body struct {
		GatewayID string   `json:"gateway_id"`
		Numbers   []string `json:"numbers"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.GatewayID == "" || len(body.Numbers) == 0 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "gateway_id and a non-empty numbers array are required"))
		return
	}
	if len(body.Numbers) > 5000 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "import at most 5000 numbers per request"))
		return
	}
	added, skipped, err := s.App.ImportNumbers(r.Context(), body.GatewayID, fetchsms.PlainNumbers(body.Numbers))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"added": added, "skipped": skipped})
}

func (s *Server) handleInboundSMS(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID         string  `json:"id"`
		To         string  `json:"to"`
		From       string  `json:"from"`
		Body       string  `json:"body"`
		ReceivedAt *string `json:"received_at"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := fetchsms.InboundSMS{ID: body.ID, To: body.To, From: body.From, Body: body.Body}
	if body.ReceivedAt != nil {
		t, err := time.Parse(time.RFC3339, *body.ReceivedAt)
		if err != nil {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "received_at must be an ISO-8601 time such as 2026-06-17T22:15:30Z"))
			return
		}
		in.ReceivedAt = t.UTC()
	}
	res, err := s.receive(r, principalOf(r).Gateway.ID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, inboundOut(res))
}

// receive validates and routes one inbound SMS for a gateway.
func (s *Server) receive(r *http.Request, gatewayID string, in fetchsms.InboundSMS) (*fetchsms.InboundResult, error) {
	switch {
	case in.ID == "" || len(in.ID) > 200:
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "id (the gateway's own message id, 1–200 characters) is required")
	case in.From == "" || len(in.From) > 100:
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "from (the sender, 1–100 characters) is required")
	case len(in.Body) > 10_000:
		return nil, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "body is longer than 10000 characters")
	}
	if _, err := fetchsms.ParseE164(in.To); err != nil {
		return nil, err
	}
	return s.App.ReceiveSMS(r.Context(), gatewayID, in)
}

func inboundOut(res *fetchsms.InboundResult) map[string]any {
	var routed any
	switch {
	case res.VerificationID != "":
		routed = map[string]string{"verification_id": res.VerificationID}
	case res.RentalID != "":
		routed = map[string]string{"rental_id": res.RentalID}
	}
	return map[string]any{"id": res.MessageID, "routed_to": routed}
}

func (s *Server) handleClockAdvance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Seconds intField `json:"seconds"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if !body.Seconds.Set || body.Seconds.Value <= 0 || body.Seconds.Value > 400*24*3600 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "seconds must be a positive integer (at most 400 days)"))
		return
	}
	if err := s.Clock.Advance(r.Context(), body.Seconds.Value); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Expire what the jump made due, so the next read already shows it.
	if _, err := s.App.ExpireDue(r.Context(), 10000); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": ts(s.Clock.Now())})
}

func (s *Server) handleSandboxSMS(w http.ResponseWriter, r *http.Request) {
	var body struct {
		To   string `json:"to"`
		From string `json:"from"`
		Body string `json:"body"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	to := normalizeNumber(body.To)
	if _, err := fetchsms.ParseE164(to); err != nil {
		s.writeError(w, r, err)
		return
	}
	gw, err := s.App.NumberGateway(r.Context(), to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.receive(r, gw, fetchsms.InboundSMS{ID: "sandbox-" + newMsgID(), To: to, From: body.From, Body: body.Body})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, inboundOut(res))
}
