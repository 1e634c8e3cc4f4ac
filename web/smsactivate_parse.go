package web

import (
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The SMS-Activate handler API's request side, apart from HTTP so that it can be
// fuzzed (FuzzHandlerAPI): its parameters, activation ids, prices and filters.

// handlerParams merges a call's parameters: the query string's, then those of an
// application/x-www-form-urlencoded body (tools send either, GET or POST). The
// first value of a name counts. A body of any other type is ignored, as the
// protocol has none.
func handlerParams(rawQuery, contentType string, body []byte) url.Values {
	params, _ := url.ParseQuery(rawQuery) // a malformed pair is skipped, the rest kept
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/x-www-form-urlencoded" {
		form, _ := url.ParseQuery(string(body))
		for k, vs := range form {
			if _, ok := params[k]; !ok {
				params[k] = vs
			}
		}
	}
	return params
}

// activationIDBase makes every activation id 12 digits long: an id is 10^11 plus
// the verification's ref read as a base-62 number (below 62^6 < 10^11). Tools
// parse ids as integers (JavaScript ones as doubles: 12 digits are exact).
const activationIDBase = 100_000_000_000

const refSpace = 62 * 62 * 62 * 62 * 62 * 62

// activationID is the protocol's id of the verification with this ref; 0 when the
// ref is not of the verification form ("v_" and six base-62 characters).
func activationID(ref string) int64 {
	digits, ok := strings.CutPrefix(ref, "v_")
	if !ok || len(digits) != 6 {
		return 0
	}
	var v int64
	for i := 0; i < len(digits); i++ {
		d := strings.IndexByte(fetchsms.RefAlphabet, digits[i])
		if d < 0 {
			return 0
		}
		v = v*62 + int64(d)
	}
	return activationIDBase + v
}

// refOfActivation is the ref an activation id names; false when s is not an id
// this server gives (then no verification has it).
func refOfActivation(s string) (string, bool) {
	if len(s) != 12 {
		return "", false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < activationIDBase || n >= activationIDBase+refSpace {
		return "", false
	}
	n -= activationIDBase
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = fetchsms.RefAlphabet[n%62]
		n /= 62
	}
	return "v_" + string(d[:]), true
}

// protocolDollars renders cents as the protocol's dollar amounts: "0.70", "12.05".
func protocolDollars(c fetchsms.Cents) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// parseMaxPrice reads a maximum price in dollars ("0.5", "1", ".75", "0.505") as
// cents, rounded down: prices are whole cents, so a price is at most the
// maximum exactly when it is at most its cents. False when s is not a
// non-negative decimal number (of at most 7 whole digits).
func parseMaxPrice(s string) (fetchsms.Cents, bool) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && frac == "" || len(whole) > 7 || len(frac) > 20 {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	frac = (frac + "00")[:2]
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return fetchsms.Cents(w*100 + f), true
}

// maxAreas bounds the area codes one call may list.
const maxAreas = 20

// numberOrder is what getNumber and getNumberV2 ask for.
type numberOrder struct {
	Service  string          // the service's activation code
	Areas    []string        // area codes, in the order to try; none for any
	MaxPrice *fetchsms.Cents // nil: no maximum
}

// parseNumberOrder reads a getNumber call. The word is the protocol's answer
// when the call cannot be served as asked: WRONG_MAX_PRICE (a maximum that is
// not a price), BAD_SERVICE (no service), NO_NUMBERS (a filter no number of ours
// meets: another country than the USA (187), an operator or carrier, a given
// number, a long-term rental, call forwarding, a verification by call, or area
// codes that are not area codes).
func parseNumberOrder(p url.Values) (numberOrder, string) {
	var o numberOrder
	for _, name := range []string{"max_price", "maxPrice"} {
		if v := p.Get(name); v != "" {
			c, ok := parseMaxPrice(v)
			if !ok {
				return o, "WRONG_MAX_PRICE"
			}
			o.MaxPrice = &c
			break
		}
	}
	if o.Service = strings.TrimSpace(p.Get("service")); o.Service == "" {
		return o, "BAD_SERVICE"
	}
	if c := strings.TrimSpace(p.Get("country")); c != "" && c != countryUSA {
		return o, "NO_NUMBERS"
	}
	if op := strings.ToLower(strings.TrimSpace(p.Get("operator"))); op != "" && op != "any" {
		return o, "NO_NUMBERS"
	}
	if p.Get("carriers") != "" || p.Get("number") != "" {
		return o, "NO_NUMBERS"
	}
	// A long-term rental, call forwarding, or a verification by call.
	for _, name := range []string{"ltr", "forward", "activationType"} {
		if v := strings.TrimSpace(p.Get(name)); v != "" && v != "0" {
			return o, "NO_NUMBERS"
		}
	}
	if areas := strings.TrimSpace(p.Get("areas")); areas != "" {
		seen := map[string]bool{}
		for _, a := range strings.Split(areas, ",") {
			a = strings.TrimSpace(a)
			if !fetchsms.ValidAreaCode(a) || len(o.Areas) == maxAreas {
				return o, "NO_NUMBERS"
			}
			if !seen[a] {
				seen[a] = true
				o.Areas = append(o.Areas, a)
			}
		}
	}
	return o, ""
}

// countryUSA is the protocol's country id of the USA, the only one served.
const countryUSA = "187"
