package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// maxForm caps a dashboard form body (a number import is the largest).
const maxForm = 256 << 10

// dashPage is a page handler that runs for a logged-in person; p is ready for
// rendering (user, CSRF token).
type dashPage func(w http.ResponseWriter, r *http.Request, p *pageData)

// page admits a request with a valid session cookie (and, with admin, an admin's):
// no or a bad cookie goes to the login page, a customer on an admin page gets 403.
// A POST must carry the session's CSRF token in its form and come from this host.
func (s *Server) page(admin bool, nav string, h dashPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, pr := s.cookieSession(r)
		if pr == nil {
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = "/dashboard"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		p := &pageData{User: pr.User, CSRF: csrfToken(token), Nav: nav}
		if admin && pr.User.Role != fetchsms.RoleAdmin {
			s.pageError(w, r, p, fetchsms.Errorf(fetchsms.EFORBIDDEN, "This page is for Fetch SMS staff only."))
			return
		}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				s.pageError(w, r, p, fetchsms.Errorf(fetchsms.ETOOLARGE, "The form was too large or malformed."))
				return
			}
			if !sameOrigin(r) || !sameToken(r.PostFormValue(csrfField), p.CSRF) {
				s.pageError(w, r, p, fetchsms.Errorf(fetchsms.EFORBIDDEN, "This form has expired or did not come from this site. Go back, reload the page and try again."))
				return
			}
		}
		h(w, r, p)
	}
}

// cookieSession resolves the session cookie (only the cookie: pages never take a
// bearer token). It returns nil when there is none or it is not a live session.
func (s *Server) cookieSession(r *http.Request) (string, *fetchsms.Principal) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !strings.HasPrefix(c.Value, fetchsms.PrefixSession) || len(c.Value) > 200 {
		return "", nil
	}
	now := time.Now()
	p, gen := s.auth.get(c.Value, now)
	if p == nil {
		if p, err = s.App.Authenticate(r.Context(), c.Value); err != nil {
			return "", nil
		}
		s.auth.put(c.Value, p, now, gen)
	}
	if p.Kind != fetchsms.KindSession || p.User == nil {
		return "", nil
	}
	return c.Value, p
}

// setSessionCookie hands the browser its session: HttpOnly (scripts never see it),
// SameSite=Lax (not sent on cross-site POSTs), Secure when the request came over TLS.
func setSessionCookie(w http.ResponseWriter, r *http.Request, sess *fetchsms.Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", HttpOnly: true, Secure: isSecure(r),
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds())})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: isSecure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// safeNext keeps a post-login redirect on this site: a local path only.
func safeNext(next string) string {
	const home = "/dashboard"
	if len(next) > 1024 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	// Only printable ASCII without spaces or backslashes: browsers strip tabs
	// and newlines and read "\" as "/", so "/\t/evil.example" would leave the site.
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return home
	}
	return next
}

type authForm struct {
	Mode  string // "login" or "signup"
	Email string
	Next  string
	Error string
}

// handleRoot sends a browser to its dashboard (or the login page); an API client
// asking for "/" gets the JSON 404 of any unknown endpoint.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeJSON(w, http.StatusNotFound, errorBody{Detail: "no such endpoint", Code: "not_found"})
		return
	}
	if _, p := s.cookieSession(r); p != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.authPage(w, r, http.StatusOK, authForm{Mode: "login", Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	s.authPage(w, r, http.StatusOK, authForm{Mode: "signup", Next: "/dashboard"})
}

func (s *Server) authPage(w http.ResponseWriter, r *http.Request, status int, f authForm) {
	if _, p := s.cookieSession(r); p != nil && r.Method == http.MethodGet {
		http.Redirect(w, r, f.Next, http.StatusSeeOther)
		return
	}
	title := "Log in"
	if f.Mode == "signup" {
		title = "Create your account"
	}
	s.render(w, r, status, "auth", &pageData{Title: title, CSRF: preSessionToken(w, r), Data: f})
}

// authFormIn reads and checks a login or signup form; on failure it has answered.
func (s *Server) authFormIn(w http.ResponseWriter, r *http.Request, mode string) (authForm, string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f := authForm{Mode: mode, Email: strings.TrimSpace(r.PostFormValue("email")), Next: safeNext(r.PostFormValue("next"))}
	if !checkPreSessionCSRF(r) {
		f.Error = "This form has expired. Please try again."
		s.authPage(w, r, http.StatusForbidden, f)
		return f, "", false
	}
	password := r.PostFormValue("password")
	if f.Email == "" || password == "" {
		f.Error = "Enter your email and a password."
		s.authPage(w, r, http.StatusBadRequest, f)
		return f, "", false
	}
	if s.throttleAuthPage(r, f.Email) {
		f.Error = "Too many attempts. Wait a minute and try again."
		s.authPage(w, r, http.StatusTooManyRequests, f)
		return f, "", false
	}
	return f, password, true
}

// throttleAuthPage applies the sign-in limits of the JSON API to the forms.
func (s *Server) throttleAuthPage(r *http.Request, email string) bool {
	if s.authLimits == nil {
		return false
	}
	now := time.Now()
	if !s.NoIPLimits {
		if ok, _ := s.authLimits.perIP.allow(clientIP(r), now); !ok {
			return true
		}
	}
	_, ok := s.authLimits.mayTry(email, clientIP(r), now)
	return !ok
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	f, password, ok := s.authFormIn(w, r, "login")
	if !ok {
		return
	}
	_, sess, err := s.App.Login(r.Context(), f.Email, password)
	s.noteSignIn(r, f.Email, err)
	if err != nil {
		f.Error = fetchsms.ErrorMessage(err)
		if fetchsms.ErrorCode(err) == fetchsms.EUNAUTHORIZED {
			f.Error = "That email and password do not match an account."
		}
		status, _ := statusOf[fetchsms.ErrorCode(err)]
		if status == 0 || status >= 500 {
			s.Logger.ErrorContext(r.Context(), "login", "err", err)
			status, f.Error = http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		}
		s.authPage(w, r, status, f)
		return
	}
	setSessionCookie(w, r, sess)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (s *Server) handleSignupForm(w http.ResponseWriter, r *http.Request) {
	f, password, ok := s.authFormIn(w, r, "signup")
	if !ok {
		return
	}
	u, err := s.App.CreateUser(r.Context(), f.Email, password, fetchsms.RoleCustomer)
	if err == nil {
		var sess *fetchsms.Session
		if sess, err = s.App.CreateSession(r.Context(), u.ID); err == nil {
			setSessionCookie(w, r, sess)
			setFlash(w, r, "Welcome to Fetch SMS. Add funds to your wallet to buy your first number.", false)
			http.Redirect(w, r, "/dashboard/wallet", http.StatusSeeOther)
			return
		}
	}
	status, _ := statusOf[fetchsms.ErrorCode(err)]
	f.Error = fetchsms.ErrorMessage(err)
	if fetchsms.ErrorCode(err) == fetchsms.ECONFLICT {
		f.Error = "An account with this email already exists. Log in instead."
	}
	if status == 0 || status >= 500 {
		s.Logger.ErrorContext(r.Context(), "signup", "err", err)
		status, f.Error = http.StatusInternalServerError, "Something went wrong on our side. Please try again."
	}
	s.authPage(w, r, status, f)
}

// handleLogoutForm ends the session and clears the cookie.
func (s *Server) handleLogoutForm(w http.ResponseWriter, r *http.Request, p *pageData) {
	_, pr := s.cookieSession(r)
	if pr != nil {
		if err := s.App.RevokeSession(r.Context(), pr.CredentialID); err != nil {
			s.pageError(w, r, p, err)
			return
		}
	}
	clearSessionCookie(w, r)
	redirect(w, r, "/login", "You are logged out.")
}
