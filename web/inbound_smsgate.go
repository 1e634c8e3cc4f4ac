package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The open-source "SMS Gateway for Android" app posts what its phone receives
// to a webhook, unchanged:
//
//	{"deviceId": "…", "event": "sms:received", "id": "<event id>", "webhookId": "…",
//	 "payload": {"messageId": "…", "message": "…", "phoneNumber": "<sender>",
//	             "simNumber": 1, "receivedAt": "2026-06-17T22:14:05.000+02:00"}}
//
// signed with the webhook's signing key (here, the gateway's token):
// X-Signature is the hex HMAC-SHA256 of the raw body followed by the X-Timestamp
// header (Unix seconds). The receiving number is the one imported with that
// device_id and sim_slot. "system:ping" is the app's heartbeat; its other events
// (sent, delivered, failed…) are acknowledged and ignored, so that the app does
// not retry them. docs/GATEWAYS.md, "SMS Gateway for Android", is the
// operator's side.
//
// What the app's source shows beyond its documentation: messageId is a 32-bit
// hash of the message, so two messages may share one (the app says not to rely
// on it); newer versions add sender (phoneNumber is kept, deprecated) and
// recipient, the SIM's own number when the phone knows it; simNumber is left
// out when the phone cannot tell the SIM; and Android before 7 writes negative
// time-zone offsets wrongly ("+-5:00": every US phone on Android 5 or 6).

// maxAndroidBody caps one webhook call (one message).
const maxAndroidBody = 64 << 10

// androidClockSkew is how far X-Timestamp may be from our clock: older
// signatures are replays.
const androidClockSkew = 5 * time.Minute

// AndroidEvent is what the app posted.
type AndroidEvent struct {
	DeviceID string
	Event    string
	ID       string
	SMS      fetchsms.InboundSMS // for sms:received
}

// ParseAndroidWebhook reads the app's webhook body; a malformed one is EINVALID
// and says what is wrong.
func ParseAndroidWebhook(b []byte) (*AndroidEvent, error) {
	var in struct {
		DeviceID string `json:"deviceId"`
		Event    string `json:"event"`
		ID       string `json:"id"`
		Payload  *struct {
			MessageID   string          `json:"messageId"`
			Message     *string         `json:"message"`
			PhoneNumber string          `json:"phoneNumber"`
			Sender      string          `json:"sender"`
			Recipient   string          `json:"recipient"`
			SimNumber   json.RawMessage `json:"simNumber"`
			ReceivedAt  string          `json:"receivedAt"`
		} `json:"payload"`
	}
	bad := func(format string, args ...any) (*AndroidEvent, error) {
		return nil, fetchsms.Reasonf(fetchsms.EINVALID, "invalid_request", "not a webhook of SMS Gateway for Android: "+format, args...)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return bad("%v", err)
	}
	switch {
	case in.Event == "":
		return bad("event is required")
	case !printableID(in.DeviceID):
		return bad("deviceId (1–200 printable characters) is required")
	}
	ev := &AndroidEvent{DeviceID: in.DeviceID, Event: in.Event, ID: in.ID}
	if in.Event != "sms:received" {
		return ev, nil
	}
	p := in.Payload
	if p == nil || p.Message == nil {
		return bad("an sms:received event needs payload.message")
	}
	id := p.MessageID
	if id == "" {
		id = in.ID
	}
	if !printableID(id) || len(id) > 100 {
		return bad("payload.messageId (or the event id, 1–100 printable characters) is required")
	}
	slot := 0
	if len(p.SimNumber) > 0 && string(p.SimNumber) != "null" {
		if err := json.Unmarshal(p.SimNumber, &slot); err != nil || slot < 1 || slot > 512 {
			return bad("payload.simNumber must be a SIM slot number from 1")
		}
	}
	// A time the phone wrote wrongly is taken as the time of arrival: refusing
	// it would refuse every message of such a phone.
	var at time.Time
	if t, err := time.Parse(time.RFC3339Nano, p.ReceivedAt); err == nil {
		at = t.UTC()
	}
	from := p.Sender
	if from == "" {
		from = p.PhoneNumber
	}
	ev.SMS = fetchsms.InboundSMS{ID: androidMessageID(id, in.DeviceID, slot, from, p.ReceivedAt, *p.Message),
		DeviceID: in.DeviceID, SimSlot: slot, From: from, Body: *p.Message, ReceivedAt: at}
	if slot == 0 {
		// The phone could not tell the SIM: its own number names it, if given.
		if to, err := fetchsms.ParseE164(normalizeNumber(p.Recipient)); err == nil {
			ev.SMS.DeviceID, ev.SMS.To = "", to
		}
	}
	return ev, nil
}

// androidMessageID is the id a received SMS is stored under: the app's
// messageId with a hash of where, when and what arrived. The same message sent
// again (a retry, or a second webhook for the event) has the same id and is
// stored once; two messages whose 32-bit messageIds collide are not one.
func androidMessageID(appID, deviceID string, slot int, from, receivedAt, text string) string {
	sum := sha256.Sum256([]byte(deviceID + "\x00" + strconv.Itoa(slot) + "\x00" + from + "\x00" + receivedAt + "\x00" + text))
	return "android:" + appID + ":" + hex.EncodeToString(sum[:12])
}

func printableID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// androidSignatureOK checks X-Signature (hex HMAC-SHA256 of body ‖ timestamp,
// keyed by key) and that the timestamp is within androidClockSkew of now.
func androidSignatureOK(key, body []byte, timestamp, signature string, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fetchsms.Reasonf(fetchsms.EUNAUTHORIZED, fetchsms.ReasonBadSignature, "X-Timestamp (Unix seconds) is required with X-Signature")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > androidClockSkew || d < -androidClockSkew {
		return fetchsms.Reasonf(fetchsms.EUNAUTHORIZED, fetchsms.ReasonBadSignature, "X-Timestamp is more than 5 minutes from now: a replay, or the phone's clock is wrong")
	}
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return fetchsms.Reasonf(fetchsms.EUNAUTHORIZED, fetchsms.ReasonBadSignature, "X-Signature (hex HMAC-SHA256) is required")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	mac.Write([]byte(timestamp))
	if !hmac.Equal(mac.Sum(nil), got) {
		return fetchsms.Reasonf(fetchsms.EUNAUTHORIZED, fetchsms.ReasonBadSignature, "X-Signature does not check out with this gateway's token")
	}
	return nil
}

// handleInboundAndroid takes the app's webhooks: POST /v1/inbound/android/{gateway_id}.
func (s *Server) handleInboundAndroid(w http.ResponseWriter, r *http.Request) {
	gatewayID := r.PathValue("gateway_id")
	body, err := readBody(w, r, maxAndroidBody, "a webhook call")
	var key []byte
	if err == nil {
		key, err = s.gatewayKey(r, gatewayID)
	}
	if err == nil {
		err = androidSignatureOK(key, body, r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature"), time.Now())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev, err := ParseAndroidWebhook(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch ev.Event {
	case "sms:received":
		res, err := s.receive(r, gatewayID, ev.SMS)
		switch {
		case fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND || ev.SMS.DeviceID == "":
		case ev.SMS.SimSlot == 0:
			err = fetchsms.Errorf(fetchsms.ENOTFOUND, "the phone %q did not say which SIM received the message (simNumber is null) nor that SIM's number; the message is kept as unmatched",
				ev.SMS.DeviceID)
		default:
			err = fetchsms.Errorf(fetchsms.ENOTFOUND, "device %q SIM %d holds no number of this gateway (import its number with that device_id and sim_slot); the message is kept as unmatched",
				ev.SMS.DeviceID, ev.SMS.SimSlot)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, inboundOut(res))
	case "system:ping":
		if err := s.App.GatewayHeartbeat(r.Context(), gatewayID); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"event": ev.Event, "result": "heartbeat noted"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"event": ev.Event, "result": "ignored"})
	}
}
