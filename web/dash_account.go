package web

import (
	"net/http"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Account settings (a logged-in person's password and email) and the public
// password-reset pages. The rules and the mails are the App's
// (account_settings.go); these pages read forms and word the outcomes.

type accountView struct {
	Mail bool // the server sends mail: email changes are possible
}

func (s *Server) dashAccount(w http.ResponseWriter, r *http.Request, p *pageData) {
	p.Title, p.Data = "Account", &accountView{Mail: s.App.MailConfigured()}
	s.render(w, r, http.StatusOK, "account", p)
}

func (s *Server) dashChangePassword(w http.ResponseWriter, r *http.Request, p *pageData) {
	next := r.PostFormValue("new_password")
	if next != r.PostFormValue("confirm_password") {
		s.again(w, r, p, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "The new password and its confirmation differ."), s.dashAccount)
		return
	}
	keep := "" // the session in use stays open
	if _, pr := s.cookieSession(r); pr != nil {
		keep = pr.CredentialID
	}
	if err := s.App.ChangePassword(r.Context(), p.User.ID, keep, r.PostFormValue("current_password"), next); err != nil {
		s.again(w, r, p, err, s.dashAccount)
		return
	}
	redirect(w, r, "/dashboard/account", "Password changed. Your other sessions were logged out.")
}

func (s *Server) dashChangeEmail(w http.ResponseWriter, r *http.Request, p *pageData) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := s.App.RequestEmailChange(r.Context(), p.User.ID, r.PostFormValue("password"), email, s.LinkBase); err != nil {
		s.again(w, r, p, err, s.dashAccount)
		return
	}
	redirect(w, r, "/dashboard/account", "We sent a confirmation link to "+email+". Your email changes when you follow it.")
}

// passwordForm is the data of the public password pages.
type passwordForm struct {
	Mode  string // "forgot", "sent", "reset" or "confirm" (an email change)
	Email string
	Token string
	Error string
	Mail  bool
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, status int, f passwordForm) {
	f.Mail = s.App.MailConfigured()
	title := map[string]string{"forgot": "Reset your password", "sent": "Check your email", "reset": "Choose a new password", "confirm": "Confirm your new email"}[f.Mode]
	s.render(w, r, status, "password", &pageData{Title: title, CSRF: preSessionToken(w, r), Data: f})
}

func (s *Server) handleForgotPage(w http.ResponseWriter, r *http.Request) {
	s.passwordPage(w, r, http.StatusOK, passwordForm{Mode: "forgot"})
}

// publicForm reads a form of the public pages; on failure it has answered.
func (s *Server) publicForm(w http.ResponseWriter, r *http.Request, f passwordForm) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !checkPreSessionCSRF(r) {
		f.Error = "This form has expired. Please try again."
		s.passwordPage(w, r, http.StatusForbidden, f)
		return false
	}
	if s.authLimits != nil && !s.NoIPLimits {
		if ok, _ := s.authLimits.perIP.allow(clientIP(r), time.Now()); !ok {
			f.Error = "Too many attempts. Wait a minute and try again."
			s.passwordPage(w, r, http.StatusTooManyRequests, f)
			return false
		}
	}
	return true
}

func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	f := passwordForm{Mode: "forgot", Email: strings.TrimSpace(r.PostFormValue("email"))}
	if !s.publicForm(w, r, f) {
		return
	}
	if err := fetchsms.ValidateEmail(f.Email); err != nil {
		f.Error = "Enter the email of your account, such as dev@example.com."
		s.passwordPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err := s.App.RequestPasswordReset(r.Context(), f.Email, s.LinkBase); err != nil {
		status := statusOf[fetchsms.ErrorCode(err)]
		f.Error = dashMessage(err)
		if status == 0 || status >= 500 {
			s.Logger.Error("password reset", "err", err)
			status, f.Error = http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		}
		s.passwordPage(w, r, status, f)
		return
	}
	// The same answer whether or not the address has an account.
	s.passwordPage(w, r, http.StatusOK, passwordForm{Mode: "sent", Email: f.Email})
}

func (s *Server) handleResetPage(w http.ResponseWriter, r *http.Request) {
	s.passwordPage(w, r, http.StatusOK, passwordForm{Mode: "reset", Token: r.URL.Query().Get("token")})
}

func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	f := passwordForm{Mode: "reset", Token: r.PostFormValue("token")}
	if !s.publicForm(w, r, f) {
		return
	}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("confirm_password") {
		f.Error = "The password and its confirmation differ."
		s.passwordPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if _, err := s.App.ResetPassword(r.Context(), f.Token, password); err != nil {
		status := statusOf[fetchsms.ErrorCode(err)]
		f.Error = dashMessage(err)
		if status == 0 || status >= 500 {
			s.Logger.Error("password reset", "err", err)
			status, f.Error = http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		}
		s.passwordPage(w, r, status, f)
		return
	}
	clearSessionCookie(w, r)
	redirect(w, r, "/login", "Password changed. Log in with your new password.")
}

func (s *Server) handleConfirmEmailPage(w http.ResponseWriter, r *http.Request) {
	// A GET changes nothing (mail scanners follow links): the page asks for a click.
	s.passwordPage(w, r, http.StatusOK, passwordForm{Mode: "confirm", Token: r.URL.Query().Get("token")})
}

func (s *Server) handleConfirmEmailForm(w http.ResponseWriter, r *http.Request) {
	f := passwordForm{Mode: "confirm", Token: r.PostFormValue("token")}
	if !s.publicForm(w, r, f) {
		return
	}
	u, err := s.App.ConfirmEmailChange(r.Context(), f.Token)
	if err != nil {
		status := statusOf[fetchsms.ErrorCode(err)]
		f.Error = dashMessage(err)
		if status == 0 || status >= 500 {
			s.Logger.Error("email change", "err", err)
			status, f.Error = http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		}
		s.passwordPage(w, r, status, f)
		return
	}
	to := "/login"
	if _, pr := s.cookieSession(r); pr != nil {
		to = "/dashboard/account"
	}
	redirect(w, r, to, "Your email is now "+u.Email+".")
}
