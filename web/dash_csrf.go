package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

	fetchsms "github.com/fetchsms/fetchsms"
)

// CSRF protection, in three layers (docs/DECISIONS.md, "Web dashboard"):
//
//   - The session cookie is SameSite=Lax: browsers do not send it on cross-site
//     POSTs at all.
//   - Every form of a logged-in page carries a synchronizer token derived from the
//     session: HMAC-SHA256 keyed by the session token. Only a page served to the
//     holder of the cookie can know it (the cookie is HttpOnly; the token does not
//     reveal the session), it needs no storage, and it works across servers that
//     share a database. The JSON API accepts the same token in X-CSRF-Token when a
//     write is authenticated by the cookie instead of a bearer token.
//   - Forms that come before a session (log in, sign up) use the double-submit
//     pattern with a random pre-session cookie, so nobody can log a victim into an
//     attacker's account.
//
// On top, a POST whose Origin header names another host is refused.

// CSRFHeader carries the CSRF token on cookie-authenticated JSON API writes.
const CSRFHeader = "X-CSRF-Token"

// csrfField is the hidden form field of the token.
const csrfField = "csrf_token"

// preSessionCookie holds the double-submit token of the login and signup forms.
const preSessionCookie = "fetchsms_csrf"

// csrfToken returns the CSRF token of a session token.
func csrfToken(sessionToken string) string {
	mac := hmac.New(sha256.New, []byte(sessionToken))
	mac.Write([]byte("fetchsms csrf v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// safeMethod reports whether a method cannot change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCookieCSRF guards the JSON API when a request is authenticated by the
// session cookie rather than a bearer token: a write must carry the session's
// CSRF token in X-CSRF-Token. It returns EFORBIDDEN otherwise.
func checkCookieCSRF(r *http.Request, sessionToken string) error {
	if safeMethod(r.Method) {
		return nil
	}
	if !sameOrigin(r) || !sameToken(r.Header.Get(CSRFHeader), csrfToken(sessionToken)) {
		return fetchsms.Errorf(fetchsms.EFORBIDDEN, "a write authenticated by the session cookie must send the page's CSRF token in %s; programs should send Authorization: Bearer <token>", CSRFHeader)
	}
	return nil
}

// sameOrigin reports whether the request's Origin header, when present, names this
// host. Browsers send Origin on every cross-origin POST. "null" (an opaque origin:
// sent by some privacy settings on same-site forms too) proves nothing either way,
// so the token alone decides.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// preSessionToken returns the double-submit token of the login and signup forms,
// setting its cookie when the browser has none.
func preSessionToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: isSecure(r), SameSite: http.SameSiteLaxMode, MaxAge: 3600})
	return v
}

// checkPreSessionCSRF checks a login or signup form against its cookie.
func checkPreSessionCSRF(r *http.Request) bool {
	c, err := r.Cookie(preSessionCookie)
	return err == nil && sameOrigin(r) && sameToken(r.PostFormValue(csrfField), c.Value)
}
