package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
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
