// Package web serves Fetch SMS over HTTP: the JSON API of the public document and
// the project contract. The whole route table is in routes().
package web

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/webhook"
)

// SandboxClock is the movable business clock of the sandbox.
type SandboxClock interface {
	fetchsms.Clock
	Advance(ctx context.Context, seconds int64) error
}

// Server holds what the handlers need. Build it, then serve Handler().
type Server struct {
	// App is the domain: every route calls it.
	App    *fetchsms.App
	Logger *slog.Logger
	// Sandbox enables the sandbox-only endpoints; Clock must then be its test clock.
	Sandbox bool
	Clock   SandboxClock
	// Guard checks webhook URLs at registration.
	Guard webhook.Guard
	// NoIPLimits lifts the per-IP limits (catalog, signup, login) for load tests
	// driven from one address. Per-key and per-account limits stay.
	NoIPLimits bool
	// TrustedProxies are the load balancers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (serve --trusted-proxies).
	TrustedProxies []netip.Prefix
	// PublicURL is how clients reach this server (serve --public-url): an
	// https one makes cookies Secure and answers carry HSTS.
	PublicURL *url.URL
	// StreamsPerAccount bounds one account's open event streams (GET
	// /v1/events); DefaultStreamsPerAccount when 0.
	StreamsPerAccount int
	// LinkBase starts the links of account mails (a password reset, an email
	// change): the public URL, or the address the server listens on. Never the
	// request's Host, which a client may forge to steal a reset token.
	LinkBase string
	// Observer hears every answered request (metrics); nil: none.
	Observer RequestObserver
	// Metrics serves GET /metrics (Prometheus); nil: 404. MetricsToken, when
	// set, is the bearer token it asks for.
	Metrics      http.Handler
	MetricsToken string
	// Listener, when the server serves on one, takes back the connections of
	// answered long-polls (park.go); without it they close after the answer.
	Listener *Listener
	// InboundConcurrency and InboundQueue size the inbound SMS routes'
	// admission gate (inbound_gate.go); the defaults when 0.
	InboundConcurrency int
	InboundQueue       int

	handler    http.Handler
	authLimits *authLimits
	limits     *limits
	inbound    *gate
	catalog    catalogCache
	auth       authCache
	waiters    waiters // requests waiting in their handlers (HTTP/2)
	lot        lot     // requests waiting without them (park.go)
	streams    streams
	closing    chan struct{} // closed by Closing: waiting requests answer now
	closeOnce  sync.Once
}

// Handler returns the HTTP handler with every route and middleware.
func (s *Server) Handler() http.Handler {
	if s.handler == nil {
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		if s.App != nil {
			s.App.Listen(s.hear)
		}
		s.closing = make(chan struct{})
		s.lot.s = s
		s.authLimits = newAuthLimits()
		s.limits = newLimits()
		s.inbound = newGate(cmp.Or(s.InboundConcurrency, DefaultInboundConcurrency), cmp.Or(s.InboundQueue, DefaultInboundQueue), InboundQueueWait)
		mux := http.NewServeMux()
		s.routes(mux)
		s.handler = s.observe(s.recoverer(securityHeaders(s.withClientInfo(jsonStatusErrors(noteRoute(mux))))))
	}
	return s.handler
}

// routes is the whole route table.
func (s *Server) routes(mux *http.ServeMux) {
	// Public catalog.
	mux.HandleFunc("GET /v1/services", s.perIP(s.handleServices))
	mux.HandleFunc("GET /v1/services/area-codes", s.perIP(s.handleAreaCodes))
	mux.HandleFunc("GET /v1/services/quote", s.perIP(s.handleQuote))

	// Verifications and rentals: API key or session.
	mux.Handle("POST /v1/verifications", s.customer(s.idempotent(http.StatusCreated, s.renderVerification, s.handleCreateVerification)))
	mux.Handle("GET /v1/verifications", s.customer(s.handleListVerifications))
	mux.Handle("GET /v1/verifications/{id}", s.customer(s.handleGetVerification))
	mux.Handle("POST /v1/verifications/{id}/cancel", s.customer(s.idempotent(http.StatusOK, s.renderVerification, s.handleCancelVerification)))
	mux.Handle("POST /v1/verifications/{id}/resend", s.customer(s.idempotent(http.StatusOK, s.renderVerification, s.handleResendVerification)))
	mux.Handle("POST /v1/verifications/{id}/report", s.customer(s.idempotent(http.StatusCreated, s.renderReport, s.handleReportVerification)))
	mux.Handle("POST /v1/rentals", s.customer(s.idempotent(http.StatusCreated, s.renderRental, s.handleCreateRental)))
	mux.Handle("GET /v1/rentals", s.customer(s.handleListRentals))
	mux.Handle("GET /v1/rentals/{id}", s.customer(s.handleGetRental))
	mux.Handle("GET /v1/rentals/{id}/messages", s.customer(s.handleRentalMessages))
	mux.Handle("GET /v1/events", s.customer(s.handleEvents))
	// The balance, read-only, for tools that check it before buying (API key too).
	mux.Handle("GET /v1/balance", s.customer(s.handleWallet))
	mux.Handle("POST /v1/rentals/{id}/cancel", s.customer(s.idempotent(http.StatusOK, s.renderRental, s.handleCancelRental)))
	mux.Handle("POST /v1/rentals/{id}/extend", s.customer(s.idempotent(http.StatusOK, s.renderRental, s.handleExtendRental)))

	// Accounts: sessions.
	mux.HandleFunc("POST /v1/auth/signup", s.handleSignup)
	mux.HandleFunc("POST /v1/auth/login", s.handleLogin)
	mux.Handle("POST /v1/auth/logout", s.session(s.handleLogout))
	mux.Handle("GET /v1/account", s.session(s.handleAccount))
	mux.Handle("GET /v1/api-keys", s.session(s.handleListAPIKeys))
	mux.Handle("POST /v1/api-keys", s.session(s.handleCreateAPIKey))
	mux.Handle("POST /v1/api-keys/{id}/rotate", s.session(s.handleRotateAPIKey))
	mux.Handle("DELETE /v1/api-keys/{id}", s.session(s.handleRevokeAPIKey))
	mux.Handle("GET /v1/wallet", s.session(s.handleWallet))
	mux.Handle("GET /v1/wallet/ledger", s.session(s.handleLedger))
	mux.Handle("POST /v1/wallet/deposits", s.session(s.handleDeposit))
	mux.Handle("GET /v1/wallet/deposits", s.session(s.handleListDeposits))
	mux.Handle("GET /v1/wallet/deposits/{id}", s.session(s.handleGetDeposit))
	// Payment providers' signed events (no credential: the signature is theirs).
	mux.HandleFunc("POST /v1/payments/{provider}/webhook", s.handlePaymentWebhook)

	// Webhook endpoints: sessions.
	mux.Handle("GET /v1/webhooks", s.session(s.handleListWebhooks))
	mux.Handle("POST /v1/webhooks", s.session(s.handleCreateWebhook))
	mux.Handle("DELETE /v1/webhooks/{id}", s.session(s.handleDeleteWebhook))
	mux.Handle("POST /v1/webhooks/{id}/enable", s.session(s.handleEnableWebhook))
	mux.Handle("POST /v1/webhooks/{id}/test", s.session(s.handleTestWebhook))
	mux.Handle("POST /v1/webhooks/{id}/rotate-secret", s.session(s.handleRotateWebhookSecret))
	mux.Handle("GET /v1/webhooks/{id}/deliveries", s.session(s.handleWebhookDeliveries))
	mux.Handle("POST /v1/webhooks/{id}/deliveries/{delivery}/redeliver", s.session(s.handleRedeliver))

	// Support tickets: sessions (api_support.go).
	mux.Handle("POST /v1/support/tickets", s.session(s.handleCreateTicket))
	mux.Handle("GET /v1/support/tickets", s.session(s.handleListTickets))
	mux.Handle("GET /v1/support/tickets/{id}", s.session(s.handleGetTicket))
	mux.Handle("POST /v1/support/tickets/{id}/messages", s.session(s.handleTicketMessage))

	// Gateways.
	mux.Handle("POST /v1/inbound/sms", s.admitInbound(s.gateway(s.handleInboundSMS)))
	mux.Handle("POST /v1/inbound/heartbeat", s.gateway(s.handleGatewayHeartbeat))
	// SIM banks that cannot send a bearer token: the token is in the push URL (inbound_ejoin.go).
	mux.Handle("POST /v1/inbound/ejoin/{gateway_id}", s.admitInbound(http.HandlerFunc(s.handleInboundEjoin)))
	// Gateway software that signs with the gateway's token (inbound_smsgate.go, inbound_twilio.go).
	mux.Handle("POST /v1/inbound/android/{gateway_id}", s.admitInbound(http.HandlerFunc(s.handleInboundAndroid)))
	mux.Handle("POST /v1/inbound/twilio/{gateway_id}", s.admitInbound(http.HandlerFunc(s.handleInboundTwilio)))

	// Admin.
	mux.Handle("GET /v1/admin/users", s.admin(s.handleAdminUsers))
	mux.Handle("GET /v1/admin/users/{id}", s.admin(s.handleAdminUser))
	mux.Handle("POST /v1/admin/users/{id}/adjustments", s.admin(s.handleAdminAdjust))
	mux.Handle("POST /v1/admin/users/{id}/disable", s.admin(s.handleAdminDisable))
	mux.Handle("POST /v1/admin/users/{id}/enable", s.admin(s.handleAdminEnable))
	mux.Handle("GET /v1/admin/deposits", s.admin(s.handleAdminDeposits))
	mux.Handle("POST /v1/admin/deposits/{id}/refund", s.admin(s.handleAdminRefundDeposit))
	mux.Handle("POST /v1/admin/deposits/{id}/settle", s.admin(s.handleAdminSettleDeposit))
	mux.Handle("GET /v1/admin/payment-events", s.admin(s.handleAdminPaymentEvents))
	mux.Handle("GET /v1/admin/gateways", s.admin(s.handleAdminGateways))
	mux.Handle("POST /v1/admin/gateways", s.admin(s.handleAdminCreateGateway))
	mux.Handle("POST /v1/admin/gateways/{id}/rotate", s.admin(s.handleAdminRotateGateway))
	mux.Handle("POST /v1/admin/gateways/{id}/disable", s.admin(s.handleAdminGatewayDisabled(true)))
	mux.Handle("POST /v1/admin/gateways/{id}/enable", s.admin(s.handleAdminGatewayDisabled(false)))
	mux.Handle("GET /v1/admin/services", s.admin(s.handleAdminServices))
	mux.Handle("POST /v1/admin/services", s.admin(s.handleAdminCreateService))
	mux.Handle("PATCH /v1/admin/services/{id}", s.admin(s.handleAdminUpdateService))
	mux.Handle("POST /v1/admin/numbers", s.admin(s.handleAdminImportNumbers))
	mux.Handle("GET /v1/admin/numbers", s.admin(s.handleAdminNumbers))
	mux.Handle("POST /v1/admin/numbers/{id}/disable", s.admin(s.handleAdminNumberStatus(fetchsms.NumberDisabled)))
	mux.Handle("POST /v1/admin/numbers/{id}/enable", s.admin(s.handleAdminNumberStatus(fetchsms.NumberActive)))
	mux.Handle("PATCH /v1/admin/numbers/{id}", s.admin(s.handleAdminNumberDevice))
	mux.Handle("GET /v1/admin/reports", s.admin(s.handleAdminReports))
	mux.Handle("GET /v1/admin/inbound", s.admin(s.handleAdminInbound))
	mux.Handle("GET /v1/admin/inbound/unmatched", s.admin(s.handleAdminUnmatched))
	mux.Handle("GET /v1/admin/support/tickets", s.admin(s.handleAdminTickets))
	mux.Handle("GET /v1/admin/support/tickets/{id}", s.admin(s.handleAdminTicket))
	mux.Handle("POST /v1/admin/support/tickets/{id}/messages", s.admin(s.handleAdminTicketReply))
	mux.Handle("POST /v1/admin/support/tickets/{id}/close", s.admin(s.handleAdminCloseTicket))

	// The SMS-Activate handler API, for the tools that speak it (smsactivate.go):
	// its API key is a parameter, checked and limited as on the routes above.
	mux.HandleFunc("GET /stubs/handler_api.php", s.handleHandlerAPI)
	mux.HandleFunc("POST /stubs/handler_api.php", s.handleHandlerAPI)

	// The API reference: this document, and its readable page (/docs/api, api_docs.go).
	mux.HandleFunc("GET /v1/openapi.json", s.handleOpenAPI)

	// Sandbox only: 404 elsewhere.
	mux.Handle("POST /v1/sandbox/clock/advance", s.sandboxOnly(s.admin(s.handleClockAdvance)))
	mux.Handle("POST /v1/sandbox/sms", s.sandboxOnly(s.admin(s.handleSandboxSMS)))

	// Web dashboard and admin console: HTML pages (dash_routes.go).
	s.dashRoutes(mux)

	// Health for load balancers and orchestrators: 503 once the store cannot serve
	// (SQLite after a failed flush: restart the process).
	// Prometheus's scrape (observe.go).
	mux.HandleFunc("GET /metrics", s.handleMetrics)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.App.Health(r.Context()); err != nil {
			s.Logger.ErrorContext(r.Context(), "unhealthy", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": fetchsms.ErrorMessage(err)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// recoverer turns a panic into a logged 500 with a JSON detail.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, errorBody{Detail: "internal error", Code: "internal_error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = valNosniff
		h["X-Frame-Options"] = valDeny
		h["Referrer-Policy"] = valNoReferrer
		h["Cache-Control"] = valNoStore
		next.ServeHTTP(w, r)
	})
}

// jsonStatusErrors rewrites the mux's own plain-text errors (405 Method Not Allowed)
// as JSON {"detail": …}.
func jsonStatusErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&plainErrorWriter{ResponseWriter: w}, r)
	})
}

type plainErrorWriter struct {
	http.ResponseWriter
	swallow bool
}

func (p *plainErrorWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(p.Header().Get("Content-Type"), "text/plain") {
		p.swallow = true
		p.Header().Set("Content-Type", "application/json")
		p.Header().Del("X-Content-Type-Options")
		p.Header().Set("X-Content-Type-Options", "nosniff")
		p.ResponseWriter.WriteHeader(code)
		detail, reason := http.StatusText(code), "invalid_request"
		switch code {
		case http.StatusMethodNotAllowed:
			detail, reason = "method not allowed on this endpoint (allowed: "+p.Header().Get("Allow")+")", "method_not_allowed"
		case http.StatusNotFound:
			detail, reason = "no such endpoint", "not_found"
		}
		b, _ := json.Marshal(errorBody{Detail: detail, Code: reason})
		p.ResponseWriter.Write(append(b, '\n'))
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *plainErrorWriter) Write(b []byte) (int, error) {
	if p.swallow {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

func (p *plainErrorWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func (s *Server) sandboxOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Sandbox {
			writeJSON(w, http.StatusNotFound, errorBody{Detail: "no such endpoint: sandbox endpoints exist only in sandbox mode", Code: "not_found"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
