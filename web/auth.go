package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

type principalKey struct{}

// principalOf returns the authenticated principal of a request that passed one of
// the credential wrappers.
func principalOf(r *http.Request) *fetchsms.Principal {
	p, _ := r.Context().Value(principalKey{}).(*fetchsms.Principal)
	return p
}

// SessionCookie is the cookie that carries a session token for web pages.
const SessionCookie = "fetchsms_session"

// authenticate resolves the request's credential: the bearer token, else the
// session cookie. Missing or invalid is EUNAUTHORIZED.
func (s *Server) authenticate(r *http.Request) (*fetchsms.Principal, error) {
	token, fromCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
			return nil, fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\"")
		}
		token = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(SessionCookie); err == nil && strings.HasPrefix(c.Value, fetchsms.PrefixSession) {
		token, fromCookie = c.Value, true
	}
	if token == "" {
		return nil, fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "missing credential: send Authorization: Bearer <token>")
	}
	p, err := s.principal(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if fromCookie {
		if err := checkCookieCSRF(r, token); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// principal resolves a token through the credential cache.
func (s *Server) principal(ctx context.Context, token string) (*fetchsms.Principal, error) {
	now := time.Now()
	p, gen := s.auth.get(token, now)
	if p == nil {
		var err error
		if p, err = s.App.Authenticate(ctx, token); err != nil {
			return nil, err
		}
		s.auth.put(token, p, now, gen)
	}
	return p, nil
}

// withPrincipal is r carrying its authenticated principal, for principalOf.
func withPrincipal(r *http.Request, p *fetchsms.Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// require builds a wrapper that admits the given credential kinds (and, with admin,
// only admin sessions): the wrong kind is 403, a missing or bad credential 401.
func (s *Server) require(why string, admin bool, kinds ...string) func(http.HandlerFunc) http.Handler {
	return func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			ok := false
			for _, k := range kinds {
				ok = ok || p.Kind == k
			}
			if !ok {
				s.writeError(w, r, fetchsms.Errorf(fetchsms.EFORBIDDEN, "%s", why))
				return
			}
			if p.Kind == fetchsms.KindAPIKey && s.throttled(w, r, s.limits.perKey, p.CredentialID, "API") {
				return
			}
			if admin && p.User.Role != fetchsms.RoleAdmin {
				s.writeError(w, r, fetchsms.Errorf(fetchsms.EFORBIDDEN, "this endpoint is for administrators only"))
				return
			}
			h(w, withPrincipal(r, p))
		})
	}
}

func (s *Server) customer(h http.HandlerFunc) http.Handler {
	return s.require("this endpoint takes an API key or a dashboard session, not a gateway token", false, fetchsms.KindAPIKey, fetchsms.KindSession)(h)
}

func (s *Server) session(h http.HandlerFunc) http.Handler {
	return s.require("this endpoint requires a dashboard session token; API keys and gateway tokens are not accepted", false, fetchsms.KindSession)(h)
}

func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return s.require("this endpoint requires an administrator's dashboard session", true, fetchsms.KindSession)(h)
}

func (s *Server) gateway(h http.HandlerFunc) http.Handler {
	return s.require("this endpoint takes a gateway token only", false, fetchsms.KindGateway)(h)
}
