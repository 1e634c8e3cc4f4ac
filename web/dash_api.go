package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

// secretView is a secret shown once, right after it was made.
type secretView struct {
	Title string // what it is
	Value string
	Note  string
}

type apiView struct {
	Keys      []*fetchsms.APIKey
	Endpoints []*fetchsms.WebhookEndpoint
	Events    []string
	Secret    *secretView
	BaseURL   string
}

// dashAPIPage renders the API page, with a secret just made when there is one.
func (s *Server) dashAPIPage(w http.ResponseWriter, r *http.Request, p *pageData, status int, secret *secretView) {
	v := &apiView{Events: fetchsms.EventTypes, Secret: secret, BaseURL: baseURL(r) + "/v1"}
	var err error
	if v.Keys, err = s.App.ListAPIKeys(r.Context(), p.User.ID); err == nil {
		v.Endpoints, err = s.App.Endpoints(r.Context(), p.User.ID)
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "API & webhooks", v
	s.render(w, r, status, "api", p)
}

func (s *Server) dashAPI(w http.ResponseWriter, r *http.Request, p *pageData) {
	var shown *secretView
	if r.Method == http.MethodGet {
		shown = s.takeShown(w, r, p.User.ID, "/dashboard/api")
	}
	s.dashAPIPage(w, r, p, http.StatusOK, shown)
}

// The answers that make a new secret redirect to the API page, which shows it
// once (dash_shown.go). A failed form is shown again with what was typed.

func (s *Server) dashCreateKey(w http.ResponseWriter, r *http.Request, p *pageData) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		s.again(w, r, p, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Give the key a name (1–100 characters), such as \"production\"."), s.dashAPI)
		return
	}
	k, err := s.App.CreateAPIKey(r.Context(), p.User.ID, name)
	if err != nil {
		s.again(w, r, p, err, s.dashAPI)
		return
	}
	s.showOnce(w, r, p.User.ID, "/dashboard/api", &secretView{Title: "API key “" + k.Name + "”", Value: k.Key,
		Note: "Copy it now and keep it in your secrets manager: it is shown only once."})
}

func (s *Server) dashRotateKey(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "API key")
	if id == "" {
		return
	}
	k, err := s.App.RotateAPIKey(r.Context(), p.User.ID, id)
	if err != nil {
		redirectErr(w, r, "/dashboard/api", err)
		return
	}
	s.showOnce(w, r, p.User.ID, "/dashboard/api", &secretView{Title: "New secret for “" + k.Name + "”", Value: k.Key,
		Note: "The old secret stopped working just now. This one is shown only once."})
}

func (s *Server) dashRevokeKey(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "API key")
	if id == "" {
		return
	}
	if err := s.App.RevokeAPIKey(r.Context(), p.User.ID, id); err != nil {
		redirectErr(w, r, "/dashboard/api", err)
		return
	}
	redirect(w, r, "/dashboard/api", "Key revoked. Requests with it are refused from now on.")
}

func (s *Server) dashCreateWebhook(w http.ResponseWriter, r *http.Request, p *pageData) {
	url := strings.TrimSpace(r.PostFormValue("url"))
	events := r.PostForm["events"]
	if url == "" {
		s.again(w, r, p, fetchsms.Errorf(fetchsms.EINVALID, "Enter the URL that should receive events."), s.dashAPI)
		return
	}
	if len(events) == len(fetchsms.EventTypes) {
		events = nil // all events, including ones added later
	}
	if err := fetchsms.ValidateEvents(events); err != nil {
		s.again(w, r, p, err, s.dashAPI)
		return
	}
	if err := s.Guard.CheckURL(r.Context(), url); err != nil {
		s.again(w, r, p, err, s.dashAPI)
		return
	}
	e, err := s.App.CreateEndpoint(r.Context(), p.User.ID, url, events)
	if err != nil {
		s.again(w, r, p, err, s.dashAPI)
		return
	}
	s.showOnce(w, r, p.User.ID, "/dashboard/api", &secretView{Title: "Signing secret for " + e.URL, Value: e.Secret,
		Note: "Verify webhook-signature with any Standard Webhooks library, or X-FetchSMS-Signature (hex HMAC-SHA256 of the raw body), with it. It is shown only once."})
}

// dashRotateWebhookSecret gives an endpoint a new secret, the old one signing
// beside it for the default overlap (a day), and shows the new one once.
func (s *Server) dashRotateWebhookSecret(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "webhook endpoint")
	if id == "" {
		return
	}
	overlap := fetchsms.DefaultSecretOverlap
	if v := r.PostFormValue("overlap"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > fetchsms.MaxSecretOverlap {
			redirectErr(w, r, "/dashboard/api", fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "choose how long the old secret keeps signing: from now up to 7 days"))
			return
		}
		overlap = time.Duration(n) * time.Second
	}
	e, until, err := s.App.RotateEndpointSecret(r.Context(), p.User.ID, id, overlap)
	if err != nil {
		redirectErr(w, r, "/dashboard/api", err)
		return
	}
	note := "The previous secret stopped signing now: deliveries are signed with this one only. Shown only once."
	if !until.IsZero() {
		note = "Until " + until.Format("2006-01-02 15:04 UTC") + " deliveries are signed with this secret and the previous one (webhook-signature carries both; X-FetchSMS-Signature-Previous the old one): switch your receiver within that time. Shown only once."
	}
	s.showOnce(w, r, p.User.ID, "/dashboard/api", &secretView{Title: "New signing secret for " + e.URL, Value: e.Secret, Note: note})
}

func (s *Server) webhookAction(w http.ResponseWriter, r *http.Request, p *pageData, act func(id string) (string, error)) {
	id := s.dashID(w, r, p, "id", "webhook endpoint")
	if id == "" {
		return
	}
	back := safeNext(r.PostFormValue("back"))
	if r.PostFormValue("back") == "" {
		back = "/dashboard/api"
	}
	msg, err := act(id)
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, msg)
}

func (s *Server) dashDeleteWebhook(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.webhookAction(w, r, p, func(id string) (string, error) {
		return "Endpoint deleted.", s.App.DeleteEndpoint(r.Context(), p.User.ID, id)
	})
}

func (s *Server) dashTestWebhook(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.webhookAction(w, r, p, func(id string) (string, error) {
		if err := s.webhookSendErr(nil, p.User.ID); err != nil {
			return "", err
		}
		_, err := s.App.SendTestEvent(r.Context(), p.User.ID, id)
		return "Test event queued: it appears in the delivery log in a moment.", err
	})
}

func (s *Server) dashEnableWebhook(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.webhookAction(w, r, p, func(id string) (string, error) {
		_, err := s.App.EnableEndpoint(r.Context(), p.User.ID, id)
		return "Endpoint enabled.", err
	})
}

func (s *Server) dashRedeliver(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.webhookAction(w, r, p, func(id string) (string, error) {
		did := r.PathValue("delivery")
		if _, err := uuid.Parse(did); err != nil {
			return "", fetchsms.Errorf(fetchsms.ENOTFOUND, "delivery not found")
		}
		if err := s.webhookSendErr(nil, p.User.ID); err != nil {
			return "", err
		}
		return "Delivery queued again.", s.App.Redeliver(r.Context(), p.User.ID, id, did)
	})
}

type webhookView struct {
	Endpoint   *fetchsms.WebhookEndpoint
	Deliveries []*fetchsms.Delivery
	Next       int64
}

func (s *Server) dashWebhook(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "webhook endpoint")
	if id == "" {
		return
	}
	v := &webhookView{}
	var err error
	if v.Endpoint, err = s.App.Endpoint(r.Context(), p.User.ID, id); err == nil {
		v.Deliveries, v.Next, err = s.App.EndpointDeliveries(r.Context(), p.User.ID, id, cursorOf(r))
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Webhook deliveries", v
	s.render(w, r, http.StatusOK, "webhook", p)
}
