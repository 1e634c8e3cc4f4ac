package web

import (
	"net/http"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

type verificationJSON struct {
	ID          string         `json:"id"`
	Ref         string         `json:"ref"`
	Service     string         `json:"service"`
	ServiceName string         `json:"service_name"`
	Number      string         `json:"number"`
	NumberE164  string         `json:"number_e164"`
	Code        *string        `json:"code"`
	Codes       []string       `json:"codes"`
	Link        *string        `json:"link"`
	Status      string         `json:"status"`
	CostCents   fetchsms.Cents `json:"cost_cents"`
	CreatedAt   *string        `json:"created_at"`
	ExpiresAt   *string        `json:"expires_at"`
}

func verificationOut(v *fetchsms.Verification) verificationJSON {
	return verificationJSON{ID: v.ID, Ref: v.Ref, Service: v.ServiceSlug, ServiceName: v.ServiceName, Number: fetchsms.FormatUS(v.Number), NumberE164: v.Number,
		Code: strOrNil(v.Code), Codes: codesOf(v), Link: strOrNil(v.Link), Status: v.Status, CostCents: v.CostCents, CreatedAt: ts(v.CreatedAt), ExpiresAt: ts(v.ExpiresAt)}
}

// codesOf is a verification's codes, oldest first: [] (never null) before the first.
func codesOf(v *fetchsms.Verification) []string {
	if v.Codes == nil {
		return []string{}
	}
	return v.Codes
}

type rentalJSON struct {
	ID           string         `json:"id"`
	Ref          string         `json:"ref"`
	Service      string         `json:"service"`
	ServiceName  string         `json:"service_name"`
	Number       string         `json:"number"`
	NumberE164   string         `json:"number_e164"`
	DurationDays int            `json:"duration_days"`
	ExtendedDays int            `json:"extended_days"`
	LastCode     *string        `json:"last_code"`
	Status       string         `json:"status"`
	CostCents    fetchsms.Cents `json:"cost_cents"`
	CreatedAt    *string        `json:"created_at"`
	ExpiresAt    *string        `json:"expires_at"`
}

func rentalOut(x *fetchsms.Rental) rentalJSON {
	return rentalJSON{ID: x.ID, Ref: x.Ref, Service: x.ServiceSlug, ServiceName: x.ServiceName, Number: fetchsms.FormatUS(x.Number), NumberE164: x.Number,
		DurationDays: x.DurationDays, ExtendedDays: x.ExtendedDays, LastCode: strOrNil(x.LastCode), Status: x.Status, CostCents: x.CostCents, CreatedAt: ts(x.CreatedAt), ExpiresAt: ts(x.ExpiresAt)}
}

type messageJSON struct {
	ID         string  `json:"id"`
	Sender     string  `json:"sender"`
	Body       string  `json:"body"`
	Code       *string `json:"code"`
	Link       *string `json:"link"`
	ReceivedAt *string `json:"received_at"`
}

// pathID returns the {id} path value when it is a UUID; otherwise it answers 404
// with what, and returns "".
func (s *Server) pathID(w http.ResponseWriter, r *http.Request, what string) string {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ENOTFOUND, "%s not found", what))
		return ""
	}
	return id
}

func tab(w http.ResponseWriter, r *http.Request, s *Server) (string, bool) {
	t := r.URL.Query().Get("tab")
	if t == "" {
		t = "active"
	}
	if t != "active" && t != "history" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "tab must be \"active\" or \"history\""))
		return "", false
	}
	return t, true
}

func (s *Server) handleCreateVerification(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Service  serviceRef `json:"service"`
		AreaCode *string    `json:"area_code"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	req := fetchsms.VerificationRequest{Service: string(body.Service)}
	if body.AreaCode != nil {
		req.AreaCode = *body.AreaCode
	}
	v, err := s.App.CreateVerification(r.Context(), principalOf(r).User.ID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, verificationAnswer{v})
}

func (s *Server) handleGetVerification(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "verification")
	if id == "" {
		return
	}
	wait, err := waitParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID := principalOf(r).User.ID
	s.await(w, r, id, wait, func(w http.ResponseWriter, r *http.Request, final bool) (bool, time.Duration) {
		v, err := s.App.Verification(r.Context(), userID, id)
		if err != nil {
			s.writeError(w, r, err)
			return true, 0
		}
		if v.Status == fetchsms.StatusWaiting && !final {
			return false, s.App.Until(v.ExpiresAt)
		}
		writeJSON(w, http.StatusOK, verificationAnswer{v})
		return true, 0
	})
}

func (s *Server) handleListVerifications(w http.ResponseWriter, r *http.Request) {
	t, ok := tab(w, r, s)
	if !ok {
		return
	}
	userID := principalOf(r).User.ID
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.Verification, int64, error) {
		return s.App.ListVerifications(r.Context(), userID, t == "history", p)
	}, verificationOut)
}

func (s *Server) handleCancelVerification(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "verification")
	if id == "" {
		return
	}
	v, err := s.App.CancelVerification(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, verificationAnswer{v})
}

// handleResendVerification asks for another code on the same number (no charge).
func (s *Server) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "verification")
	if id == "" {
		return
	}
	v, err := s.App.ResendVerification(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, verificationAnswer{v})
}

func (s *Server) handleCreateRental(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Service  serviceRef `json:"service"`
		Days     intField   `json:"days"`
		AreaCode *string    `json:"area_code"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if body.Service == "" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "service is required: use 1 (unlimited-services)"))
		return
	}
	if !body.Days.Set {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "days is required: 1, 7, 30, 90 or 365"))
		return
	}
	if body.Days.Value < 1 || body.Days.Value > 365 || !fetchsms.ValidRentalTerm(int(body.Days.Value)) {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "unsupported duration %d: days must be one of 1, 7, 30, 90, 365", body.Days.Value))
		return
	}
	req := fetchsms.RentalRequest{Service: string(body.Service), Days: int(body.Days.Value)}
	if body.AreaCode != nil {
		req.AreaCode = *body.AreaCode
	}
	rental, err := s.App.CreateRental(r.Context(), principalOf(r).User.ID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rentalAnswer{rental})
}

func (s *Server) handleGetRental(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "rental")
	if id == "" {
		return
	}
	x, err := s.App.Rental(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rentalAnswer{x})
}

func (s *Server) handleListRentals(w http.ResponseWriter, r *http.Request) {
	t, ok := tab(w, r, s)
	if !ok {
		return
	}
	userID := principalOf(r).User.ID
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
		return s.App.ListRentals(r.Context(), userID, t == "history", p)
	}, rentalOut)
}

func (s *Server) handleRentalMessages(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "rental")
	if id == "" {
		return
	}
	userID := principalOf(r).User.ID
	wait, err := waitParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Wait until the newest message is not ?after= (or there is one), or the
	// rental ends, or the wait runs out; then answer the page as usual.
	after := r.URL.Query().Get("after")
	s.await(w, r, id, wait, func(w http.ResponseWriter, r *http.Request, final bool) (bool, time.Duration) {
		if !final {
			ms, _, err := s.App.RentalMessages(r.Context(), userID, id, fetchsms.Page{Limit: 1})
			if err != nil {
				s.writeError(w, r, err)
				return true, 0
			}
			if len(ms) == 0 || ms[0].ID == after {
				x, err := s.App.Rental(r.Context(), userID, id)
				if err != nil {
					s.writeError(w, r, err)
					return true, 0
				}
				if x.Status == fetchsms.StatusWaiting || x.Status == fetchsms.StatusReceived {
					return false, s.App.Until(x.ExpiresAt)
				}
			}
		}
		writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
			return s.App.RentalMessages(r.Context(), userID, id, p)
		},
			func(m *fetchsms.Message) messageJSON {
				return messageJSON{ID: m.ID, Sender: m.Sender, Body: m.Body, Code: strOrNil(m.Code), Link: strOrNil(m.Link), ReceivedAt: ts(m.ReceivedAt)}
			})
		return true, 0
	})
}

// handleExtendRental adds days to a live rental at the long-term price.
func (s *Server) handleExtendRental(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "rental")
	if id == "" {
		return
	}
	var body struct {
		Days intField `json:"days"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if !body.Days.Set {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "days is required: 1, 7, 30, 90 or 365"))
		return
	}
	days := int(max(-1, min(body.Days.Value, 1000))) // the App says which terms are sold
	x, err := s.App.ExtendRental(r.Context(), principalOf(r).User.ID, id, days)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rentalAnswer{x})
}

func (s *Server) handleCancelRental(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "rental")
	if id == "" {
		return
	}
	x, err := s.App.CancelRental(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rentalAnswer{x})
}
