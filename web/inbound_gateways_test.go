package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// TestTwilioSignature: Twilio's own published example (auth token 12345).
func TestTwilioSignature(t *testing.T) {
	t.Parallel()
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	if got := twilioSignature("12345", u, form); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatalf("signature %q, want Twilio's RSOYDt4T1cUTdK1PDd93/VVr8B8=", got)
	}
	form.Set("Digits", "9999")
	if twilioSignature("12345", u, form) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatal("a changed parameter kept the signature")
	}
}

// TestTwilioSignatureSnippet: the example of Twilio's own code snippets for
// signature validation (api-snippets, security/signature_validation), and a name
// sent twice, signed as Twilio's libraries sign it (its values sorted).
func TestTwilioSignatureSnippet(t *testing.T) {
	t.Parallel()
	form := url.Values{"To": {"+18005551212"}, "From": {"+14158675310"}, "Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675310"}}
	if got := twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != "GvWf1cFY/Q7PnoempGyD5oXAezc=" {
		t.Fatalf("signature %q, want GvWf1cFY/Q7PnoempGyD5oXAezc=", got)
	}
	a, b := url.Values{"Body": {"b", "a"}, "To": {"x"}}, url.Values{"To": {"x"}, "Body": {"a", "b"}}
	if twilioSignature("k", "https://h/p", a) != twilioSignature("k", "https://h/p", b) {
		t.Fatal("the order of a name's values changed the signature")
	}
}

// TestTwilioURLs: the URLs a signature is checked against are the one the
// provider called, as far as this server can know it, with and without the
// scheme's default port; X-Forwarded-Proto counts only from a trusted proxy.
func TestTwilioURLs(t *testing.T) {
	t.Parallel()
	const path = "/v1/inbound/twilio/0190a8c2-0000-7000-8000-000000000000?x=%2F1"
	urls := func(s *Server, r *http.Request) []string {
		var got []string
		s.withClientInfo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = twilioURLs(r) })).ServeHTTP(httptest.NewRecorder(), r)
		return got
	}
	req := func(target, from, proto string, secure bool) *http.Request {
		r := httptest.NewRequest("POST", target+path, nil)
		r.RemoteAddr = from + ":4000"
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		if secure {
			r.TLS = &tls.ConnectionState{}
		}
		return r
	}
	public, _ := ParsePublicURL("https://api.fetchsms.example")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for name, c := range map[string]struct {
		s    *Server
		r    *http.Request
		want []string
	}{
		"plain":           {&Server{}, req("http://sms.example", "203.0.113.9", "", false), []string{"http://sms.example" + path, "http://sms.example:80" + path}},
		"another port":    {&Server{}, req("http://127.0.0.1:8080", "127.0.0.1", "", false), []string{"http://127.0.0.1:8080" + path}},
		"tls":             {&Server{}, req("https://sms.example:443", "203.0.113.9", "", true), []string{"https://sms.example:443" + path, "https://sms.example" + path}},
		"ipv6":            {&Server{}, req("http://[::1]:80", "::1", "", false), []string{"http://[::1]:80" + path, "http://[::1]" + path}},
		"trusted proxy":   {&Server{TrustedProxies: proxies}, req("http://sms.example", "10.1.2.3", "https", false), []string{"https://sms.example" + path, "https://sms.example:443" + path}},
		"untrusted proxy": {&Server{TrustedProxies: proxies}, req("http://sms.example", "203.0.113.9", "https", false), []string{"http://sms.example" + path, "http://sms.example:80" + path}},
		"public url":      {&Server{PublicURL: public}, req("http://sms.example", "203.0.113.9", "", false), []string{"https://api.fetchsms.example" + path, "https://api.fetchsms.example:443" + path}},
	} {
		if got := urls(c.s, c.r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

func androidSign(key, body []byte, ts string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	mac.Write([]byte(ts))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestAndroidSignature: hex HMAC-SHA256 of the body followed by X-Timestamp,
// within five minutes of now.
func TestAndroidSignature(t *testing.T) {
	t.Parallel()
	key, body := []byte("fsg_token"), []byte(`{"event":"system:ping","deviceId":"d"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	if err := androidSignatureOK(key, body, ts, androidSign(key, body, ts), now); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	for name, c := range map[string]struct{ ts, sig string }{
		"forged body":  {ts, androidSign(key, []byte("{}"), ts)},
		"wrong key":    {ts, androidSign([]byte("other"), body, ts)},
		"no signature": {ts, ""},
		"not hex":      {ts, "zz"},
		"no timestamp": {"", androidSign(key, body, "")},
		"replayed":     {old, androidSign(key, body, old)},
	} {
		if err := androidSignatureOK(key, body, c.ts, c.sig, now); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
			t.Errorf("%s: %v, want EUNAUTHORIZED", name, err)
		}
	}
}

func TestParseAndroidWebhook(t *testing.T) {
	t.Parallel()
	ev, err := ParseAndroidWebhook([]byte(`{"deviceId":"ffffffffceb0b1db","event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C","webhookId":"LreFUt-Z3sSq0JufY9uWB",
		"payload":{"messageId":"abc123","message":"Telegram code: 48213","phoneNumber":"+16505550100","simNumber":2,"receivedAt":"2026-06-17T22:14:05.000+02:00"}}`))
	if err != nil || !strings.HasPrefix(ev.SMS.ID, "android:abc123:") || len(ev.SMS.ID) > 200 || ev.SMS.DeviceID != "ffffffffceb0b1db" || ev.SMS.SimSlot != 2 || ev.SMS.From != "+16505550100" ||
		ev.SMS.Body != "Telegram code: 48213" || !ev.SMS.ReceivedAt.Equal(time.Date(2026, 6, 17, 20, 14, 5, 0, time.UTC)) {
		t.Fatalf("%+v %v", ev, err)
	}
	for _, bad := range []string{`{}`, `[]`, `{"event":"sms:received","deviceId":"d"}`, `{"event":"sms:received","deviceId":"d","payload":{"messageId":"m","message":"x","simNumber":"one"}}`,
		`{"event":"sms:received","deviceId":"d","payload":{"message":"x","phoneNumber":"p"}}`,
		`{"event":"sms:received","deviceId":"d","payload":{"messageId":"` + strings.Repeat("m", 101) + `","message":"x"}}`, `{"event":"x","deviceId":""}`} {
		if _, err := ParseAndroidWebhook([]byte(bad)); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Errorf("%s: %v, want EINVALID", bad, err)
		}
	}
}

// TestAndroidSignatureDocumented: the worked example of the app's maintainer
// (the body as the phone sends it, X-Timestamp 1741912196), signed with a key of
// ours outside Go, as the app's documentation says:
//
//	printf '%s%s' "$BODY" 1741912196 | openssl dgst -sha256 -hmac 'fsg_example-signing-key'
func TestAndroidSignatureDocumented(t *testing.T) {
	t.Parallel()
	const body = `{"deviceId":"ffffffffceb0b1db00000193991c27e5","event":"sms:received","id":"-9qZ4oiiZZRm-h_A3mrp2","payload":{"message":"Android is always a sweet treat!","receivedAt":"2025-03-14T07:29:55.000+07:00","messageId":"69bde8d0","phoneNumber":"6505551212","simNumber":1},"webhookId":"LreFUt-Z3sSq0JufY9uWB"}`
	const sig = "99cda3fd5b792779cc2a06d8d9f9caa69236b5114b49b5dc0be4868f4e7f1a54"
	at := time.Unix(1741912196, 0).Add(90 * time.Second)
	if err := androidSignatureOK([]byte("fsg_example-signing-key"), []byte(body), "1741912196", sig, at); err != nil {
		t.Fatalf("the documented example: %v", err)
	}
	if err := androidSignatureOK([]byte("fsg_example-signing-key"), []byte(body), "1741912197", sig, at); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("another timestamp: %v", err)
	}
}

// TestParseAndroidWebhookAsSent: what the app's source sends beyond its
// documented example.
func TestParseAndroidWebhookAsSent(t *testing.T) {
	t.Parallel()
	const doc = `{"deviceId":"ffffffffceb0b1db00000193991c27e5","event":"sms:received","id":"-9qZ4oiiZZRm-h_A3mrp2","payload":{"message":"Android is always a sweet treat!","receivedAt":"2025-03-14T07:29:55.000+07:00","messageId":"69bde8d0","phoneNumber":"6505551212","simNumber":1},"webhookId":"LreFUt-Z3sSq0JufY9uWB"}`
	parse := func(body string) fetchsms.InboundSMS {
		t.Helper()
		ev, err := ParseAndroidWebhook([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return ev.SMS
	}
	first := parse(doc)
	// Sent again (a retry, a second webhook): one message. The app's 32-bit
	// messageId on another message: another message.
	if again := parse(doc); again.ID != first.ID {
		t.Fatal("the same event gave two message ids")
	}
	if other := parse(strings.Replace(doc, "07:29:55", "07:29:56", 1)); other.ID == first.ID {
		t.Fatal("two messages with one messageId got one id")
	}
	if other := parse(strings.Replace(doc, "sweet", "sour", 1)); other.ID == first.ID {
		t.Fatal("two texts with one messageId got one id")
	}
	// Android before 7 writes a negative offset wrongly: the message is taken,
	// at the time it arrives.
	if old := parse(strings.Replace(doc, "+07:00", "+-5:00", 1)); !old.ReceivedAt.IsZero() || old.Body != first.Body {
		t.Fatalf("a phone on Android 6: %+v", old)
	}
	// Newer versions name the sender in sender (phoneNumber kept, deprecated).
	if in := parse(strings.Replace(doc, `"phoneNumber":"6505551212"`, `"sender":"Telegram","phoneNumber":"6505551212"`, 1)); in.From != "Telegram" {
		t.Fatalf("sender: %+v", in)
	}
	// No simNumber: the SIM's own number, when given, names the number.
	noSlot := strings.Replace(doc, `,"simNumber":1`, "", 1)
	if in := parse(strings.Replace(noSlot, `"message"`, `"recipient":"(720) 555-3003","message"`, 1)); in.To != "+17205553003" || in.DeviceID != "" || in.SimSlot != 0 {
		t.Fatalf("routed by the SIM's number: %+v", in)
	}
	if in := parse(noSlot); in.To != "" || in.DeviceID != "ffffffffceb0b1db00000193991c27e5" || in.SimSlot != 0 {
		t.Fatalf("neither slot nor number: %+v", in)
	}
}

func FuzzAndroidWebhook(f *testing.F) {
	f.Add([]byte(`{"deviceId":"d","event":"sms:received","id":"e","payload":{"messageId":"m","message":"hi","phoneNumber":"+1","simNumber":1,"receivedAt":"2026-06-17T22:14:05Z"}}`))
	f.Add([]byte(`{"deviceId":"d","event":"system:ping"}`))
	f.Add([]byte(`{"deviceId":"d","event":"sms:received","id":"e","payload":{"message":"","sender":"s","recipient":"+13325550100","receivedAt":"2025-03-14T07:29:55.000+-5:00"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseAndroidWebhook(b)
		if err != nil {
			if fetchsms.ErrorCode(err) != fetchsms.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", b, err)
			}
			return
		}
		if ev.Event == "sms:received" && (ev.SMS.ID == "" || len(ev.SMS.ID) > 200 || ev.SMS.SimSlot < 0 || (ev.SMS.DeviceID == "") == (ev.SMS.To == "")) {
			t.Fatalf("%q gave %+v", b, ev)
		}
		if again, _ := ParseAndroidWebhook(b); again.SMS.ID != ev.SMS.ID {
			t.Fatalf("%q: two ids for one body", b)
		}
	})
}

func FuzzTwilioForm(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B1&To=%2B13325550100&Body=hi")
	f.Add("Body=")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := ParseTwilioForm(form)
		if err != nil {
			if fetchsms.ErrorCode(err) != fetchsms.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", raw, err)
			}
			return
		}
		if in.ID == "" || in.From == "" || in.To == "" {
			t.Fatalf("%q gave %+v", raw, in)
		}
		_ = twilioSignature("k", "https://x/y", form)
	})
}
