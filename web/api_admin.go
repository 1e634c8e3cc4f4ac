package web

import (
	"bytes"
	"encoding/json"
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

// handleAdminUsers lists accounts newest first; ?q= keeps those whose email
// holds it.
func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request) {
	q, err := fetchsms.AdminSearch(r.URL.Query().Get("q"), false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.User, int64, error) {
		p.Query = q
		return s.App.ListUsers(r.Context(), p)
	}, adminUserOut)
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
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Token       string  `json:"token,omitempty"`
	Disabled    bool    `json:"disabled"`
	Signs       bool    `json:"signs"` // its token is kept to check signed gateway software
	LastSeenAt  *string `json:"last_seen_at"`
	CreatedAt   *string `json:"created_at"`
	Health      string  `json:"health"`       // ok, silent, disabled or new (health.go)
	WithdrawnAt *string `json:"withdrawn_at"` // when its numbers left sale; null while listed
	Numbers     int     `json:"numbers"`
	ForSale     int     `json:"numbers_for_sale"`
	Messages    int     `json:"messages_24h"`
	Unmatched   int     `json:"unmatched_24h"`
}

func gatewayOut(g *fetchsms.GatewayHealth) gatewayJSON {
	return gatewayJSON{ID: g.ID, Name: g.Name, Token: g.Token, Disabled: g.Disabled, Signs: g.Signs, LastSeenAt: ts(g.LastSeenAt), CreatedAt: ts(g.CreatedAt),
		Health: g.Health, WithdrawnAt: ts(g.WithdrawnAt), Numbers: g.Numbers, ForSale: g.ForSale, Messages: g.Messages, Unmatched: g.Unmatched}
}

// writeGateway answers with one gateway as it now is, with the token of g
// when it was just made or rotated.
func (s *Server) writeGateway(w http.ResponseWriter, r *http.Request, status int, g *fetchsms.Gateway) {
	h, err := s.App.GatewayHealthByID(r.Context(), g.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h.Token = g.Token
	writeJSON(w, status, gatewayOut(h))
}

func (s *Server) handleAdminGateways(w http.ResponseWriter, r *http.Request) {
	list, err := s.App.GatewaysHealth(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]gatewayJSON, 0, len(list))
	for _, g := range list {
		out = append(out, gatewayOut(g))
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
	s.writeGateway(w, r, http.StatusCreated, g)
}

// handleAdminRotateGateway gives a gateway a new token (in the answer, once),
// or the one in the body ({"token": "…"}: a provider's own signing key); the old
// one stops at once.
func (s *Server) handleAdminRotateGateway(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "gateway")
	if id == "" {
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			s.writeError(w, r, unwrapDecodeErr(err))
			return
		}
	}
	var g *fetchsms.Gateway
	var err error
	if body.Token != "" {
		g, err = s.App.SetGatewayKey(r.Context(), id, body.Token)
	} else {
		g, err = s.App.RotateGatewayToken(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeGateway(w, r, http.StatusCreated, g)
}

// handleAdminGatewayDisabled disables a gateway (its numbers leave sale at
// once, what waits on them is refunded) or enables it.
func (s *Server) handleAdminGatewayDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := s.pathID(w, r, "gateway")
		if id == "" {
			return
		}
		g, err := s.App.SetGatewayDisabled(r.Context(), id, disabled)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeGateway(w, r, http.StatusOK, g)
	}
}

// numberItem is one entry of an import's numbers: "+1…", or {"number": "+1…",
// "device_id": "…", "sim_slot": 1}.
type numberItem fetchsms.NumberImport

func (n *numberItem) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &n.E164)
	}
	var o struct {
		Number   string `json:"number"`
		DeviceID string `json:"device_id"`
		SimSlot  *int   `json:"sim_slot"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return fetchsms.Errorf(fetchsms.EINVALID, "each of numbers is \"+1…\" or {\"number\", \"device_id\", \"sim_slot\"}: %v", err)
	}
	n.E164, n.DeviceID = o.Number, o.DeviceID
	if o.SimSlot != nil {
		n.SimSlot = *o.SimSlot
	}
	return nil
}

func (s *Server) handleAdminImportNumbers(w http.ResponseWriter, r *http.Request) {
	var body struct {
		GatewayID string       `json:"gateway_id"`
		Numbers   []numberItem `json:"numbers"`
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
	numbers := make([]fetchsms.NumberImport, len(body.Numbers))
	for i, n := range body.Numbers {
		numbers[i] = fetchsms.NumberImport(n)
	}
	added, skipped, err := s.App.ImportNumbers(r.Context(), body.GatewayID, numbers)
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
		// Part, optional: this is one part of a long SMS (multipart.go).
		Part *struct {
			Ref   string `json:"ref"`
			Index int    `json:"index"`
			Count int    `json:"count"`
		} `json:"part"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := fetchsms.InboundSMS{ID: body.ID, To: body.To, From: body.From, Body: body.Body}
	if body.Part != nil {
		in.Part = &fetchsms.SMSPart{Ref: body.Part.Ref, Index: body.Part.Index, Count: body.Part.Count}
	}
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
	if in.DeviceID == "" {
		if _, err := fetchsms.ParseE164(in.To); err != nil {
			return nil, err
		}
	}
	return s.App.ReceiveSMS(r.Context(), gatewayID, in)
}

func inboundOut(res *fetchsms.InboundResult) map[string]any {
	if res.MessageID == "" {
		// A part of a long SMS, waiting for the rest of it.
		return map[string]any{"id": nil, "routed_to": nil, "parts": map[string]int{"received": res.PartsReceived, "count": res.PartsCount}}
	}
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
	// Expire what the jump made due, and deliver the long SMS whose parts it
	// made overdue, so the next read already shows it.
	if _, err := s.App.ExpireDue(r.Context(), 10000); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.App.FlushParts(r.Context(), 10000); err != nil {
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
