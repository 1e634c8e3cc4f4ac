package web

import (
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

type ticketMessageJSON struct {
	ID        string  `json:"id"`
	Author    string  `json:"author"` // "customer" or "staff"
	Body      string  `json:"body"`
	CreatedAt *string `json:"created_at"`
}

type ticketJSON struct {
	ID             string              `json:"id"`
	UserID         string              `json:"user_id,omitempty"` // admin views only
	Email          string              `json:"email,omitempty"`   // admin views only
	Subject        string              `json:"subject"`
	Status         string              `json:"status"`
	VerificationID *string             `json:"verification_id"`
	RentalID       *string             `json:"rental_id"`
	CreatedAt      *string             `json:"created_at"`
	UpdatedAt      *string             `json:"updated_at"`
	Messages       []ticketMessageJSON `json:"messages,omitempty"`
}

func ticketMessageOut(m *fetchsms.TicketMessage) ticketMessageJSON {
	author := "customer"
	if m.Staff {
		author = "staff"
	}
	return ticketMessageJSON{ID: m.ID, Author: author, Body: m.Body, CreatedAt: ts(m.CreatedAt)}
}

func ticketOut(t *fetchsms.Ticket, admin bool) ticketJSON {
	out := ticketJSON{ID: t.ID, Subject: t.Subject, Status: t.Status, VerificationID: strOrNil(t.VerificationID),
		RentalID: strOrNil(t.RentalID), CreatedAt: ts(t.CreatedAt), UpdatedAt: ts(t.UpdatedAt)}
	if admin {
		out.UserID, out.Email = t.UserID, t.UserEmail
	}
	for _, m := range t.Messages {
		out.Messages = append(out.Messages, ticketMessageOut(m))
	}
	return out
}

// ticketStatusFilter reads ?status= (open, answered, closed; empty for all).
func ticketStatusFilter(r *http.Request) (string, error) {
	switch st := r.URL.Query().Get("status"); st {
	case "", fetchsms.TicketOpen, fetchsms.TicketAnswered, fetchsms.TicketClosed:
		return st, nil
	default:
		return "", fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "status must be open, answered or closed")
	}
}

// optionalID checks an id given in a body: absent is "", a malformed one is
// ENOTFOUND (as in paths: no existence leak, no special case).
func optionalID(id *string, what string) (string, error) {
	if id == nil || *id == "" {
		return "", nil
	}
	if _, err := uuid.Parse(*id); err != nil || len(*id) != 36 {
		return "", fetchsms.Errorf(fetchsms.ENOTFOUND, "%s not found", what)
	}
	return *id, nil
}

func (s *Server) handleCreateTicket(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Subject        string  `json:"subject"`
		Body           string  `json:"body"`
		VerificationID *string `json:"verification_id"`
		RentalID       *string `json:"rental_id"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req := fetchsms.TicketRequest{Subject: body.Subject, Body: body.Body}
	var err error
	if req.VerificationID, err = optionalID(body.VerificationID, "verification"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.RentalID, err = optionalID(body.RentalID, "rental"); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.App.CreateTicket(r.Context(), principalOf(r).User.ID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ticketOut(t, false))
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request, userID string) {
	p, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := ticketStatusFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.App.Tickets(r.Context(), fetchsms.TicketFilter{UserID: userID, Status: st}, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]ticketJSON, 0, len(list))
	for _, t := range list {
		out = append(out, ticketOut(t, userID == ""))
	}
	setNext(w, next)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListTickets(w http.ResponseWriter, r *http.Request) {
	s.listTickets(w, r, principalOf(r).User.ID)
}

func (s *Server) handleAdminTickets(w http.ResponseWriter, r *http.Request) {
	s.listTickets(w, r, "")
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request, userID string) {
	id := s.pathID(w, r, "ticket")
	if id == "" {
		return
	}
	t, err := s.App.Ticket(r.Context(), userID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketOut(t, userID == ""))
}

func (s *Server) handleGetTicket(w http.ResponseWriter, r *http.Request) {
	s.showTicket(w, r, principalOf(r).User.ID)
}

func (s *Server) handleAdminTicket(w http.ResponseWriter, r *http.Request) {
	s.showTicket(w, r, "")
}

func (s *Server) replyTicket(w http.ResponseWriter, r *http.Request, staff bool) {
	id := s.pathID(w, r, "ticket")
	if id == "" {
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.App.AddTicketMessage(r.Context(), principalOf(r).User.ID, id, staff, body.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ticketMessageOut(m))
}

func (s *Server) handleTicketMessage(w http.ResponseWriter, r *http.Request) {
	s.replyTicket(w, r, false)
}

func (s *Server) handleAdminTicketReply(w http.ResponseWriter, r *http.Request) {
	s.replyTicket(w, r, true)
}

func (s *Server) handleAdminCloseTicket(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "ticket")
	if id == "" {
		return
	}
	t, err := s.App.CloseTicket(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketOut(t, true))
}
