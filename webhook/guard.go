// Package webhook delivers events to customers' endpoints: signed POSTs through a
// client that refuses private networks (checked at registration and again at every
// connection, against DNS rebinding), a worker that retries with backoff, and the
// signature helpers receivers can copy.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Guard decides which addresses deliveries may reach.
type Guard struct {
	// AllowLoopback admits 127.0.0.0/8 and ::1 (the sandbox, so newcomers can test
	// against a local receiver).
	AllowLoopback bool
	// AllowPrivate admits every address (an operator's explicit choice).
	AllowPrivate bool
	// LookupIP resolves a host name; nil means net.DefaultResolver.LookupNetIP.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

var errBlocked = errors.New("address not allowed")

// allowed reports whether deliveries may connect to ip.
func (g Guard) allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if g.AllowPrivate {
		return true
	}
	if ip.IsLoopback() {
		return g.AllowLoopback
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// blockedPrefixes are special-purpose ranges that Addr's predicates do not cover.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64, likewise
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated): embeds any IPv4 address
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (SIIT), likewise
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds an IPv4 address, relayed by whoever answers
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 address and port
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("fc00::/7"),        // unique local
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// CheckURL validates an endpoint URL at registration: http or https, a host, no
// credentials, and every address the host resolves to allowed. Failures are
// EUNPROCESSABLE with a reason the customer can act on.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	bad := func(format string, args ...any) error {
		return fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "url "+format, args...)
	}
	if len(raw) > 2000 {
		return bad("is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return bad("must not carry a user name or password")
	}
	if u.Fragment != "" {
		return bad("must not have a #fragment")
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !g.allowed(ip) {
			return bad("points at a private, loopback, link-local or reserved address (%s), which webhooks cannot reach", ip)
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !g.AllowLoopback && !g.AllowPrivate {
			return bad("points at localhost, which webhooks cannot reach")
		}
		return nil
	}
	lookup := g.LookupIP
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return bad("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if !g.allowed(a) {
			return bad("host %q resolves to %s, a private, loopback, link-local or reserved address", host, a.Unmap())
		}
	}
	return nil
}

// Control is a net.Dialer Control function that refuses disallowed addresses at
// connect time, whatever DNS said at registration.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: %w: %s", errBlocked, address)
	}
	if !g.allowed(ap.Addr()) {
		return fmt.Errorf("webhook: %w: %s is a private, loopback or reserved address", errBlocked, ap.Addr().Unmap())
	}
	return nil
}
