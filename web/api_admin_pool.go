package web

import (
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
)

type inboundLogJSON struct {
	ID              string  `json:"id"`
	ReceivedAt      *string `json:"received_at"`
	GatewayID       string  `json:"gateway_id"`
	Gateway         string  `json:"gateway"`
	To              string  `json:"to"`
	From            string  `json:"from"`
	Body            string  `json:"body"`
	ServiceID       *int    `json:"service_id"`
	Service         *string `json:"service"`
	Code            *string `json:"code"`
	Routed          string  `json:"routed"` // "verification", "rental" or "unrouted"
	VerificationID  *string `json:"verification_id"`
	VerificationRef *string `json:"verification_ref"`
	RentalID        *string `json:"rental_id"`
	RentalRef       *string `json:"rental_ref"`
	// Parts are the parts a long SMS was joined from (absent for a whole one).
	Parts []inboundPartJSON `json:"parts,omitempty"`
}

type inboundPartJSON struct {
	Index      int     `json:"index"`
	Count      int     `json:"count"`
	MessageID  string  `json:"message_id"` // the gateway's id of the part
	Body       string  `json:"body"`
	ReceivedAt *string `json:"received_at"`
}

func inboundLogOut(e *fetchsms.InboundLogEntry) inboundLogJSON {
	out := inboundLogJSON{ID: e.ID, ReceivedAt: ts(e.ReceivedAt), GatewayID: e.GatewayID, Gateway: e.GatewayName, To: e.To, From: e.Sender,
		Body: e.Body, Code: strOrNil(e.Code), Routed: "unrouted",
		VerificationID: strOrNil(e.VerificationID), VerificationRef: strOrNil(e.VerificationRef),
		RentalID: strOrNil(e.RentalID), RentalRef: strOrNil(e.RentalRef)}
	if e.ServiceID != 0 {
		id := e.ServiceID
		out.ServiceID, out.Service = &id, strOrNil(e.ServiceName)
	}
	switch {
	case e.VerificationID != "":
		out.Routed = "verification"
	case e.RentalID != "":
		out.Routed = "rental"
	}
	for _, p := range e.Parts {
		out.Parts = append(out.Parts, inboundPartJSON{Index: p.Index, Count: p.Count, MessageID: p.GatewayMsgID, Body: p.Body, ReceivedAt: ts(p.ReceivedAt)})
	}
	return out
}

// handleAdminInbound lists every stored inbound SMS, routed or not, newest first.
func (s *Server) handleAdminInbound(w http.ResponseWriter, r *http.Request) {
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.InboundLogEntry, int64, error) {
		return s.App.ListInboundMessages(r.Context(), p)
	}, inboundLogOut)
}

// handleAdminUnmatched lists the messages gateways sent for no number of
// theirs, newest first.
func (s *Server) handleAdminUnmatched(w http.ResponseWriter, r *http.Request) {
	writePage(s, w, r, func(p fetchsms.Page) ([]*fetchsms.UnmatchedMessage, int64, error) {
		return s.App.ListUnmatchedMessages(r.Context(), p)
	}, func(m *fetchsms.UnmatchedMessage) unmatchedJSON {
		return unmatchedJSON{GatewayID: m.GatewayID, GatewayName: m.GatewayName, MessageID: m.GatewayMsgID, To: strOrNil(m.To), DeviceID: strOrNil(m.DeviceID),
			SimSlot: m.SimSlot, From: m.Sender, Body: m.Body, ReceivedAt: ts(m.ReceivedAt), CreatedAt: ts(m.CreatedAt)}
	})
}

type unmatchedJSON struct {
	GatewayID   string  `json:"gateway_id"`
	GatewayName string  `json:"gateway_name"`
	MessageID   string  `json:"message_id"`
	To          *string `json:"to"`
	DeviceID    *string `json:"device_id"`
	SimSlot     int     `json:"sim_slot"`
	From        string  `json:"from"`
	Body        string  `json:"body"`
	ReceivedAt  *string `json:"received_at"`
	CreatedAt   *string `json:"created_at"`
}

// handleAdminNumberStatus disables or enables a pool number: a disabled number is
// never sold; one held stays held until its purchase ends.
func (s *Server) handleAdminNumberStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := s.pathID(w, r, "number")
		if id == "" {
			return
		}
		if err := s.App.SetNumberStatus(r.Context(), id, status); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": status})
	}
}
