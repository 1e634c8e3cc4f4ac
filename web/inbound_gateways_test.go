package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
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
	if err != nil || ev.SMS.ID != "abc123" || ev.SMS.DeviceID != "ffffffffceb0b1db" || ev.SMS.SimSlot != 2 || ev.SMS.From != "+16505550100" ||
		ev.SMS.Body != "Telegram code: 48213" || !ev.SMS.ReceivedAt.Equal(time.Date(2026, 6, 17, 20, 14, 5, 0, time.UTC)) {
		t.Fatalf("%+v %v", ev, err)
	}
	for _, bad := range []string{`{}`, `[]`, `{"event":"sms:received","deviceId":"d"}`, `{"event":"sms:received","deviceId":"d","payload":{"messageId":"m","message":"x","simNumber":"one"}}`,
		`{"event":"sms:received","deviceId":"d","payload":{"messageId":"m","message":"x","receivedAt":"yesterday"}}`, `{"event":"x","deviceId":""}`} {
		if _, err := ParseAndroidWebhook([]byte(bad)); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Errorf("%s: %v, want EINVALID", bad, err)
		}
	}
}

func FuzzAndroidWebhook(f *testing.F) {
	f.Add([]byte(`{"deviceId":"d","event":"sms:received","id":"e","payload":{"messageId":"m","message":"hi","phoneNumber":"+1","simNumber":1,"receivedAt":"2026-06-17T22:14:05Z"}}`))
	f.Add([]byte(`{"deviceId":"d","event":"system:ping"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseAndroidWebhook(b)
		if err != nil {
			if fetchsms.ErrorCode(err) != fetchsms.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", b, err)
			}
			return
		}
		if ev.Event == "sms:received" && (ev.SMS.ID == "" || ev.SMS.DeviceID == "" || ev.SMS.SimSlot < 0) {
			t.Fatalf("%q gave %+v", b, ev)
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
