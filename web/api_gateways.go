package web

import (
	"encoding/json"
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
)

// handleGatewayHeartbeat notes that the gateway is alive: gateway software
// pings it between messages so that its numbers stay on sale (health.go). The
// body, if any, is not read.
func (s *Server) handleGatewayHeartbeat(w http.ResponseWriter, r *http.Request) {
	if err := s.App.GatewayHeartbeat(r.Context(), principalOf(r).Gateway.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// poolNumberJSON is a pool number as the admin API shows it.
type poolNumberJSON struct {
	ID        string  `json:"id"`
	Number    string  `json:"number"`
	GatewayID string  `json:"gateway_id"`
	Gateway   string  `json:"gateway"`
	Status    string  `json:"status"`    // active or disabled (by an admin)
	Withdrawn bool    `json:"withdrawn"` // its gateway is silent or disabled
	DeviceID  *string `json:"device_id"`
	SimSlot   *int    `json:"sim_slot"`
	CreatedAt *string `json:"created_at"`
}

func poolNumberOut(n *fetchsms.PoolNumber) poolNumberJSON {
	out := poolNumberJSON{ID: n.ID, Number: n.E164, GatewayID: n.GatewayID, Gateway: n.GatewayName, Status: n.Status, Withdrawn: n.Withdrawn,
		DeviceID: strOrNil(n.DeviceID), CreatedAt: ts(n.CreatedAt)}
	if n.DeviceID != "" {
		slot := n.SimSlot
		out.SimSlot = &slot
	}
	return out
}

// handleAdminNumbers lists the pool newest first, a page at a time: where each
// number lives and whether it is withdrawn with its gateway. ?q= keeps the
// numbers whose digits hold its digits.
func (s *Server) handleAdminNumbers(w http.ResponseWriter, r *http.Request) {
	q, err := fetchsms.AdminSearch(r.URL.Query().Get("q"), true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.PoolNumber, int64, error) {
		p.Query = q
		return s.App.ListNumbers(r.Context(), p)
	}, poolNumberOut)
}

// handleAdminNumberDevice sets or clears where a pool number lives on its
// gateway: {"device_id": "…", "sim_slot": 1}, or {"device_id": null} to clear.
func (s *Server) handleAdminNumberDevice(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "number")
	if id == "" {
		return
	}
	var body struct {
		DeviceID json.RawMessage `json:"device_id"`
		SimSlot  intField        `json:"sim_slot"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	var device string
	if body.DeviceID == nil || (string(body.DeviceID) != "null" && json.Unmarshal(body.DeviceID, &device) != nil) {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "device_id is required: a string with sim_slot 1–512, or null (or \"\") to untie the number"))
		return
	}
	n, err := s.App.SetNumberDevice(r.Context(), id, device, int(body.SimSlot.Value))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, poolNumberOut(n))
}
