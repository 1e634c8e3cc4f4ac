package web

import (
	"net/http"
	"strconv"

	fetchsms "github.com/fetchsms/fetchsms"
)

type adminServiceJSON struct {
	ID         int            `json:"id"`
	Slug       string         `json:"slug"`
	Name       string         `json:"name"`
	PriceCents fetchsms.Cents `json:"price_cents"`
	LongPrices longPrices     `json:"long_prices"`
	Enabled    bool           `json:"enabled"`
	Senders    []string       `json:"senders"`
	Keywords   []string       `json:"keywords"`
	// ActivationCode is the service's SMS-Activate code (null: none).
	ActivationCode *string `json:"activation_code"`
}

func adminServiceOut(s *fetchsms.Service) adminServiceJSON {
	out := adminServiceJSON{ID: s.ID, Slug: s.Slug, Name: s.Name, PriceCents: s.PriceCents, LongPrices: longPrices(s.LongPrices),
		Enabled: s.Enabled, Senders: s.Senders, Keywords: s.Keywords, ActivationCode: strOrNil(s.ActivationCode)}
	if out.LongPrices == nil {
		out.LongPrices = longPrices{}
	}
	if out.Senders == nil {
		out.Senders = []string{}
	}
	if out.Keywords == nil {
		out.Keywords = []string{}
	}
	return out
}

func (s *Server) handleAdminServices(w http.ResponseWriter, r *http.Request) {
	list, err := s.App.AllServices(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]adminServiceJSON, 0, len(list))
	for _, x := range list {
		out = append(out, adminServiceOut(x))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleAdminCreateService(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Slug       string   `json:"slug"`
		Name       string   `json:"name"`
		PriceCents intField `json:"price_cents"`
		Enabled    *bool    `json:"enabled"`
		Senders    []string `json:"senders"`
		Keywords   []string `json:"keywords"`
		// ActivationCode: the SMS-Activate code; absent, null or "" for none.
		ActivationCode *string `json:"activation_code"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	if body.Slug == "" || body.Name == "" || !body.PriceCents.Set {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "slug, name and price_cents are required"))
		return
	}
	svc := fetchsms.Service{Slug: body.Slug, Name: body.Name, PriceCents: fetchsms.Cents(body.PriceCents.Value), Enabled: true, Senders: body.Senders, Keywords: body.Keywords}
	if body.ActivationCode != nil {
		svc.ActivationCode = *body.ActivationCode
	}
	if body.Enabled != nil {
		svc.Enabled = *body.Enabled
	}
	created, err := s.App.CreateService(r.Context(), svc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, adminServiceOut(created))
}

func (s *Server) handleAdminUpdateService(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ENOTFOUND, "service not found"))
		return
	}
	var body struct {
		Name       *string   `json:"name"`
		PriceCents *intField `json:"price_cents"`
		Enabled    *bool     `json:"enabled"`
		Senders    *[]string `json:"senders"`
		Keywords   *[]string `json:"keywords"`
		// ActivationCode: a new SMS-Activate code, "" to remove it; absent or
		// null leaves it.
		ActivationCode *string `json:"activation_code"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	u := fetchsms.ServiceUpdate{Name: body.Name, Enabled: body.Enabled, Senders: body.Senders, Keywords: body.Keywords, ActivationCode: body.ActivationCode}
	if body.PriceCents != nil && body.PriceCents.Set {
		p := fetchsms.Cents(body.PriceCents.Value)
		u.PriceCents = &p
	}
	updated, err := s.App.UpdateService(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminServiceOut(updated))
}
