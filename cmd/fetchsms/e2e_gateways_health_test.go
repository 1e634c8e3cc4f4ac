package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// healthSilence is the gateway silence limit of the health tests: short, so
// that a gateway falls silent within the test, and long enough that the
// sandbox SIM bank's heartbeats (a third of it) never let it.
const healthSilence = 3 * time.Second

// gatewayByName returns one gateway as GET /v1/admin/gateways lists it to the
// admin session.
func (s *testServer) gatewayByName(t *testing.T, admin, name string) map[string]any {
	t.Helper()
	for _, g := range s.list(t, "/v1/admin/gateways", admin) {
		if g["name"] == name {
			return g
		}
	}
	t.Fatalf("gateway %q is not listed", name)
	return nil
}

// waitHealth polls the gateway list until the gateway shows health want with
// forSale numbers for sale (the sweep withdraws a silent gateway's numbers
// within a tenth of the limit after it shows silent).
func (s *testServer) waitHealth(t *testing.T, name, want string, forSale int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g := s.gatewayByName(t, s.AdminSession, name)
		// The admin view reads the gateway and its counts in two statements: on
		// PostgreSQL they may straddle the sweep's commit, so wait for both.
		withdrawn := g["withdrawn_at"] != nil
		if g["health"] == want && num(t, g["numbers_for_sale"]) == forSale && withdrawn == (want == "silent" || want == "disabled") {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway %q after 20 s: %v, want %s with %d for sale", name, g, want, forSale)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// telegramStock is the public catalog's short-term stock of Telegram (service 4).
func (s *testServer) telegramStock(t *testing.T) int64 {
	t.Helper()
	for _, svc := range s.list(t, "/v1/services", "") {
		if num(t, svc["id"]) == 4 {
			return num(t, svc["short_available"])
		}
	}
	t.Fatal("no service 4 in the catalog")
	return 0
}

// wantCounts checks a listed gateway's health and numbers.
func wantCounts(t *testing.T, g map[string]any, health string, numbers, forSale int64) {
	t.Helper()
	if g["health"] != health || num(t, g["numbers"]) != numbers || num(t, g["numbers_for_sale"]) != forSale {
		t.Fatalf("gateway %v: want health %s, %d numbers, %d for sale", g, health, numbers, forSale)
	}
}

// TestGatewayHealth: a gateway that stops talking has its numbers withdrawn
// from sale at once (the public stock drops) and the verification waiting on
// it refunded, its rental running on; its next message lists them again at
// once; disabling withdraws them too, and a silent gateway enabled comes back
// with its heartbeat; rotating stops the old token at once. The sandbox SIM
// bank, which sends heartbeats, stays healthy throughout, and moving the
// sandbox's business clock makes no gateway silent (last_seen_at is wall time).
func TestGatewayHealth(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--gateway-silence", healthSilence.String())
		admin := s.AdminSession
		session, userID := s.signup(t)
		s.fund(t, userID, 2000)

		// A new gateway (made moments ago) sells its numbers; it keeps them on
		// sale with heartbeats while the customer buys.
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", admin, map[string]any{"name": "edge"}, http.StatusCreated)
		id, token := str(t, gw["id"]), str(t, gw["token"])
		wantCounts(t, gw, "new", 0, 0)
		base := s.telegramStock(t)
		s.call(t, http.MethodPost, "/v1/admin/numbers", admin, map[string]any{"gateway_id": id, "numbers": []any{
			"+12015550100", "+12015550101", map[string]any{"number": "+12015550102", "device_id": "bank-1", "sim_slot": 1}, "+12015550103"}}, http.StatusCreated)
		if got := s.telegramStock(t); got != base+4 {
			t.Fatalf("stock after importing 4 numbers: %d, want %d", got, base+4)
		}
		wantCounts(t, s.gatewayByName(t, admin, "edge"), "ok", 4, 4)

		// A customer holds a verification and a rental on the gateway.
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusNoContent)
		v := s.call(t, http.MethodPost, "/v1/verifications", session, map[string]any{"service": 4, "area_code": "201"}, http.StatusCreated)
		r := s.call(t, http.MethodPost, "/v1/rentals", session, map[string]any{"service": 1, "days": 1, "area_code": "201"}, http.StatusCreated)
		paid := s.balance(t, session)
		if paid != 2000-num(t, v["cost_cents"])-num(t, r["cost_cents"]) {
			t.Fatalf("balance %d after buying", paid)
		}

		// Ten business minutes pass at once: nobody is silent for that.
		s.advance(t, 600)
		wantCounts(t, s.gatewayByName(t, admin, "edge"), "ok", 4, 2)
		if g := s.gatewayByName(t, admin, "Sandbox SIM bank"); g["health"] != "ok" {
			t.Fatalf("the sandbox SIM bank: %v", g)
		}

		// The gateway says nothing more: past the limit its numbers leave sale.
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusNoContent)
		before := s.telegramStock(t)
		g := s.waitHealth(t, "edge", "silent", 0)
		wantCounts(t, g, "silent", 4, 0)
		if g["withdrawn_at"] == nil || g["last_seen_at"] == nil {
			t.Fatalf("the silent gateway: %v", g)
		}
		if got := s.telegramStock(t); got != before-2 {
			t.Fatalf("stock once the gateway is silent: %d, want %d", got, before-2)
		}
		vv := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), session, nil, http.StatusOK)
		if vv["status"] != "expired" || vv["code"] != nil {
			t.Fatalf("the verification on the silent gateway: %v", vv)
		}
		if k := kinds(s.ledgerFor(t, session, str(t, v["id"]))); strings.Join(k, ",") != "refund,purchase" {
			t.Fatalf("its ledger: %v, want one refund after the purchase", k)
		}
		if b := s.balance(t, session); b != paid+num(t, v["cost_cents"]) {
			t.Fatalf("balance %d, want %d refunded", b, paid+num(t, v["cost_cents"]))
		}
		if rr := s.call(t, http.MethodGet, "/v1/rentals/"+str(t, r["id"]), session, nil, http.StatusOK); rr["status"] != "waiting" {
			t.Fatalf("the rental on the silent gateway was cut short: %v", rr)
		}
		s.expect(t, http.MethodPost, "/v1/verifications", session, map[string]any{"service": 4, "area_code": "201"}, http.StatusConflict)
		s.call(t, http.MethodPost, "/v1/verifications", session, map[string]any{"service": 4}, http.StatusCreated) // the customer buys again elsewhere
		if g := s.gatewayByName(t, admin, "Sandbox SIM bank"); g["health"] != "ok" {
			t.Fatalf("the sandbox SIM bank, which sends heartbeats: %v", g)
		}

		// Its next message lists its numbers again at once, and reaches the rental.
		stock := s.telegramStock(t)
		in := s.call(t, http.MethodPost, "/v1/inbound/sms", token, map[string]any{"id": "edge-1", "to": e164(t, str(t, r["number"])), "from": "+15550001111", "body": "hello"}, http.StatusAccepted)
		if routed, _ := in["routed_to"].(map[string]any); routed == nil || routed["rental_id"] != r["id"] {
			t.Fatalf("the message: %v, want it routed to the rental", in)
		}
		g = s.gatewayByName(t, admin, "edge")
		wantCounts(t, g, "ok", 4, 3)
		if g["withdrawn_at"] != nil || g["last_seen_at"] == nil || num(t, g["messages_24h"]) != 1 {
			t.Fatalf("the gateway back: %v", g)
		}
		if got := s.telegramStock(t); got != stock+3 {
			t.Fatalf("stock once the gateway spoke: %d, want %d", got, stock+3)
		}

		// Disabled: its numbers leave sale at once, the verification waiting on
		// them is refunded, its token is refused.
		v2 := s.call(t, http.MethodPost, "/v1/verifications", session, map[string]any{"service": 4, "area_code": "201"}, http.StatusCreated)
		stock = s.telegramStock(t)
		d := s.call(t, http.MethodPost, "/v1/admin/gateways/"+id+"/disable", admin, nil, http.StatusOK)
		wantCounts(t, d, "disabled", 4, 0)
		if got := s.telegramStock(t); got != stock-2 {
			t.Fatalf("stock with the gateway disabled: %d, want %d", got, stock-2)
		}
		if vv := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v2["id"]), session, nil, http.StatusOK); vv["status"] != "expired" {
			t.Fatalf("the verification on the disabled gateway: %v", vv)
		}
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusUnauthorized)

		// Enabled once it has been silent past the limit: its numbers wait for
		// its heartbeat.
		time.Sleep(healthSilence + 500*time.Millisecond)
		e := s.call(t, http.MethodPost, "/v1/admin/gateways/"+id+"/enable", admin, nil, http.StatusOK)
		wantCounts(t, e, "silent", 4, 0)
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusNoContent)
		wantCounts(t, s.gatewayByName(t, admin, "edge"), "ok", 4, 3)

		// Rotated: the old token stops at once, the new one is heard.
		rot := s.call(t, http.MethodPost, "/v1/admin/gateways/"+id+"/rotate", admin, nil, http.StatusCreated)
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusUnauthorized)
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", str(t, rot["token"]), nil, http.StatusNoContent)
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", s.APIKey, nil, http.StatusForbidden)
		for _, path := range []string{"/rotate", "/disable", "/enable"} {
			s.expect(t, http.MethodPost, "/v1/admin/gateways/00000000-0000-0000-0000-000000000000"+path, admin, nil, http.StatusNotFound)
			s.expect(t, http.MethodPost, "/v1/admin/gateways/"+id+path, session, nil, http.StatusForbidden)
		}
	})
}

// TestNumberDevice: an admin ties a pool number to a device's SIM slot, unique
// within its gateway, and unties it; bad input is a 4xx that changes nothing.
func TestNumberDevice(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		admin := s.AdminSession
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", admin, map[string]any{"name": "slots"}, http.StatusCreated)
		token := str(t, gw["token"])
		s.call(t, http.MethodPost, "/v1/admin/numbers", admin, map[string]any{"gateway_id": gw["id"], "numbers": []any{
			"+12025550100", map[string]any{"number": "+12025550101", "device_id": "bank-1", "sim_slot": 1}}}, http.StatusCreated)
		ids := map[string]string{}
		for _, n := range s.list(t, "/v1/admin/numbers?limit=5", admin) {
			ids[str(t, n["number"])] = str(t, n["id"])
			if n["number"] == "+12025550101" && (n["device_id"] != "bank-1" || num(t, n["sim_slot"]) != 1 || n["gateway"] != "slots" || n["withdrawn"] != false) {
				t.Fatalf("a number imported into a slot: %v", n)
			}
			if n["number"] == "+12025550100" && (n["device_id"] != nil || n["sim_slot"] != nil) {
				t.Fatalf("a number imported with no slot: %v", n)
			}
		}
		plain, slotted := ids["+12025550100"], ids["+12025550101"]
		if plain == "" || slotted == "" {
			t.Fatalf("the imported numbers are not listed first: %v", ids)
		}

		// Tie it to slot 2 of the device.
		n := s.call(t, http.MethodPatch, "/v1/admin/numbers/"+plain, admin, map[string]any{"device_id": " bank-1 ", "sim_slot": 2}, http.StatusOK)
		if n["device_id"] != "bank-1" || num(t, n["sim_slot"]) != 2 || n["number"] != "+12025550100" {
			t.Fatalf("PATCH answer: %v", n)
		}
		// Slot 1 of that device holds the other number: 409, nothing changes.
		if d := s.expect(t, http.MethodPatch, "/v1/admin/numbers/"+plain, admin, map[string]any{"device_id": "bank-1", "sim_slot": 1}, http.StatusConflict); !strings.Contains(d, "slot 1") {
			t.Fatalf("clash detail: %q", d)
		}
		for _, c := range []struct {
			body any
			want int
		}{
			{map[string]any{}, http.StatusBadRequest},
			{map[string]any{"device_id": 7}, http.StatusBadRequest},
			{map[string]any{"device_id": "bank-1"}, http.StatusUnprocessableEntity},
			{map[string]any{"device_id": "bank-1", "sim_slot": 513}, http.StatusUnprocessableEntity},
			{map[string]any{"device_id": "bank\n1", "sim_slot": 1}, http.StatusUnprocessableEntity},
			{map[string]any{"device_id": strings.Repeat("d", 201), "sim_slot": 1}, http.StatusUnprocessableEntity},
			{map[string]any{"device_id": nil, "sim_slot": 3}, http.StatusUnprocessableEntity},
			{map[string]any{"device_id": "bank-1", "sim_slot": "two"}, http.StatusBadRequest},
			{map[string]any{"device_id": "bank-1", "sim_slot": 1, "port": 1}, http.StatusBadRequest},
			{"[]", http.StatusBadRequest},
		} {
			s.expect(t, http.MethodPatch, "/v1/admin/numbers/"+plain, admin, c.body, c.want)
		}
		for _, bad := range []string{"00000000-0000-0000-0000-000000000000", "nope"} {
			s.expect(t, http.MethodPatch, "/v1/admin/numbers/"+bad, admin, map[string]any{"device_id": "x", "sim_slot": 1}, http.StatusNotFound)
		}
		s.expect(t, http.MethodPatch, "/v1/admin/numbers/"+plain, s.DemoSession, map[string]any{"device_id": "x", "sim_slot": 1}, http.StatusForbidden)
		for _, n := range s.list(t, "/v1/admin/numbers?limit=5", admin) {
			if n["id"] == plain && (n["device_id"] != "bank-1" || num(t, n["sim_slot"]) != 2) {
				t.Fatalf("a refused PATCH changed the number: %v", n)
			}
		}

		// Untied, it frees its slot for the other number.
		if n := s.call(t, http.MethodPatch, "/v1/admin/numbers/"+plain, admin, map[string]any{"device_id": nil}, http.StatusOK); n["device_id"] != nil || n["sim_slot"] != nil {
			t.Fatalf("untied: %v", n)
		}
		s.call(t, http.MethodPatch, "/v1/admin/numbers/"+slotted, admin, map[string]any{"device_id": "bank-1", "sim_slot": 2}, http.StatusOK)
		s.call(t, http.MethodPatch, "/v1/admin/numbers/"+plain, admin, map[string]any{"device_id": "", "sim_slot": 0}, http.StatusOK)
		// The gateway is heard from through its heartbeat.
		s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, `{"battery": 80}`, http.StatusNoContent)
		if g := s.gatewayByName(t, admin, "slots"); g["last_seen_at"] == nil || g["health"] != "ok" {
			t.Fatalf("after a heartbeat: %v", g)
		}
	})
}

var gatewayIDOut = regexp.MustCompile(`\(id ([0-9a-f-]{36})\)`)

// gatewayIDIn returns the gateway id a command printed as "(id …)".
func gatewayIDIn(t *testing.T, out string) string {
	t.Helper()
	m := gatewayIDOut.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no gateway id in %q", out)
	}
	return m[1]
}

// cliRun runs an operator command and returns its exit status and output.
func cliRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCLIGatewayCommands: gateway rotate, disable and enable on the database
// of a running server take effect there at once; the verification a disable
// strands is refunded by the server's health sweep (the command itself
// changes no purchase); bad use fails with the cause.
func TestCLIGatewayCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	db := s.DBPath
	if code, out, errs := cliRun(t, "user", "create", "--db", db, "--email", "ops@example.com", "--password", "operator-pass", "--role", "admin"); code != 0 {
		t.Fatalf("user create: %d %s%s", code, out, errs)
	}
	admin := str(t, s.call(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": "ops@example.com", "password": "operator-pass"}, http.StatusOK)["token"])
	code, out, errs := cliRun(t, "gateway", "create", "--db", db, "--name", "CLI bank")
	if code != 0 {
		t.Fatalf("gateway create: %d %s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	id := gatewayIDIn(t, out)
	s.call(t, http.MethodPost, "/v1/admin/numbers", admin, map[string]any{"gateway_id": id, "numbers": []string{"+12035550100", "+12035550101"}}, http.StatusCreated)
	cust, custID := s.signup(t)
	s.call(t, http.MethodPost, "/v1/admin/users/"+custID+"/adjustments", admin, map[string]any{"amount_cents": 1000, "reason": "test"}, http.StatusCreated)
	v := s.call(t, http.MethodPost, "/v1/verifications", cust, map[string]any{"service": 4, "area_code": "203"}, http.StatusCreated)
	s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), cust, nil, http.StatusOK) // read (and cached) while waiting
	paid := s.balance(t, cust)

	// Disable: the token is refused at once, the numbers leave sale; the
	// server's sweep refunds the verification within seconds.
	code, out, errs = cliRun(t, "gateway", "disable", "--db", db, "--id", id)
	if code != 0 || !strings.Contains(out, "disabled gateway CLI bank (id "+id+")") || !strings.Contains(out, "withdrawn from sale") {
		t.Fatalf("gateway disable: %d %q %q", code, out, errs)
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusUnauthorized)
	wantCounts(t, s.gatewayByName(t, admin, "CLI bank"), "disabled", 2, 0)
	s.expect(t, http.MethodPost, "/v1/verifications", cust, map[string]any{"service": 4, "area_code": "203"}, http.StatusConflict)
	deadline := time.Now().Add(15 * time.Second)
	for s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), cust, nil, http.StatusOK)["status"] != "expired" {
		if time.Now().After(deadline) {
			t.Fatal("the verification on the disabled gateway is still waiting after 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b := s.balance(t, cust); b != paid+num(t, v["cost_cents"]) {
		t.Fatalf("balance %d, want %d refunded", b, paid+num(t, v["cost_cents"]))
	}

	// Enable: heard from lately (it was made within the limit), its numbers
	// are on sale again at once.
	code, out, errs = cliRun(t, "gateway", "enable", "--db", db, "--id", id)
	if code != 0 || !strings.Contains(out, "enabled gateway CLI bank") || !strings.Contains(out, "on sale again") {
		t.Fatalf("gateway enable: %d %q %q", code, out, errs)
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusNoContent)
	s.call(t, http.MethodPost, "/v1/verifications", cust, map[string]any{"service": 4, "area_code": "203"}, http.StatusCreated)

	// Rotate: the new token is the last line; the old one stops at once.
	code, out, errs = cliRun(t, "gateway", "rotate", "--db", db, "--id", id)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	rotated := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(rotated, "fsg_") || rotated == token || !strings.Contains(out, "the old token stopped working") {
		t.Fatalf("gateway rotate: %d %q %q", code, out, errs)
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", token, nil, http.StatusUnauthorized)
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", rotated, nil, http.StatusNoContent)

	// Bad use: a clear cause, exit status 2, nothing changed.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gateway", "rotate", "--db", db}, "gateway rotate: --id is required"},
		{[]string{"gateway", "disable", "--db", db, "--id", "00000000-0000-0000-0000-000000000000"}, "gateway disable: SetGatewayDisabled: gateway not found"},
		{[]string{"gateway", "enable", "--db", db, "--id", "nope"}, "gateway not found"},
		{[]string{"gateway", "enable", "--db", db, "--id", id, "--gateway-silence", "-1s"}, "--gateway-silence must be 0 (off) or a positive duration"},
		{[]string{"gateway", "enable", "--db", db, "--id", id, "--gateway-silence", "soon"}, "invalid value \"soon\" for flag -gateway-silence"},
		{[]string{"gateway", "rotate", "--db", db, "--id", id, "extra"}, "unexpected argument \"extra\""},
	} {
		code, out, errs := cliRun(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	s.expect(t, http.MethodPost, "/v1/inbound/heartbeat", rotated, nil, http.StatusNoContent)
	// --help shows the flags and exits as the other commands' --help does.
	createCode, _, _ := cliRun(t, "gateway", "create", "--help")
	for _, verb := range []string{"rotate", "disable", "enable"} {
		code, _, errs := cliRun(t, "gateway", verb, "--help")
		if code != createCode || !strings.Contains(errs, "-id") || !strings.Contains(errs, "-gateway-silence") {
			t.Errorf("gateway %s --help: exit %d (create: %d), %q", verb, code, createCode, errs)
		}
	}
	if code, out, _ := cliRun(t, "help"); code != 0 || !strings.Contains(out, "fetchsms gateway rotate --db fetchsms.db --id ID") {
		t.Errorf("usage: %d %q", code, out)
	}
}

// TestCLIGatewayEnableSilent: enabling a gateway silent past the limit does
// not put its numbers on sale; its next message or heartbeat will.
func TestCLIGatewayEnableSilent(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "ops.db")
	code, out, errs := cliRun(t, "gateway", "create", "--db", db, "--name", "Quiet bank")
	if code != 0 {
		t.Fatalf("gateway create: %d %s%s", code, out, errs)
	}
	id := gatewayIDIn(t, out)
	if code, out, errs := cliRun(t, "gateway", "disable", "--db", db, "--id", id); code != 0 {
		t.Fatalf("gateway disable: %d %s%s", code, out, errs)
	}
	time.Sleep(5 * time.Millisecond)
	code, out, errs = cliRun(t, "gateway", "enable", "--db", db, "--id", id, "--gateway-silence", "1ms")
	if code != 0 || !strings.Contains(out, "silent too long") || !strings.Contains(out, "when it is next heard from") {
		t.Fatalf("enable of a silent gateway: %d %q %q", code, out, errs)
	}
}
