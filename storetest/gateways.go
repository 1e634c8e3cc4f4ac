package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sealbox"
)

// testGateways: a gateway's token is kept sealed when the server has a key, so
// that signed gateway software can be checked; rotating it stops the old one at
// once, disabling stops both; numbers tied to a device's SIM slot receive what
// arrives there; a message for no number of the gateway is kept as unmatched;
// every message and heartbeat notes when the gateway was last heard from.
func testGateways(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	box, err := sealbox.New(bytes.Repeat([]byte{9}, sealbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	app, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Secrets: box})
	if err != nil {
		t.Fatal(err)
	}

	// Without a key no token is kept; with one it is, and opens to the token.
	plain, err := f.db.CreateGateway(ctx, "no key")
	if err != nil || plain.Signs {
		t.Fatalf("a gateway made without a key: %+v %v", plain, err)
	}
	if _, err := app.GatewaySigningKey(ctx, plain.ID); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("the signing key of a gateway made without a key: %v", err)
	}
	g, err := app.CreateGateway(ctx, "android")
	if err != nil || !g.Signs {
		t.Fatalf("a gateway made with a key: %+v %v", g, err)
	}
	if k, err := app.GatewaySigningKey(ctx, g.ID); err != nil || string(k) != g.Token {
		t.Fatalf("signing key %q %v, want the token", k, err)
	}
	for _, id := range []string{fetchsms.NewID(), "x", "\x00", "\xff\xfe", strings.Repeat("a", 36)} {
		if _, err := app.GatewaySigningKey(ctx, id); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("the key of gateway %q: %v, want ENOTFOUND", id, err)
		}
	}
	if _, err := f.db.GatewaySigningKey(ctx, g.ID); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("a server without the key opened the token: %v", err)
	}

	// Rotation: the old token stops, the new one works and signs.
	r, err := app.RotateGatewayToken(ctx, g.ID)
	if err != nil || r.Token == "" || r.Token == g.Token || !r.Signs {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	if _, err := app.Authenticate(ctx, g.Token); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("the old token after rotation: %v", err)
	}
	if p, err := app.Authenticate(ctx, r.Token); err != nil || p.Gateway.ID != g.ID {
		t.Fatalf("the new token: %+v %v", p, err)
	}
	if k, _ := app.GatewaySigningKey(ctx, g.ID); string(k) != r.Token {
		t.Fatal("the signing key did not follow the rotation")
	}
	if _, err := app.RotateGatewayToken(ctx, fetchsms.NewID()); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("rotating an unknown gateway: %v", err)
	}

	// Disabled: token and signatures refused; enabled again: both work.
	if d, err := app.SetGatewayDisabled(ctx, g.ID, true); err != nil || !d.Disabled {
		t.Fatalf("disable: %+v %v", d, err)
	}
	if _, err := app.Authenticate(ctx, r.Token); fetchsms.ErrorCode(err) == "" {
		t.Fatal("a disabled gateway's token was accepted")
	}
	if _, err := app.GatewaySigningKey(ctx, g.ID); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("a disabled gateway's signing key: %v", err)
	}
	if _, err := app.SetGatewayDisabled(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Authenticate(ctx, r.Token); err != nil {
		t.Fatalf("an enabled gateway's token: %v", err)
	}

	// Numbers in device slots: checked, unique within the gateway.
	for _, bad := range [][]fetchsms.NumberImport{
		{{E164: "+13325550101", SimSlot: 1}},
		{{E164: "+13325550101", DeviceID: "phone-1", SimSlot: 0}},
		{{E164: "+13325550101", DeviceID: "phone\n1", SimSlot: 1}},
	} {
		if _, _, err := app.ImportNumbers(ctx, g.ID, bad); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("import %+v: %v, want EUNPROCESSABLE", bad, err)
		}
	}
	if _, _, err := app.ImportNumbers(ctx, g.ID, []fetchsms.NumberImport{{E164: "+13325550101", DeviceID: "phone-1", SimSlot: 1},
		{E164: "+13325550102", DeviceID: "phone-1", SimSlot: 1}}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("two numbers in one slot: %v, want ECONFLICT", err)
	}
	if added, _, err := app.ImportNumbers(ctx, g.ID, []fetchsms.NumberImport{{E164: "+13325550101", DeviceID: "phone-1", SimSlot: 1},
		{E164: "+13325550102", DeviceID: "phone-1", SimSlot: 2}}); err != nil || added != 2 {
		t.Fatalf("import into slots: %d %v", added, err)
	}
	if _, _, err := app.ImportNumbers(ctx, g.ID, []fetchsms.NumberImport{{E164: "+13325550103", DeviceID: "phone-1", SimSlot: 2}}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("a number into a taken slot: %v, want ECONFLICT", err)
	}

	// A message arriving in slot 2 reaches the verification holding that number.
	u := f.user(t, 1000)
	v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		t.Fatal(err)
	}
	slot := 1
	if v.Number == "+13325550102" {
		slot = 2
	}
	if g2, _ := app.Gateway(ctx, g.ID); !g2.LastSeenAt.IsZero() {
		t.Fatalf("a gateway never heard from has last_seen_at %v", g2.LastSeenAt)
	}
	res, err := app.ReceiveSMS(ctx, g.ID, fetchsms.InboundSMS{ID: "m1", DeviceID: "phone-1", SimSlot: slot, From: "Telegram", Body: "Telegram code: 48213"})
	if err != nil || res.VerificationID != v.ID {
		t.Fatalf("an SMS into slot %d: %+v %v (verification %s on %s)", slot, res, err, v.ID, v.Number)
	}
	if got, _ := app.Verification(ctx, u.ID, v.ID); got.Code != "48213" {
		t.Fatalf("verification after the SMS: %+v", got)
	}
	seen, _ := app.Gateway(ctx, g.ID)
	if seen.LastSeenAt.IsZero() {
		t.Fatal("a message did not note when the gateway was heard from")
	}

	// No number there, or not this gateway's: 404, and kept once as unmatched.
	other, _ := app.CreateGateway(ctx, "other")
	for range 2 {
		if _, err := app.ReceiveSMS(ctx, g.ID, fetchsms.InboundSMS{ID: "m2", DeviceID: "phone-1", SimSlot: 7, From: "x", Body: "hello"}); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("an SMS into an empty slot: %v", err)
		}
	}
	if _, err := app.ReceiveSMS(ctx, other.ID, fetchsms.InboundSMS{ID: "m3", To: "+13325550101", From: "x", Body: "not yours"}); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("an SMS for another gateway's number: %v", err)
	}
	un, _, err := app.ListUnmatchedMessages(ctx, fetchsms.Page{})
	if err != nil || len(un) != 2 || un[0].GatewayID != other.ID || un[0].To != "+13325550101" || un[1].DeviceID != "phone-1" || un[1].SimSlot != 7 || un[1].GatewayName != "android" {
		t.Fatalf("unmatched messages: %+v %v", un, err)
	}
	// A device id no import could have named, or text that is not UTF-8 or
	// holds a NUL, is refused, and nothing is kept.
	for _, in := range []fetchsms.InboundSMS{
		{ID: "m4", DeviceID: " phone-1", SimSlot: 1, From: "x", Body: "hello"},
		{ID: "m4", DeviceID: "phone\x00", SimSlot: 1, From: "x", Body: "hello"},
		{ID: "m4", DeviceID: strings.Repeat("p", 201), SimSlot: 1, From: "x", Body: "hello"},
		{ID: "m4", DeviceID: "phone-1", SimSlot: 1, From: "x", Body: "code\x00 48213"},
		{ID: "m4", DeviceID: "phone-1", SimSlot: 1, From: "\xff", Body: "hello"},
		{ID: "m4\xff", To: "+13325550101", From: "x", Body: "hello"},
		{ID: "m4", To: "+13325550101", From: "x", Body: "part", Part: &fetchsms.SMSPart{Ref: "\xfe", Index: 1, Count: 2}},
	} {
		if _, err := app.ReceiveSMS(ctx, g.ID, in); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Fatalf("%+v: %v, want EINVALID", in, err)
		}
	}
	if un, _, _ := app.ListUnmatchedMessages(ctx, fetchsms.Page{}); len(un) != 2 {
		t.Fatalf("refused messages kept %d unmatched messages", len(un)-2)
	}
	if log, _, _ := app.ListInboundMessages(ctx, fetchsms.Page{}); len(log) != 1 {
		t.Fatalf("refused messages were stored: %d in the log", len(log))
	}

	// A heartbeat moves last_seen_at forward, never back.
	f.wall.Advance(60e9)
	if err := app.GatewayHeartbeat(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if later, _ := app.Gateway(ctx, g.ID); !later.LastSeenAt.After(seen.LastSeenAt) {
		t.Fatalf("a heartbeat did not move last_seen_at: %v then %v", seen.LastSeenAt, later.LastSeenAt)
	}
}
