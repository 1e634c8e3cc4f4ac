package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Ejoin multi-port SIM banks (ACOM, and the Skyline devices that speak the same
// HTTP API) push the SMS they receive to a URL set on the device, as JSON:
//
//	{"type": "recv-sms", "sms_num": 1,
//	 "sms": [[0, "2.01", 1718662530, "Telegram", "13325550184", "VGVsZWdyYW0gY29kZTogNDgyOTEw"]]}
//
// Each entry of sms is [report flag (0 an SMS, 1 a delivery report), receiving
// port ("<port>.<slot>" such as "2.01", or "<port><slot letter>" such as "2A"),
// UTC Unix seconds, sender, recipient (the SIM's number when the device knows
// it, often ""), base64 of the UTF-8 text]; newer firmware appends more fields
// (ICCID, IMSI), which are ignored. The device sends no credential of its own:
// the gateway's token goes in the push URL's query (?token=…), and the gateway
// id in its path. docs/GATEWAYS.md, "SIM banks (Ejoin)", is the operator's side.

// maxEjoinBody caps a push: the device may batch messages (up to ~30 long ones).
const maxEjoinBody = 1 << 20

// maxEjoinText is the longest text taken, as on /v1/inbound/sms: refused with
// the rest of the push before any of it is stored.
const maxEjoinText = 10_000

// EjoinSMS is one entry of an Ejoin push.
type EjoinSMS struct {
	Report    bool      // a delivery report, not an SMS
	PortName  string    // as the device wrote it: "2.01", "2A"
	Port      int       // 1-based
	Slot      int       // the SIM slot of the port, 1-based
	Time      time.Time // zero when the device sent 0
	Sender    string
	Recipient string
	Body      string // the decoded text (a report's "code scts" as is)
}

// ParseEjoinPush reads an Ejoin "recv-sms" push. It checks the shape and every
// field it uses, and decodes each SMS's text; a malformed push is EINVALID and
// says what is wrong.
func ParseEjoinPush(b []byte) ([]EjoinSMS, error) {
	var push struct {
		Type string             `json:"type"`
		SMS  *[]json.RawMessage `json:"sms"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&push); err != nil {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "the body is not an Ejoin push: a JSON object {\"type\": \"recv-sms\", \"sms\": [...]} is expected")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "the body must hold exactly one JSON object")
	}
	if push.Type != "recv-sms" {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "type is %q: this endpoint takes the device's \"recv-sms\" pushes only", truncate(push.Type, 40))
	}
	if push.SMS == nil || len(*push.SMS) == 0 {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "sms must be a non-empty array of [flag, port, time, sender, recipient, content] entries")
	}
	if len(*push.SMS) > 500 {
		return nil, fetchsms.Errorf(fetchsms.EINVALID, "a push holds at most 500 entries")
	}
	out := make([]EjoinSMS, 0, len(*push.SMS))
	for i, raw := range *push.SMS {
		m, err := parseEjoinEntry(raw)
		if err != nil {
			return nil, fetchsms.Errorf(fetchsms.EINVALID, "sms[%d]: %s", i, fetchsms.ErrorMessage(err))
		}
		out = append(out, m)
	}
	return out, nil
}

func parseEjoinEntry(raw json.RawMessage) (EjoinSMS, error) {
	var m EjoinSMS
	var fields []json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) < 6 {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "each entry is an array [flag, port, time, sender, recipient, content]")
	}
	var flag, unix json.Number
	var content string
	parts := []struct {
		dst  any
		name string
	}{{&flag, "the flag (0 or 1)"}, {&m.PortName, "the port (a string such as \"2.01\" or \"2A\")"}, {&unix, "the time (Unix seconds)"},
		{&m.Sender, "the sender (a string)"}, {&m.Recipient, "the recipient (a string)"}, {&content, "the content (a string)"}}
	for i, p := range parts {
		if err := strictUnmarshal(fields[i], p.dst); err != nil {
			return m, fetchsms.Errorf(fetchsms.EINVALID, "entry field %d must be %s", i, p.name)
		}
	}
	switch flag.String() {
	case "0":
	case "1":
		m.Report = true
	default:
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the flag must be 0 (an SMS) or 1 (a delivery report)")
	}
	var ok bool
	if m.Port, m.Slot, ok = parseEjoinPort(m.PortName); !ok {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "port %q is not of the form \"2.01\" or \"2A\" (port, then SIM slot)", truncate(m.PortName, 40))
	}
	secs, err := strconv.ParseInt(unix.String(), 10, 64)
	if err != nil || secs < 0 || secs > 1<<40 {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the time must be whole Unix seconds")
	}
	if secs > 0 {
		m.Time = time.Unix(secs, 0).UTC()
	}
	if m.Sender == "" || len(m.Sender) > 100 || !utf8.ValidString(m.Sender) {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the sender must be 1–100 characters")
	}
	if len(m.Recipient) > 100 || !utf8.ValidString(m.Recipient) {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the recipient must be at most 100 characters")
	}
	if m.Report {
		m.Body = content
		return m, nil
	}
	text, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the content of an SMS must be base64 of its UTF-8 text")
	}
	if !utf8.Valid(text) {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the content decodes to bytes that are not UTF-8 text")
	}
	if len(text) > maxEjoinText {
		return m, fetchsms.Errorf(fetchsms.EINVALID, "the text is longer than %d bytes", maxEjoinText)
	}
	m.Body = string(text)
	return m, nil
}

// strictUnmarshal decodes one JSON value into dst, keeping numbers as written.
func strictUnmarshal(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}

// parseEjoinPort reads "<port>.<slot>" ("2.01") or "<port><slot letter>" ("2A").
func parseEjoinPort(s string) (port, slot int, ok bool) {
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits == 0 || digits > 3 || s[0] == '0' {
		return 0, 0, false
	}
	port, _ = strconv.Atoi(s[:digits])
	rest := s[digits:]
	switch {
	case len(rest) == 1 && rest[0] >= 'A' && rest[0] <= 'Z':
		slot = int(rest[0]-'A') + 1
	case len(rest) >= 2 && len(rest) <= 3 && rest[0] == '.':
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return 0, 0, false
			}
		}
		slot, _ = strconv.Atoi(rest[1:])
	default:
		return 0, 0, false
	}
	if slot < 1 {
		return 0, 0, false
	}
	return port, slot, true
}

// Inbound returns the message as the domain receives it: the SIM at the port's
// slot is device "<port>", slot <slot> (as imported); the gateway id of the
// message is derived from what it carries, so a push the device sends again is
// stored once.
func (m EjoinSMS) Inbound() fetchsms.InboundSMS {
	sum := sha256.Sum256([]byte(m.Sender + "\x00" + m.Recipient + "\x00" + m.Body))
	id := "ejoin:" + m.PortName + ":" + strconv.FormatInt(m.Time.Unix(), 10) + ":" + hex.EncodeToString(sum[:12])
	return fetchsms.InboundSMS{ID: id, DeviceID: strconv.Itoa(m.Port), SimSlot: m.Slot, From: m.Sender, Body: m.Body, ReceivedAt: m.Time}
}

// handleInboundEjoin receives an Ejoin SIM bank's push: every SMS in it is
// stored and routed as if posted to /v1/inbound/sms by the gateway; delivery
// reports are ignored (we send no SMS). 200 when all are in; 404 when a port
// holds no number of the gateway (those are kept as unmatched, the others
// routed).
func (s *Server) handleInboundEjoin(w http.ResponseWriter, r *http.Request) {
	gatewayID := r.PathValue("gateway_id")
	if err := s.checkGatewayToken(r, gatewayID, r.URL.Query().Get("token")); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r, maxEjoinBody, "a push")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msgs, err := ParseEjoinPush(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(msgs))
	reports := 0
	var unmatched error
	for _, m := range msgs {
		if m.Report {
			reports++
			continue
		}
		res, err := s.receive(r, gatewayID, m.Inbound())
		if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
			if unmatched == nil {
				unmatched = fetchsms.Errorf(fetchsms.ENOTFOUND, "port %s holds no number of this gateway (import its number with device_id %q and sim_slot %d); the message is kept as unmatched",
					m.PortName, strconv.Itoa(m.Port), m.Slot)
			}
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		a := inboundOut(res)
		a["port"] = m.PortName
		out = append(out, a)
	}
	if unmatched != nil {
		s.writeError(w, r, unmatched)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"received": out, "reports_ignored": reports})
}

// checkGatewayToken checks a token that gateway software sends in the URL
// against the gateway's own, in constant time. A missing or wrong token, and
// an unknown, disabled or unsealed gateway, are EUNAUTHORIZED.
func (s *Server) checkGatewayToken(r *http.Request, gatewayID, token string) error {
	if token == "" {
		return fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "missing credential: the push URL must end in ?token=<the gateway's token>")
	}
	key, err := s.App.GatewaySigningKey(r.Context(), gatewayID)
	switch fetchsms.ErrorCode(err) {
	case "":
	case fetchsms.ENOTFOUND:
		return fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "no gateway has this id and token")
	default:
		return err
	}
	if subtle.ConstantTimeCompare(key, []byte(token)) != 1 {
		return fetchsms.Errorf(fetchsms.EUNAUTHORIZED, "no gateway has this id and token")
	}
	return nil
}
