package web

import (
	"net/http"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

type supportView struct {
	Tickets       []*fetchsms.Ticket
	Next          int64
	Verifications []*fetchsms.Verification
	Rentals       []*fetchsms.Rental
	About         string // preselected "v:<id>" or "r:<id>"
	Status        string // the staff queue's filter
}

func (s *Server) dashSupport(w http.ResponseWriter, r *http.Request, p *pageData) {
	ctx := r.Context()
	v := &supportView{About: r.URL.Query().Get("about")}
	if p.Form != nil {
		v.About = p.Form.Get("about")
	}
	var err error
	if v.Tickets, v.Next, err = s.App.Tickets(ctx, fetchsms.TicketFilter{UserID: p.User.ID}, cursorOf(r)); err == nil {
		if v.Verifications, _, err = s.App.ListVerifications(ctx, p.User.ID, true, fetchsms.Page{Limit: 20}); err == nil {
			var active []*fetchsms.Verification
			if active, _, err = s.App.ListVerifications(ctx, p.User.ID, false, fetchsms.Page{Limit: 20}); err == nil {
				v.Verifications = append(active, v.Verifications...)
				var ra, rh []*fetchsms.Rental
				if ra, _, err = s.App.ListRentals(ctx, p.User.ID, false, fetchsms.Page{Limit: 20}); err == nil {
					rh, _, err = s.App.ListRentals(ctx, p.User.ID, true, fetchsms.Page{Limit: 20})
					v.Rentals = append(ra, rh...)
				}
			}
		}
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Support", v
	s.render(w, r, http.StatusOK, "support", p)
}

func (s *Server) dashCreateTicket(w http.ResponseWriter, r *http.Request, p *pageData) {
	req := fetchsms.TicketRequest{Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body")}
	about := r.PostFormValue("about")
	switch {
	case strings.HasPrefix(about, "v:"):
		req.VerificationID = strings.TrimPrefix(about, "v:")
	case strings.HasPrefix(about, "r:"):
		req.RentalID = strings.TrimPrefix(about, "r:")
	}
	var err error
	if req.VerificationID, err = optionalID(&req.VerificationID, "verification"); err == nil {
		req.RentalID, err = optionalID(&req.RentalID, "rental")
	}
	var t *fetchsms.Ticket
	if err == nil {
		t, err = s.App.CreateTicket(r.Context(), p.User.ID, req)
	}
	if err != nil {
		s.again(w, r, p, err, s.dashSupport)
		return
	}
	redirect(w, r, "/dashboard/support/"+t.ID, "Thanks — we have your request and usually answer within a few hours.")
}

type ticketView struct {
	Ticket *fetchsms.Ticket
	Staff  bool // the staff console's view
	Back   string
}

func (s *Server) showTicketPage(w http.ResponseWriter, r *http.Request, p *pageData, staff bool) {
	id := s.dashID(w, r, p, "id", "ticket")
	if id == "" {
		return
	}
	owner := p.User.ID
	back := "/dashboard/support"
	if staff {
		owner, back = "", "/admin/support"
	}
	t, err := s.App.Ticket(r.Context(), owner, id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = t.Subject, &ticketView{Ticket: t, Staff: staff, Back: back}
	s.render(w, r, http.StatusOK, "ticket", p)
}

func (s *Server) dashTicket(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.showTicketPage(w, r, p, false)
}

func (s *Server) dashTicketReply(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.ticketReply(w, r, p, false)
}

func (s *Server) ticketReply(w http.ResponseWriter, r *http.Request, p *pageData, staff bool) {
	id := s.dashID(w, r, p, "id", "ticket")
	if id == "" {
		return
	}
	back := "/dashboard/support/" + id
	if staff {
		back = "/admin/support/" + id
	}
	if _, err := s.App.AddTicketMessage(r.Context(), p.User.ID, id, staff, r.PostFormValue("body")); err != nil {
		if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
			s.pageError(w, r, p, err)
			return
		}
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, "Reply sent.")
}
