package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

type endpointJSON struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Enabled        bool     `json:"enabled"`
	DisabledReason *string  `json:"disabled_reason"`
	Secret         string   `json:"secret,omitempty"`
	CreatedAt      *string  `json:"created_at"`
	// PreviousSecretExpiresAt: the end of the last secret rotation's overlap,
	// while deliveries are signed with the previous secret too; null otherwise.
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

func endpointOut(e *fetchsms.WebhookEndpoint, withSecret bool) endpointJSON {
	out := endpointJSON{ID: e.ID, URL: e.URL, Events: e.Events, Enabled: e.Enabled, DisabledReason: strOrNil(e.DisabledReason), CreatedAt: ts(e.CreatedAt),
		PreviousSecretExpiresAt: ts(e.PreviousUntil)}
	if len(out.Events) == 0 {
		out.Events = fetchsms.EventTypes
	}
	if withSecret {
		out.Secret = e.Secret
	}
	return out
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.App.Endpoints(r.Context(), principalOf(r).User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]endpointJSON, 0, len(list))
	for _, e := range list {
		out = append(out, endpointOut(e, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	body.URL = strings.TrimSpace(body.URL)
	if body.URL == "" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "url is required"))
		return
	}
	if err := fetchsms.ValidateEvents(body.Events); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Guard.CheckURL(r.Context(), body.URL); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.App.CreateEndpoint(r.Context(), principalOf(r).User.ID, body.URL, body.Events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, endpointOut(e, true))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	if err := s.App.DeleteEndpoint(r.Context(), principalOf(r).User.ID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleEnableWebhook(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	e, err := s.App.EnableEndpoint(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endpointOut(e, false))
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	if err := s.webhookSendErr(w, principalOf(r).User.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	did, err := s.App.SendTestEvent(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"delivery_id": did})
}

type attemptJSON struct {
	At         *string `json:"at"`
	StatusCode *int    `json:"status_code"`
	Error      *string `json:"error"`
	LatencyMS  int64   `json:"latency_ms"`
}

type deliveryJSON struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	Event         string          `json:"event"`
	Status        string          `json:"status"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      []attemptJSON   `json:"attempts"`
	NextAttemptAt *string         `json:"next_attempt_at"`
	DeliveredAt   *string         `json:"delivered_at"`
	CreatedAt     *string         `json:"created_at"`
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	p, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.App.EndpointDeliveries(r.Context(), principalOf(r).User.ID, id, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]deliveryJSON, 0, len(list))
	for _, d := range list {
		dj := deliveryJSON{ID: d.ID, EventID: d.EventID, Event: d.EventType, Status: d.Status, Payload: d.Payload,
			Attempts: []attemptJSON{}, DeliveredAt: ts(d.DeliveredAt), CreatedAt: ts(d.CreatedAt)}
		if d.Status == fetchsms.DeliveryPending {
			dj.NextAttemptAt = ts(d.NextAttemptAt)
		}
		for _, a := range d.History {
			aj := attemptJSON{At: ts(a.At), Error: strOrNil(a.Error), LatencyMS: a.Latency.Milliseconds()}
			if a.StatusCode != 0 {
				c := a.StatusCode
				aj.StatusCode = &c
			}
			dj.Attempts = append(dj.Attempts, aj)
		}
		out = append(out, dj)
	}
	setNext(w, next)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	did := r.PathValue("delivery")
	if _, err := uuid.Parse(did); err != nil {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ENOTFOUND, "delivery not found"))
		return
	}
	if err := s.webhookSendErr(w, principalOf(r).User.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.App.Redeliver(r.Context(), principalOf(r).User.ID, id, did); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"delivery_id": did})
}

// handleRotateWebhookSecret gives an endpoint a new secret, shown once; for
// overlap_seconds (default a day, at most 7 days, 0 for none) deliveries are
// signed with the previous secret too (README, Rotating a secret).
func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "webhook endpoint")
	if id == "" {
		return
	}
	var body struct {
		OverlapSeconds *int64 `json:"overlap_seconds"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	overlap := fetchsms.DefaultSecretOverlap
	if body.OverlapSeconds != nil {
		n := *body.OverlapSeconds
		if n < 0 || n > int64(fetchsms.MaxSecretOverlap/time.Second) {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "overlap_seconds must be between 0 and %d (7 days)", int64(fetchsms.MaxSecretOverlap/time.Second)))
			return
		}
		overlap = time.Duration(n) * time.Second
	}
	e, until, err := s.App.RotateEndpointSecret(r.Context(), principalOf(r).User.ID, id, overlap)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := endpointOut(e, true)
	out.PreviousSecretExpiresAt = ts(until) // when the previous secret stopped, for overlap 0
	writeJSON(w, http.StatusOK, out)
}
