package web

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"testing"
)

// TestClientBehindTrustedProxies: forwarding headers are believed only from
// trusted proxies, and then the right-most address that is not one is the client
// (what lies left of it the client wrote itself) (issue 19, finding 4).
func TestClientBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	lb, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{TrustedProxies: lb}
	for _, c := range []struct {
		remote, xff, proto string
		ip                 string
		secure             bool
	}{
		{"203.0.113.9:1234", "198.51.100.1", "https", "203.0.113.9", false},                 // not a proxy: headers ignored
		{"10.1.2.3:1234", "198.51.100.1", "https", "198.51.100.1", true},                    // one trusted hop
		{"10.1.2.3:1234", "6.6.6.6, 198.51.100.1, 10.9.9.9", "http", "198.51.100.1", false}, // the client's own claim is left of it
		{"192.0.2.1:1234", "198.51.100.1", "", "198.51.100.1", false},
		{"10.1.2.3:1234", "", "", "10.1.2.3", false},                            // no header: the proxy itself
		{"10.1.2.3:1234", "not-an-ip, 198.51.100.1", "", "198.51.100.1", false}, // garbage left of the client
		{"10.1.2.3:1234", "198.51.100.1, garbage", "", "10.1.2.3", false},       // garbage from the proxy: stop there
		{"10.1.2.3:1234", "2001:db8:1:2::5", "", "2001:db8:1:2::/64", false},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}, Host: "api.example.com"}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		info := s.clientInfoOf(r)
		if info.ip != c.ip || info.secure != c.secure {
			t.Errorf("%s with X-Forwarded-For %q, proto %q: %+v, want ip %s secure %v", c.remote, c.xff, c.proto, info, c.ip, c.secure)
		}
	}
	// A public https URL makes every answer secure and names the base.
	pub, err := ParsePublicURL("https://api.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	s = &Server{PublicURL: pub}
	if info := s.clientInfoOf(&http.Request{RemoteAddr: "127.0.0.1:1", Host: "evil.example", Header: http.Header{}}); !info.secure || info.base != "https://api.example.com" {
		t.Errorf("with a public URL: %+v", info)
	}
	if info := (&Server{}).clientInfoOf(&http.Request{RemoteAddr: "127.0.0.1:1", Host: "h", TLS: &tls.ConnectionState{}, Header: http.Header{}}); !info.secure {
		t.Error("a TLS connection is not secure")
	}
	for _, bad := range []string{"ftp://x", "https://", "https://a/b", "https://a?x=1", "https://u@a", "a.example"} {
		if _, err := ParsePublicURL(bad); err == nil {
			t.Errorf("ParsePublicURL(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "x", "10.0.0.1/8/9"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if p, _ := ParseTrustedProxies("::ffff:10.0.0.1"); len(p) != 1 || !p[0].Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Errorf("a mapped address: %v", p)
	}
}
