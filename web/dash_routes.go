package web

import (
	"net/http"

	fetchsms "github.com/fetchsms/fetchsms"
)

// dashRoutes is the route table of the web dashboard and the admin console: HTML
// pages on the session cookie. Every POST is a form checked for CSRF by page().
func (s *Server) dashRoutes(mux *http.ServeMux) {
	mux.Handle("GET /static/", serveStatic())
	mux.HandleFunc("GET /{$}", s.handleRoot)
	// The API reference, rendered from the OpenAPI document (api_docs.go).
	mux.HandleFunc("GET /docs/api", s.handleAPIReference)

	// Sessions.
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLoginForm)
	mux.HandleFunc("GET /signup", s.handleSignupPage)
	mux.HandleFunc("POST /signup", s.handleSignupForm)
	mux.HandleFunc("POST /logout", s.page(false, "", s.handleLogoutForm))
	mux.HandleFunc("GET /password/forgot", s.handleForgotPage)
	mux.HandleFunc("POST /password/forgot", s.handleForgotForm)
	mux.HandleFunc("GET /password/reset", s.handleResetPage)
	mux.HandleFunc("POST /password/reset", s.handleResetForm)
	mux.HandleFunc("GET /account/email/confirm", s.handleConfirmEmailPage)
	mux.HandleFunc("POST /account/email/confirm", s.handleConfirmEmailForm)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	// Customer pages.
	mux.HandleFunc("GET /dashboard", s.page(false, "home", s.dashHome))
	mux.HandleFunc("GET /dashboard/catalog", s.page(false, "catalog", s.dashCatalog))
	mux.HandleFunc("GET /dashboard/verifications", s.page(false, "verifications", s.dashVerifications))
	mux.HandleFunc("POST /dashboard/verifications", s.page(false, "verifications", s.dashBuyVerification))
	mux.HandleFunc("GET /dashboard/verifications/{id}", s.page(false, "verifications", s.dashVerification))
	mux.HandleFunc("GET /dashboard/verifications/{id}/status", s.page(false, "verifications", s.dashVerificationStatus))
	mux.HandleFunc("POST /dashboard/verifications/{id}/cancel", s.page(false, "verifications", s.dashCancelVerification))
	mux.HandleFunc("GET /dashboard/rentals", s.page(false, "rentals", s.dashRentals))
	mux.HandleFunc("POST /dashboard/rentals", s.page(false, "rentals", s.dashBuyRental))
	mux.HandleFunc("GET /dashboard/rentals/{id}", s.page(false, "rentals", s.dashRental))
	mux.HandleFunc("GET /dashboard/rentals/{id}/messages", s.page(false, "rentals", s.dashRentalMessages))
	mux.HandleFunc("POST /dashboard/rentals/{id}/extend", s.page(false, "rentals", s.dashExtendRental))
	mux.HandleFunc("POST /dashboard/rentals/{id}/cancel", s.page(false, "rentals", s.dashCancelRental))
	mux.HandleFunc("GET /dashboard/wallet", s.page(false, "wallet", s.dashWallet))
	mux.HandleFunc("POST /dashboard/wallet/deposits", s.page(false, "wallet", s.dashDeposit))
	mux.HandleFunc("GET /dashboard/api", s.page(false, "api", s.dashAPI))
	mux.HandleFunc("POST /dashboard/api/keys", s.page(false, "api", s.dashCreateKey))
	mux.HandleFunc("POST /dashboard/api/keys/{id}/rotate", s.page(false, "api", s.dashRotateKey))
	mux.HandleFunc("POST /dashboard/api/keys/{id}/revoke", s.page(false, "api", s.dashRevokeKey))
	mux.HandleFunc("POST /dashboard/api/webhooks", s.page(false, "api", s.dashCreateWebhook))
	mux.HandleFunc("GET /dashboard/api/webhooks/{id}", s.page(false, "api", s.dashWebhook))
	mux.HandleFunc("POST /dashboard/api/webhooks/{id}/delete", s.page(false, "api", s.dashDeleteWebhook))
	mux.HandleFunc("POST /dashboard/api/webhooks/{id}/test", s.page(false, "api", s.dashTestWebhook))
	mux.HandleFunc("POST /dashboard/api/webhooks/{id}/enable", s.page(false, "api", s.dashEnableWebhook))
	mux.HandleFunc("POST /dashboard/api/webhooks/{id}/rotate", s.page(false, "api", s.dashRotateWebhookSecret))
	mux.HandleFunc("POST /dashboard/api/webhooks/{id}/deliveries/{delivery}/redeliver", s.page(false, "api", s.dashRedeliver))
	mux.HandleFunc("GET /dashboard/support", s.page(false, "support", s.dashSupport))
	mux.HandleFunc("POST /dashboard/support", s.page(false, "support", s.dashCreateTicket))
	mux.HandleFunc("GET /dashboard/support/{id}", s.page(false, "support", s.dashTicket))
	mux.HandleFunc("POST /dashboard/support/{id}/messages", s.page(false, "support", s.dashTicketReply))
	mux.HandleFunc("GET /dashboard/account", s.page(false, "account", s.dashAccount))
	mux.HandleFunc("POST /dashboard/account/password", s.page(false, "account", s.dashChangePassword))
	mux.HandleFunc("POST /dashboard/account/email", s.page(false, "account", s.dashChangeEmail))

	// Admin console: administrators only.
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin/stats", http.StatusSeeOther) })
	mux.HandleFunc("GET /admin/stats", s.page(true, "admin_stats", s.adminStats))
	mux.HandleFunc("GET /admin/users", s.page(true, "admin_users", s.adminUsers))
	mux.HandleFunc("GET /admin/users/{id}", s.page(true, "admin_users", s.adminUser))
	mux.HandleFunc("POST /admin/users/{id}/adjustments", s.page(true, "admin_users", s.adminAdjust))
	mux.HandleFunc("POST /admin/users/{id}/disable", s.page(true, "admin_users", s.adminSetDisabled(true)))
	mux.HandleFunc("POST /admin/users/{id}/enable", s.page(true, "admin_users", s.adminSetDisabled(false)))
	mux.HandleFunc("GET /admin/payments", s.page(true, "admin_payments", s.adminDeposits))
	mux.HandleFunc("POST /admin/deposits/{id}/refund", s.page(true, "admin_payments", s.adminRefundDeposit))
	mux.HandleFunc("POST /admin/deposits/{id}/settle", s.page(true, "admin_payments", s.adminSettleDeposit))
	mux.HandleFunc("GET /admin/payment-events", s.page(true, "admin_payment_events", s.adminPaymentEvents))
	mux.HandleFunc("GET /admin/gateways", s.page(true, "admin_gateways", s.adminGateways))
	mux.HandleFunc("POST /admin/gateways", s.page(true, "admin_gateways", s.adminCreateGateway))
	mux.HandleFunc("POST /admin/gateways/{id}/rotate", s.page(true, "admin_gateways", s.adminRotateGateway))
	mux.HandleFunc("POST /admin/gateways/{id}/disable", s.page(true, "admin_gateways", s.adminSetGatewayDisabled(true)))
	mux.HandleFunc("POST /admin/gateways/{id}/enable", s.page(true, "admin_gateways", s.adminSetGatewayDisabled(false)))
	mux.HandleFunc("GET /admin/numbers", s.page(true, "admin_numbers", s.adminNumbers))
	mux.HandleFunc("POST /admin/numbers", s.page(true, "admin_numbers", s.adminImportNumbers))
	mux.HandleFunc("POST /admin/numbers/{id}/disable", s.page(true, "admin_numbers", s.adminSetNumberStatus(fetchsms.NumberDisabled)))
	mux.HandleFunc("POST /admin/numbers/{id}/enable", s.page(true, "admin_numbers", s.adminSetNumberStatus(fetchsms.NumberActive)))
	mux.HandleFunc("POST /admin/numbers/{id}/device", s.page(true, "admin_numbers", s.adminSetNumberDevice))
	mux.HandleFunc("GET /admin/services", s.page(true, "admin_services", s.adminServices))
	mux.HandleFunc("POST /admin/services", s.page(true, "admin_services", s.adminCreateService))
	mux.HandleFunc("GET /admin/services/{id}", s.page(true, "admin_services", s.adminService))
	mux.HandleFunc("POST /admin/services/{id}", s.page(true, "admin_services", s.adminUpdateService))
	mux.HandleFunc("GET /admin/inbound", s.page(true, "admin_inbound", s.adminInbound))
	mux.HandleFunc("GET /admin/support", s.page(true, "admin_support", s.adminSupport))
	mux.HandleFunc("GET /admin/support/{id}", s.page(true, "admin_support", s.adminTicket))
	mux.HandleFunc("POST /admin/support/{id}/messages", s.page(true, "admin_support", s.adminTicketReply))
	mux.HandleFunc("POST /admin/support/{id}/close", s.page(true, "admin_support", s.adminCloseTicket))
}
