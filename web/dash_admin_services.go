package web

import (
	"net/http"
	"strconv"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

type adminServicesView struct {
	Services []*fetchsms.Service
}

func (s *Server) adminServices(w http.ResponseWriter, r *http.Request, p *pageData) {
	list, err := s.App.AllServices(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Services", &adminServicesView{Services: list}
	s.render(w, r, http.StatusOK, "admin_services", p)
}

// serviceID reads the {id} of a service page: a positive integer, else not found.
func (s *Server) serviceID(w http.ResponseWriter, r *http.Request, p *pageData) int {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.pageError(w, r, p, fetchsms.Errorf(fetchsms.ENOTFOUND, "service not found"))
		return 0
	}
	return id
}

func (s *Server) adminService(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.serviceID(w, r, p)
	if id == 0 {
		return
	}
	svc, err := s.App.ServiceByID(r.Context(), id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = svc.Name, svc
	s.render(w, r, http.StatusOK, "admin_service", p)
}

// splitRules reads a senders or keywords textarea: comma- or newline-separated,
// trimmed, empties and repeats dropped. Keywords are matched in lower case.
func splitRules(v string, lower bool) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == ',' || c == '\r' }) {
		if f = strings.TrimSpace(f); lower {
			f = strings.ToLower(f)
		}
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// formActivationCode reads the SMS-Activate code field: trimmed, lower case ("" for none).
func formActivationCode(r *http.Request) string {
	return strings.ToLower(strings.TrimSpace(r.PostFormValue("activation_code")))
}

// formPrice reads the price field in dollars (0.00 to 1000.00).
func formPrice(r *http.Request) (fetchsms.Cents, error) {
	c, ok := parseDollars(r.PostFormValue("price"))
	if !ok || c < 0 || c > 100_000 {
		return 0, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Enter a price in dollars from 0.00 to 1000.00 (for example 0.35).")
	}
	return c, nil
}

func (s *Server) adminCreateService(w http.ResponseWriter, r *http.Request, p *pageData) {
	price, err := formPrice(r)
	if err != nil {
		redirectErr(w, r, "/admin/services", err)
		return
	}
	svc := fetchsms.Service{Slug: strings.TrimSpace(r.PostFormValue("slug")), Name: strings.TrimSpace(r.PostFormValue("name")), PriceCents: price,
		Enabled: r.PostFormValue("enabled") != "", Senders: splitRules(r.PostFormValue("senders"), false), Keywords: splitRules(r.PostFormValue("keywords"), true),
		ActivationCode: formActivationCode(r)}
	created, err := s.App.CreateService(r.Context(), svc)
	if err != nil {
		redirectErr(w, r, "/admin/services", err)
		return
	}
	state := "enabled"
	if !created.Enabled {
		state = "disabled"
	}
	redirect(w, r, "/admin/services", "Added "+created.Name+" at "+dollarsText(created.PriceCents)+", "+state+".")
}

func (s *Server) adminUpdateService(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.serviceID(w, r, p)
	if id == 0 {
		return
	}
	back := "/admin/services/" + strconv.Itoa(id)
	price, err := formPrice(r)
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	enabled := r.PostFormValue("enabled") != ""
	senders, keywords := splitRules(r.PostFormValue("senders"), false), splitRules(r.PostFormValue("keywords"), true)
	u := fetchsms.ServiceUpdate{Name: &name, PriceCents: &price, Enabled: &enabled, Senders: &senders, Keywords: &keywords}
	if _, sent := r.PostForm["activation_code"]; sent {
		code := formActivationCode(r)
		u.ActivationCode = &code
	}
	updated, err := s.App.UpdateService(r.Context(), id, u)
	if err != nil {
		if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
			s.pageError(w, r, p, err)
			return
		}
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, "/admin/services", "Saved "+updated.Name+": "+dollarsText(updated.PriceCents)+".")
}

type adminInboundView struct {
	View      string // "" (the stored messages) or "unmatched"
	Messages  []*fetchsms.InboundLogEntry
	Unmatched []*fetchsms.UnmatchedMessage
	Next      int64
}

func (s *Server) adminInbound(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &adminInboundView{}
	page := fetchsms.Page{Limit: 50, Cursor: cursorOf(r).Cursor}
	var err error
	if r.URL.Query().Get("view") == "unmatched" {
		v.View = "unmatched"
		v.Unmatched, v.Next, err = s.App.ListUnmatchedMessages(r.Context(), page)
	} else {
		v.Messages, v.Next, err = s.App.ListInboundMessages(r.Context(), page)
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Inbound SMS", v
	s.render(w, r, http.StatusOK, "admin_inbound", p)
}

func (s *Server) adminSetNumberStatus(status string) dashPage {
	return func(w http.ResponseWriter, r *http.Request, p *pageData) {
		id := s.dashID(w, r, p, "id", "number")
		if id == "" {
			return
		}
		if err := s.App.SetNumberStatus(r.Context(), id, status); err != nil {
			s.pageError(w, r, p, err)
			return
		}
		num := strings.TrimSpace(r.PostFormValue("number"))
		if num == "" {
			num = "The number"
		} else {
			num = fetchsms.FormatUS(num)
		}
		msg := num + " is on sale again."
		if status == fetchsms.NumberDisabled {
			msg = num + " is disabled: it is not sold again (a purchase holding it runs to its end)."
		}
		back := "/admin/numbers"
		if c := cursorOf(r).Cursor; c > 0 {
			back += "?cursor=" + strconv.FormatInt(c, 10)
		}
		redirect(w, r, back, msg)
	}
}
