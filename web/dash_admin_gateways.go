package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The admin console's gateway page (health, traffic, token rotation, disable
// and enable) and the pool's device slots.

// recentPerGateway is how many of its last messages the gateway page shows
// under each gateway.
const recentPerGateway = 3

type adminGatewaysView struct {
	Gateways []*gatewayRow
	Secret   *secretView
	Warning  string                 // above the secret: what the change just stopped
	Silence  time.Duration          // the silence limit; 0: off
	Reports  map[string]*reportLine // by gateway id: reports of its numbers
}

// gatewayRow is one gateway on the page, with its last messages.
type gatewayRow struct {
	*fetchsms.GatewayHealth
	Recent []*fetchsms.InboundLogEntry
}

func (s *Server) adminGatewaysPage(w http.ResponseWriter, r *http.Request, p *pageData, status int, v *adminGatewaysView) {
	gws, err := s.App.GatewaysHealth(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Silence = s.App.GatewaySilence()
	if _, v.Reports, _, err = s.reportLines(r); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for _, g := range gws {
		row := &gatewayRow{GatewayHealth: g}
		if row.Recent, err = s.App.RecentGatewayMessages(r.Context(), g.ID, recentPerGateway); err != nil {
			s.pageError(w, r, p, err)
			return
		}
		v.Gateways = append(v.Gateways, row)
	}
	p.Title, p.Data = "Gateways", v
	s.render(w, r, status, "admin_gateways", p)
}

func (s *Server) adminGateways(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.adminGatewaysPage(w, r, p, http.StatusOK, &adminGatewaysView{})
}

// gatewayTokenNote is how a token shown once is to be used.
const gatewayTokenNote = "Give it to the gateway as Authorization: Bearer on POST /v1/inbound/sms and POST /v1/inbound/heartbeat. It is shown only once."

func (s *Server) adminCreateGateway(w http.ResponseWriter, r *http.Request, p *pageData) {
	g, err := s.App.CreateGateway(r.Context(), strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		redirectErr(w, r, "/admin/gateways", err)
		return
	}
	s.adminGatewaysPage(w, r, p, http.StatusCreated, &adminGatewaysView{Secret: &secretView{Title: "Token for gateway “" + g.Name + "”", Value: g.Token, Note: gatewayTokenNote}})
}

// adminRotateGateway gives a gateway a new token, shown once on the page.
func (s *Server) adminRotateGateway(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "gateway")
	if id == "" {
		return
	}
	g, err := s.App.RotateGatewayToken(r.Context(), id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.adminGatewaysPage(w, r, p, http.StatusCreated, &adminGatewaysView{
		Warning: "The old token of " + g.Name + " stopped working just now: the gateway is refused until it is given this new one.",
		Secret:  &secretView{Title: "New token for gateway “" + g.Name + "”", Value: g.Token, Note: gatewayTokenNote}})
}

// adminSetGatewayDisabled disables or enables a gateway.
func (s *Server) adminSetGatewayDisabled(disabled bool) dashPage {
	return func(w http.ResponseWriter, r *http.Request, p *pageData) {
		id := s.dashID(w, r, p, "id", "gateway")
		if id == "" {
			return
		}
		g, err := s.App.SetGatewayDisabled(r.Context(), id, disabled)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		var msg string
		switch {
		case disabled:
			msg = g.Name + " is disabled: its token is refused, its numbers are off sale and the verifications waiting on them are refunded."
		case g.WithdrawnAt.IsZero():
			msg = g.Name + " is enabled: its numbers are on sale again."
		default:
			msg = g.Name + " is enabled, but it has not been heard from for too long: its numbers return to sale with its next message or heartbeat."
		}
		redirect(w, r, "/admin/gateways", msg)
	}
}

// adminSetNumberDevice ties a pool number to a device's SIM slot, or (both
// fields empty) unties it.
func (s *Server) adminSetNumberDevice(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "number")
	if id == "" {
		return
	}
	back := "/admin/numbers"
	if c := cursorOf(r).Cursor; c > 0 {
		back += "?cursor=" + strconv.FormatInt(c, 10)
	}
	slot := 0
	if v := strings.TrimSpace(r.PostFormValue("sim_slot")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			redirectErr(w, r, back, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "The SIM slot is a number from 1 to 512."))
			return
		}
		slot = n
	}
	n, err := s.App.SetNumberDevice(r.Context(), id, r.PostFormValue("device_id"), slot)
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	msg := fetchsms.FormatUS(n.E164) + " is tied to no device now."
	if n.DeviceID != "" {
		msg = fetchsms.FormatUS(n.E164) + " is in slot " + strconv.Itoa(n.SimSlot) + " of device " + n.DeviceID + "."
	}
	redirect(w, r, back, msg)
}
