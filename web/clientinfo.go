package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// What a request says about its client once proxies are accounted for: the
// address its limits are keyed by, whether the client reached us over HTTPS,
// and this server's public base URL. Without trusted proxies or a public URL
// (the default) the request's own peer address and connection decide, and
// nothing is added to the request.

type clientInfo struct {
	ip     string // a limiter key: an IPv4 address or an IPv6 /64
	secure bool   // the client's connection is HTTPS
	base   string // scheme://host the client reached us by
}

type clientInfoKey struct{}

// withClientInfo works out the client behind trusted proxies (X-Forwarded-For,
// X-Forwarded-Proto, X-Forwarded-Host are believed only from them) and, with a
// public URL, the scheme and host it names; HTTPS answers carry HSTS.
func (s *Server) withClientInfo(next http.Handler) http.Handler {
	if len(s.TrustedProxies) == 0 && s.PublicURL == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := s.clientInfoOf(r)
		if info.secure {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientInfoKey{}, info)))
	})
}

func (s *Server) clientInfoOf(r *http.Request) clientInfo {
	peer := peerAddr(r.RemoteAddr)
	ip, secure, host := peer, r.TLS != nil, r.Host
	if peer.IsValid() && s.trusted(peer) {
		// The right-most address that is not a trusted proxy is the client:
		// what is left of it was written by the client itself.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = a.Unmap()
			if !s.trusted(ip) {
				break
			}
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			secure = strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https")
		}
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	info := clientInfo{ip: limiterKey(ip, r.RemoteAddr), secure: secure, base: scheme + "://" + host}
	if u := s.PublicURL; u != nil {
		info.base = strings.TrimRight(u.String(), "/")
		info.secure = info.secure || u.Scheme == "https"
	}
	return info
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// limiterKey is an address as a limiter's key: an IPv4 address, or the /64 of
// an IPv6 one (a single client is routinely given a whole /64, so per-address
// buckets would not limit it).
func limiterKey(a netip.Addr, fallback string) string {
	if !a.IsValid() {
		return fallback
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func infoOf(r *http.Request) (clientInfo, bool) {
	info, ok := r.Context().Value(clientInfoKey{}).(clientInfo)
	return info, ok
}

// clientIP is the limiter key of the request's client: its peer address, or
// the client behind a trusted proxy. Forwarding headers from anyone else are
// not believed: they are set by whoever sends the request.
func clientIP(r *http.Request) string {
	if info, ok := infoOf(r); ok {
		return info.ip
	}
	return limiterKey(peerAddr(r.RemoteAddr), r.RemoteAddr)
}

// isSecure reports whether the client reached us over HTTPS (directly, through
// a trusted proxy, or by the public URL): cookies are then Secure.
func isSecure(r *http.Request) bool {
	if info, ok := infoOf(r); ok {
		return info.secure
	}
	return r.TLS != nil
}

// baseURL is the scheme and host the client reached this server by (the public
// URL when one is set): where a provider's hosted checkout sends the customer back.
func baseURL(r *http.Request) string {
	if info, ok := infoOf(r); ok {
		return info.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ParseTrustedProxies reads "CIDR,CIDR,…" (a bare address is a /32 or /128).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParsePublicURL reads the server's public base URL: http or https, a host, no
// path beyond "/".
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return nil, &url.Error{Op: "parse", URL: s, Err: errBadPublicURL}
	}
	u.Path = ""
	return u, nil
}

var errBadPublicURL = errors.New("want scheme://host[:port], http or https, nothing after the host")
