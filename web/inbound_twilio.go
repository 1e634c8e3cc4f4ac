package web

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Twilio, and the many SMS providers that copied its webhook, post each SMS a
// number receives as a form (MessageSid, AccountSid, From, To, Body,
// NumSegments, …) with X-Twilio-Signature: the base64 HMAC-SHA1, keyed by the
// account's auth token (here, the gateway's token), of the full URL the provider
// called followed by every POST parameter's name and value, sorted by name. The
// answer is TwiML; an empty <Response/> sends no reply SMS. Twilio delivers a
// long SMS joined. docs/GATEWAYS.md, "Twilio and Twilio-style providers", is
// the operator's side.
//
// The URL signed is the one the provider was given: this server's public URL
// (serve --public-url) when set, else the scheme and host the request reached
// us by (X-Forwarded-Proto only from --trusted-proxies), with the path and query;
// with or without the scheme's default port, as Twilio's own libraries accept.
// A status callback pointed here (MessageStatus "sent", "delivered", …) is
// answered as a message and ignored: we send no SMS.

// maxTwilioBody caps one webhook call.
const maxTwilioBody = 64 << 10

// twilioSignature is Twilio's signature of a request to fullURL with form.
func twilioSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		values := append([]string(nil), form[k]...)
		sort.Strings(values) // a name sent twice: its values in order, as Twilio's libraries
		for _, v := range values {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseTwilioForm reads an inbound SMS from a Twilio-style form; a form without
// the fields it needs is EINVALID.
func ParseTwilioForm(form url.Values) (fetchsms.InboundSMS, error) {
	id := form.Get("MessageSid")
	if id == "" {
		id = form.Get("SmsSid")
	}
	bad := func(format string, args ...any) (fetchsms.InboundSMS, error) {
		return fetchsms.InboundSMS{}, fetchsms.Errorf(fetchsms.EINVALID, "not an inbound SMS webhook of Twilio's form: "+format, args...)
	}
	switch {
	case !printableID(id):
		return bad("MessageSid is required")
	case form.Get("From") == "":
		return bad("From is required")
	case form.Get("To") == "":
		return bad("To (the receiving number, E.164) is required")
	case !form.Has("Body"):
		return bad("Body is required")
	}
	return fetchsms.InboundSMS{ID: id, To: form.Get("To"), From: form.Get("From"), Body: form.Get("Body")}, nil
}

// emptyTwiML answers a provider's webhook without a reply SMS.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// handleInboundTwilio takes Twilio-style webhooks: POST /v1/inbound/twilio/{gateway_id}.
func (s *Server) handleInboundTwilio(w http.ResponseWriter, r *http.Request) {
	gatewayID := r.PathValue("gateway_id")
	r.Body = http.MaxBytesReader(w, r.Body, maxTwilioBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.ETOOLARGE, "a webhook call is limited to %d bytes", maxTwilioBody))
			return
		}
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "the body is not a form (application/x-www-form-urlencoded)"))
		return
	}
	key, err := s.gatewayKey(r, gatewayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	got, signed := r.Header.Get("X-Twilio-Signature"), false
	for _, u := range twilioURLs(r) {
		signed = signed || got != "" && hmac.Equal([]byte(got), []byte(twilioSignature(string(key), u, r.PostForm)))
	}
	if !signed {
		s.writeError(w, r, fetchsms.Reasonf(fetchsms.EUNAUTHORIZED, fetchsms.ReasonBadSignature,
			"X-Twilio-Signature does not check out with this gateway's token for %s (the URL the provider calls must be exactly this one)", baseURL(r)+r.URL.Path))
		return
	}
	status := r.PostForm.Get("SmsStatus")
	if status == "" {
		status = r.PostForm.Get("MessageStatus")
	}
	if status == "" || strings.EqualFold(status, "received") {
		in, err := ParseTwilioForm(r.PostForm)
		if err == nil {
			_, err = s.receive(r, gatewayID, in)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(emptyTwiML))
}

// twilioURLs are the URLs the provider may have signed for r: the one it called
// as this server knows it (baseURL, then the path and query), then the same
// with the scheme's default port added, or removed.
func twilioURLs(r *http.Request) []string {
	base, uri := baseURL(r), r.URL.RequestURI()
	out := []string{base + uri}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return out
	}
	port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	switch host := u.Hostname(); u.Port() {
	case "":
		out = append(out, u.Scheme+"://"+net.JoinHostPort(host, port)+uri)
	case port:
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		out = append(out, u.Scheme+"://"+host+uri)
	}
	return out
}

// gatewayKey is the key a gateway's software signs with: its token. An unknown
// gateway is EUNAUTHORIZED, as a wrong signature is (no answer tells which ids exist).
func (s *Server) gatewayKey(r *http.Request, gatewayID string) ([]byte, error) {
	key, err := s.App.GatewaySigningKey(r.Context(), gatewayID)
	if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
		err = fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "no gateway has this id")
	}
	return key, err
}
