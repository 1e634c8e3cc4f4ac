package detect

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLinkLen is the longest link ExtractLink returns, in bytes. A longer URL is
// not cut (a cut link is a wrong one): the message yields no link.
const MaxLinkLen = 512

// linkWords are the phrases that make a URL a sign-in or verification link
// ("Tap to sign in to Acme: https://…", "Verify your email: https://…"). A URL
// in a message without one (a delivery notice's tracking link, marketing) is
// not a secret and is never returned.
var linkWords = []string{
	"sign in", "sign-in", "signin", "sign on", "sign-on", "log in", "log-in", "login", "logon", "log on",
	"verify", "verification", "magic link", "login link", "one-time link", "one time link",
	"confirm your email", "confirm your e-mail", "confirm your account", "confirm your phone",
	"confirm your number", "confirm your identity", "confirm your sign", "confirm your login",
	"confirm it's you", "confirm it is you", "confirm that it's you", "confirm this is you",
	"activate your account", "authenticate", "authentication", "reset your password",
	"password reset", "set your password", "access your account", "secure link", "2fa", "two-factor",
}

// adWords mark a message as marketing or a prize scam ("Today is your lucky
// day! Find out why: log onto http://…"): its link is never released, whatever
// else it says. A sign-in message has no reason to use them.
var adWords = []string{
	"lucky day", "winner", "you won", "you've won", "you have won", "prize", "claim your", "surprise",
	"congratulations", "free gift", "% off", "limited time", "special offer",
}

// alarmWords mark a message that alarms its reader into following its link: an
// account locked, suspended or on hold, "unusual activity", a parcel that cannot
// be delivered. That is how SMS phishing reads (the corpus's smishing texts); a
// real sign-in link never needs it, and a real security alert's link is not a
// sign-in link. Such a message's link is never released.
var alarmWords = []string{
	"locked", "suspended", "suspend ", "restricted", "limited", "on hold", "frozen", "blocked", "disabled",
	"unusual", "suspicious", "unauthorized", "unauthorised", "irregular", "fraud", "compromised",
	"deactivated", "closure", "avoid", "to prevent", "urgent", "immediately", "will be closed",
	"wasn't you", "wasnt you", "was not you", "wasn't attempted", "if not,", "placed a hold", "time sensitive",
	"failure to respond", "package", "parcel", "shipment", "delivery", "deliver", "redelivery", "postal", "usps", "tracking",
}

// ExtractLink returns the sign-in or verification link a message carries
// ("https://acme.com/l/AbC123"), or "" when it has none.
//
// Only http and https URLs written with their scheme count, and only in a
// message that says what the link is for (sign in, log in, verify, magic link,
// confirm your email, reset your password, …) and is neither marketing (adWords)
// nor alarm (alarmWords: a locked account, a parcel held, the words of phishing).
// The link is returned exactly as
// written — a substring of body — with trailing punctuation (".", ",", "!", an
// unbalanced ")") left out. It is refused whole, never repaired, when it is
// longer than MaxLinkLen, names a user ("https://acme.com@evil.example"), has
// no dotted host name (IP addresses included), or runs on into non-ASCII
// letters (a look-alike host such as "https://аcme.com" with a Cyrillic а):
// the customer gets the link the sender wrote or none. When a message holds
// several links, the first that passes is returned.
func ExtractLink(body string) string {
	if !utf8.ValidString(body) || !linkWording(body) {
		return ""
	}
	for off := 0; off < len(body); {
		i := indexFold(body[off:], "http")
		if i < 0 {
			return ""
		}
		i += off
		off = i + 4
		if l, ok := scanLink(body, i); ok {
			return l
		}
	}
	return ""
}

// linkWording reports whether the message says its link is for signing in or
// verifying, in its words outside any URL ("https://shop.example/login" in an
// advert says nothing).
func linkWording(body string) bool {
	words := strings.Fields(strings.ToLower(Normalize(body)))
	words = slices.DeleteFunc(words, func(w string) bool { return strings.Contains(w, "://") })
	f := strings.Join(words, " ")
	for _, w := range adWords {
		if strings.Contains(f, w) {
			return false
		}
	}
	for _, w := range alarmWords {
		if strings.Contains(f, w) {
			return false
		}
	}
	for _, w := range linkWords {
		if strings.Contains(f, w) {
			return true
		}
	}
	return false
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring ASCII case.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// scanLink reads the URL that starts at body[i] ("http…"), if it is one.
func scanLink(body string, i int) (string, bool) {
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(body[:i]); unicode.IsLetter(r) || unicode.IsDigit(r) {
			return "", false // "xhttps://…" is not a link
		}
	}
	rest := body[i:]
	var scheme int
	switch {
	case len(rest) >= 8 && strings.EqualFold(rest[:8], "https://"):
		scheme = 8
	case len(rest) >= 7 && strings.EqualFold(rest[:7], "http://"):
		scheme = 7
	default:
		return "", false
	}
	j := scheme
	for j < len(rest) && urlByte(rest[j]) {
		j++
	}
	if j < len(rest) {
		if r, _ := utf8.DecodeRuneInString(rest[j:]); r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
			return "", false // the URL runs on into non-ASCII letters
		}
	}
	l := trimLinkEnd(rest[:j])
	if len(l) <= scheme || len(l) > MaxLinkLen {
		return "", false
	}
	u, err := url.Parse(l)
	if err != nil || u.User != nil || u.Opaque != "" || !linkHost(u.Hostname()) {
		return "", false
	}
	if p := u.Port(); p != "" && (len(p) > 5 || strings.Trim(p, "0123456789") != "") {
		return "", false
	}
	return l, true
}

// urlByte reports whether c may appear in a URL as written in a message (RFC
// 3986's unreserved, reserved and '%' characters).
func urlByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// trimLinkEnd drops the punctuation that ends the sentence around a link:
// ".", ",", ";", ":", "!", "?", quotes, and a closing bracket without its
// opening one ("(see https://acme.com/x)").
func trimLinkEnd(l string) string {
	for l != "" {
		c := l[len(l)-1]
		switch {
		case strings.IndexByte(".,;:!?'*", c) >= 0:
		case c == ')' && strings.Count(l, "(") < strings.Count(l, ")"):
		case c == ']' && strings.Count(l, "[") < strings.Count(l, "]"):
		default:
			return l
		}
		l = l[:len(l)-1]
	}
	return l
}

// linkHost reports whether h is a DNS name with at least two labels and an
// alphabetic top-level label: "acme.com", "login.acme.co.uk"; not an IP address,
// "localhost" or "acme".
func linkHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for k := 0; k < len(l); k++ {
			if c := l[k]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for k := 0; k < len(tld); k++ {
		if c := tld[k]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
