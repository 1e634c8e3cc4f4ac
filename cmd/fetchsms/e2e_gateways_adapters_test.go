package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGatewayAdapters: the SMS Gateway for Android app's webhooks and
// Twilio-style form posts reach the one inbound pipeline unchanged, checked
// with the gateway's token as each signs; forged, replayed or foreign requests
// change nothing; a rotated token or a disabled gateway stops at once. On every
// engine (issue 18).
func TestGatewayAdapters(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--secret-key-file", secretKeyFile(t))
		newGateway := func(name string, numbers []map[string]any) (id, token string) {
			t.Helper()
			gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": name}, http.StatusCreated)
			s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": gw["id"], "numbers": numbers}, http.StatusCreated)
			return str(t, gw["id"]), str(t, gw["token"])
		}
		buy := func(area string) map[string]any {
			t.Helper()
			return s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram", "area_code": area}, http.StatusCreated)
		}
		codeOf := func(id string) any {
			t.Helper()
			return s.call(t, http.MethodGet, "/v1/verifications/"+id, s.APIKey, nil, http.StatusOK)["code"]
		}

		// The Android app: a phone with two SIMs.
		phone, ptoken := newGateway("Pixel", []map[string]any{
			{"number": "+17185550101", "device_id": "ffffffffceb0b1db", "sim_slot": 1},
			{"number": "+17185550102", "device_id": "ffffffffceb0b1db", "sim_slot": 2}})
		v := buy("718")
		slot := 1
		if e164(t, str(t, v["number"])) == "+17185550102" {
			slot = 2
		}
		android := func(key, ts, body string) (int, string) {
			t.Helper()
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(body + ts))
			st, _, raw, err := s.sendWith(http.MethodPost, "/v1/inbound/android/"+phone, "", body,
				http.Header{"X-Signature": {hex.EncodeToString(mac.Sum(nil))}, "X-Timestamp": {ts}})
			if err != nil {
				t.Fatal(err)
			}
			return st, string(raw)
		}
		now := strconv.FormatInt(time.Now().Unix(), 10)
		received := func(msgID string, sim int, text string) string {
			return fmt.Sprintf(`{"deviceId":"ffffffffceb0b1db","event":"sms:received","id":"ev-%s","webhookId":"wh1","payload":{"messageId":%q,"message":%q,"phoneNumber":"Telegram","simNumber":%d,"receivedAt":%q}}`,
				msgID, msgID, text, sim, time.Now().Format(time.RFC3339))
		}
		body := received("m1", slot, "Telegram code: 61842")
		// Forged, wrong key, replayed, unsigned: 401, nothing stored.
		forged := strings.Replace(body, "61842", "00000", 1)
		old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
		for name, c := range map[string]struct{ key, ts, body string }{
			"wrong key": {"fsg_wrong", now, body}, "replayed": {ptoken, old, body},
		} {
			if st, raw := android(c.key, c.ts, c.body); st != http.StatusUnauthorized || !strings.Contains(raw, `"code"`) {
				t.Fatalf("%s: %d %s", name, st, raw)
			}
		}
		st, _, raw, _ := s.sendWith(http.MethodPost, "/v1/inbound/android/"+phone, "", forged, http.Header{"X-Signature": {"00"}, "X-Timestamp": {now}})
		if st != http.StatusUnauthorized {
			t.Fatalf("a forged body: %d %s", st, raw)
		}
		if codeOf(str(t, v["id"])) != nil {
			t.Fatal("a refused webhook delivered a code")
		}
		// The real one, twice: one code.
		for range 2 {
			if st, raw := android(ptoken, now, body); st != http.StatusOK || !strings.Contains(raw, str(t, v["id"])) {
				t.Fatalf("the app's sms:received: %d %s", st, raw)
			}
		}
		if c := codeOf(str(t, v["id"])); c != "61842" {
			t.Fatalf("code after the app's webhook: %v", c)
		}
		// A SIM slot that holds no number: 404, kept as unmatched.
		if st, raw := android(ptoken, now, received("m2", 3, "hello")); st != http.StatusNotFound || !strings.Contains(raw, "unmatched") {
			t.Fatalf("an unknown slot: %d %s", st, raw)
		}
		// The heartbeat moves last_seen_at; other events are acknowledged and ignored.
		if st, raw := android(ptoken, now, `{"deviceId":"ffffffffceb0b1db","event":"system:ping","id":"p1","payload":{"health":{"status":"pass"}}}`); st != http.StatusOK {
			t.Fatalf("system:ping: %d %s", st, raw)
		}
		if st, raw := android(ptoken, now, `{"deviceId":"ffffffffceb0b1db","event":"sms:sent","id":"s1","payload":{}}`); st != http.StatusOK || !strings.Contains(raw, "ignored") {
			t.Fatalf("sms:sent: %d %s", st, raw)
		}
		if st, raw := android(ptoken, now, `{"event":`); st != http.StatusBadRequest {
			t.Fatalf("a malformed body: %d %s", st, raw)
		}

		// Twilio-style: a provider number.
		prov, _ := newGateway("Twilio account", []map[string]any{{"number": "+15095550188"}})
		// Twilio signs with the account's auth token: the gateway takes it as its token.
		s.expect(t, http.MethodPost, "/v1/admin/gateways/"+prov+"/rotate", s.AdminSession, map[string]any{"token": "short"}, http.StatusUnprocessableEntity)
		const ttoken = "9f86d081884c7d659a2feaa0c55ad015"
		if g := s.call(t, http.MethodPost, "/v1/admin/gateways/"+prov+"/rotate", s.AdminSession, map[string]any{"token": ttoken}, http.StatusCreated); g["token"] != ttoken || g["signs"] != true {
			t.Fatalf("a gateway given the provider's auth token: %v", g)
		}
		w := buy("509")
		twilio := func(token, path string, form url.Values) (int, string) {
			t.Helper()
			st, _, raw := s.twilioPost(t, token, path, form)
			return st, raw
		}
		form := url.Values{"MessageSid": {"SM0001"}, "AccountSid": {"AC1"}, "From": {"Telegram"}, "To": {"+15095550188"}, "Body": {"Telegram code: 27315"}, "NumSegments": {"1"}}
		tpath := "/v1/inbound/twilio/" + prov
		if st, raw := twilio("wrong-token", tpath, form); st != http.StatusUnauthorized {
			t.Fatalf("a forged Twilio post: %d %s", st, raw)
		}
		if st, raw := twilio(ttoken, tpath, form); st != http.StatusOK || !strings.Contains(raw, "<Response/>") {
			t.Fatalf("a Twilio post: %d %s", st, raw)
		}
		if c := codeOf(str(t, w["id"])); c != "27315" {
			t.Fatalf("code after the Twilio post: %v", c)
		}
		// Another gateway's number: 404, kept as unmatched; never delivered.
		other := url.Values{"MessageSid": {"SM0002"}, "From": {"x"}, "To": {"+17185550101"}, "Body": {"not yours"}}
		if st, raw := twilio(ttoken, tpath, other); st != http.StatusNotFound {
			t.Fatalf("another gateway's number: %d %s", st, raw)
		}
		un := s.list(t, "/v1/admin/inbound/unmatched", s.AdminSession)
		if len(un) != 2 {
			t.Fatalf("unmatched messages: %v", un)
		}
		// One gateway's signature on another's path: 401.
		if st, _ := twilio(ptoken, tpath, url.Values{"MessageSid": {"SM0003"}, "From": {"x"}, "To": {"+15095550188"}, "Body": {"x"}}); st != http.StatusUnauthorized {
			t.Fatalf("the phone's token on the Twilio gateway: %d", st)
		}

		// Rotation stops the old token's signatures at once; disabling stops all.
		rot := s.call(t, http.MethodPost, "/v1/admin/gateways/"+phone+"/rotate", s.AdminSession, nil, http.StatusCreated)
		ping := `{"deviceId":"ffffffffceb0b1db","event":"system:ping","id":"p2"}`
		if st, _ := android(ptoken, now, ping); st != http.StatusUnauthorized {
			t.Fatalf("the old token after rotation: %d", st)
		}
		if st, raw := android(str(t, rot["token"]), now, ping); st != http.StatusOK {
			t.Fatalf("the new token: %d %s", st, raw)
		}
		s.call(t, http.MethodPost, "/v1/admin/gateways/"+phone+"/disable", s.AdminSession, nil, http.StatusOK)
		if st, _ := android(str(t, rot["token"]), now, ping); st != http.StatusUnauthorized {
			t.Fatalf("a disabled gateway: %d", st)
		}
		for _, g := range s.list(t, "/v1/admin/gateways", s.AdminSession) {
			if g["id"] == phone && g["last_seen_at"] == nil {
				t.Errorf("the phone's gateway was never seen: %v", g)
			}
		}
	})
}

// TestGatewayAndroidAsSent: what the Android app's source sends beyond its
// documented example reaches the right purchase: a messageId shared by two
// messages (it is a 32-bit hash), the time an Android 6 phone writes, no SIM
// slot but the SIM's own number, the sender in sender; and text no store keeps
// is refused with nothing stored. On every engine.
func TestGatewayAndroidAsSent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s, id, token := startWithGateway(t, engine, "Android 6 phone")
		const device = "ffffffffceb0b1db00000193991c27e5"
		s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": id, "numbers": []map[string]any{
			{"number": "+17205553001", "device_id": device, "sim_slot": 1}, {"number": "+17205553002", "device_id": device, "sim_slot": 2}}}, http.StatusCreated)
		post := func(t *testing.T, payload string, want int) map[string]any {
			t.Helper()
			body := `{"deviceId":"` + device + `","event":"sms:received","id":"ev-` + randomHex(6) + `","payload":` + payload + `,"webhookId":"LreFUt-Z3sSq0JufY9uWB"}`
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte(token))
			mac.Write([]byte(body + ts))
			st, h, raw, err := s.sendWith(http.MethodPost, "/v1/inbound/android/"+id, "", body, http.Header{"X-Signature": {hex.EncodeToString(mac.Sum(nil))}, "X-Timestamp": {ts}})
			if err != nil {
				t.Fatal(err)
			}
			if st >= 400 {
				assertErrorBody(t, "POST /v1/inbound/android", h, raw)
			}
			if st != want {
				t.Fatalf("%s: %d, want %d: %s", payload, st, want, raw)
			}
			return decode[map[string]any](t, raw)
		}
		buy := func(t *testing.T) (string, int) {
			t.Helper()
			v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram", "area_code": "720"}, http.StatusCreated)
			slot := 1
			if e164(t, str(t, v["number"])) == "+17205553002" {
				slot = 2
			}
			return str(t, v["id"]), slot
		}
		codeOf := func(t *testing.T, vid string) any {
			t.Helper()
			return s.call(t, http.MethodGet, "/v1/verifications/"+vid, s.APIKey, nil, http.StatusOK)["code"]
		}
		stored := func(t *testing.T) int {
			t.Helper()
			return len(s.list(t, "/v1/admin/inbound?limit=200", s.AdminSession))
		}

		// Android 6 writes -05:00 as "+-5:00"; the same messageId then names
		// another message.
		vid, slot := buy(t)
		post(t, fmt.Sprintf(`{"message":"hello","receivedAt":"2026-06-17T09:14:05.000+-5:00","messageId":"69bde8d0","phoneNumber":"+16505551212","simNumber":%d}`, 3-slot), http.StatusOK)
		before := stored(t)
		ans := post(t, fmt.Sprintf(`{"message":"Telegram code: 482910","receivedAt":"2026-06-17T09:14:09.000+-5:00","messageId":"69bde8d0","sender":"Telegram","phoneNumber":"Telegram","simNumber":%d}`, slot), http.StatusOK)
		if rt, _ := ans["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != vid || stored(t) != before+1 || codeOf(t, vid) != "482910" {
			t.Fatalf("the second message with the app's same messageId: %v, stored %d → %d, code %v", ans, before, stored(t), codeOf(t, vid))
		}

		// No SIM slot: the SIM's own number names it; without it, unmatched.
		vid, slot = buy(t)
		post(t, fmt.Sprintf(`{"message":"Telegram code: 771204","messageId":"1a2b3c4d","sender":"Telegram","phoneNumber":"Telegram","recipient":"720555300%d"}`, slot), http.StatusOK)
		if c := codeOf(t, vid); c != "771204" {
			t.Fatalf("code through the SIM's number: %v", c)
		}
		d := post(t, `{"message":"Telegram code: 909090","messageId":"5e6f7a8b","phoneNumber":"Telegram"}`, http.StatusNotFound)["detail"]
		if !strings.Contains(fmt.Sprint(d), "simNumber is null") {
			t.Fatalf("detail %v", d)
		}
		found := false
		for _, u := range s.list(t, "/v1/admin/inbound/unmatched", s.AdminSession) {
			found = found || u["device_id"] == device && u["sim_slot"] == float64(0) && u["body"] == "Telegram code: 909090"
		}
		if !found {
			t.Fatal("the message without a SIM slot is not listed as unmatched")
		}

		// A NUL in the text: 400, nothing stored, on either engine.
		before = stored(t)
		post(t, `{"message":"Telegram code: 1\u00002","messageId":"9c0d1e2f","phoneNumber":"Telegram","simNumber":1}`, http.StatusBadRequest)
		if after := stored(t); after != before {
			t.Fatalf("a refused message was stored: %d → %d", before, after)
		}
	})
}

// TestGatewayTwilioStatusCallback: a provider's status callback pointed at the
// messaging webhook (the delivery status of a message sent) is answered with
// empty TwiML and stores nothing; a message received beside it is stored.
func TestGatewayTwilioStatusCallback(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s, id, token := startWithGateway(t, engine, "Twilio account")
		s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": id, "numbers": []string{"+15095550190"}}, http.StatusCreated)
		path := "/v1/inbound/twilio/" + id
		post := func(t *testing.T, form url.Values) {
			t.Helper()
			if st, h, raw := s.twilioPost(t, token, path, form); st != http.StatusOK || !strings.Contains(raw, "<Response/>") {
				t.Fatalf("%v: %d %s %s", form, st, h.Get("Content-Type"), raw)
			}
		}
		stored := func() int { return len(s.list(t, "/v1/admin/inbound?limit=200", s.AdminSession)) }
		for _, st := range []string{"sent", "delivered", "undelivered", "failed"} {
			post(t, url.Values{"MessageSid": {"SM" + randomHex(8)}, "AccountSid": {"AC1"}, "MessageStatus": {st}, "SmsStatus": {st}, "From": {"+15095550190"}, "To": {"+16505551212"}})
		}
		if n := stored(); n != 0 {
			t.Fatalf("status callbacks stored %d messages", n)
		}
		post(t, url.Values{"MessageSid": {"SM" + randomHex(8)}, "SmsStatus": {"received"}, "From": {"+16505551212"}, "To": {"+15095550190"}, "Body": {"hello"}})
		if n := stored(); n != 1 {
			t.Fatalf("a message received: %d stored", n)
		}
	})
}

// twilioPost posts form to path signed as Twilio signs it (base64 HMAC-SHA1,
// keyed by the auth token, of the URL and each parameter sorted by name); a 200
// must be TwiML.
func (s *testServer) twilioPost(t *testing.T, token, path string, form url.Values) (int, http.Header, string) {
	t.Helper()
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	signed := s.BaseURL + path
	for _, k := range keys {
		signed += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(signed))
	st, h, raw, err := s.sendWith(http.MethodPost, path, "", form.Encode(), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "X-Twilio-Signature": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}})
	if err != nil {
		t.Fatal(err)
	}
	if st == http.StatusOK && !strings.HasPrefix(h.Get("Content-Type"), "text/xml") {
		t.Errorf("a Twilio answer of %s", h.Get("Content-Type"))
	}
	return st, h, string(raw)
}
