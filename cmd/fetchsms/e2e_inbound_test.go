package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestInbound drives the gateway side: an admin makes a gateway and imports its
// numbers, and the gateway posts SMS for them with its own token.
func TestInbound(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "SIM bank 7"}, http.StatusCreated)
	gwID, gwToken := str(t, gw["id"]), str(t, gw["token"])
	if gw["name"] != "SIM bank 7" || !strings.HasPrefix(gwToken, "fsg_") || gwID == "" {
		t.Fatalf("gateway = %v", gw)
	}
	inbound := func(t *testing.T, body map[string]any, want int) map[string]any {
		t.Helper()
		return s.call(t, http.MethodPost, "/v1/inbound/sms", gwToken, body, want)
	}

	t.Run("GatewayListHidesToken", func(t *testing.T) {
		found := false
		for _, g := range s.list(t, "/v1/admin/gateways", s.AdminSession) {
			if g["id"] == gwID {
				found = true
			}
			if _, ok := g["token"]; ok {
				t.Errorf("gateway list shows a token: %v", g)
			}
		}
		if !found {
			t.Errorf("new gateway not listed")
		}
	})
	t.Run("ImportNumbers", func(t *testing.T) {
		m := s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550100", "+17075550101"}}, http.StatusCreated)
		if num(t, m["added"]) != 2 || num(t, m["skipped"]) != 0 || len(m) != 2 {
			t.Errorf("import = %v, want {added: 2, skipped: 0}", m)
		}
	})
	t.Run("ReimportSkips", func(t *testing.T) {
		m := s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550100", "+17075550102", "+17075550102"}}, http.StatusCreated)
		if num(t, m["added"]) != 1 || num(t, m["skipped"]) != 2 {
			t.Errorf("re-import = %v, want {added: 1, skipped: 2}", m)
		}
	})
	t.Run("BadNumberImportsNothing", func(t *testing.T) {
		d := s.expect(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550110", "555-1234"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(d, "555-1234") {
			t.Errorf("detail %q does not name the bad number", d)
		}
		m := s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550110"}}, http.StatusCreated)
		if num(t, m["added"]) != 1 {
			t.Errorf("after the refused import, +17075550110 = %v: it was half-imported", m)
		}
	})
	t.Run("ImportErrors", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": "00000000-0000-4000-8000-000000000000", "numbers": []string{"+17075550120"}}, http.StatusNotFound)
		s.expect(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": gwID, "numbers": []string{}}, http.StatusBadRequest)
		s.expect(t, http.MethodPost, "/v1/admin/numbers", s.DemoSession,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550120"}}, http.StatusForbidden)
		s.expect(t, http.MethodPost, "/v1/admin/numbers", gwToken,
			map[string]any{"gateway_id": gwID, "numbers": []string{"+17075550120"}}, http.StatusForbidden)
	})

	rental := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7, "area_code": "707"}, http.StatusCreated)
	rentalNumber := e164(t, str(t, rental["number"]))
	rid := str(t, rental["id"])

	var firstAnswer map[string]any
	t.Run("RoutedToRental", func(t *testing.T) {
		firstAnswer = inbound(t, map[string]any{"id": "gw-msg-1", "to": rentalNumber, "from": "Telegram", "body": "Telegram code: 111111"}, http.StatusAccepted)
		if rt, _ := firstAnswer["routed_to"].(map[string]any); rt == nil || rt["rental_id"] != rid || len(rt) != 1 {
			t.Errorf("answer = %v, want routed_to {rental_id: %s}", firstAnswer, rid)
		}
		if firstAnswer["id"] == nil || len(firstAnswer) != 2 {
			t.Errorf("answer = %v, want exactly {id, routed_to}", firstAnswer)
		}
		if got := s.call(t, http.MethodGet, "/v1/rentals/"+rid, s.APIKey, nil, http.StatusOK); got["last_code"] != "111111" || got["status"] != "received" {
			t.Errorf("rental = %v", got)
		}
	})
	t.Run("RepeatedIDProcessedOnce", func(t *testing.T) {
		again := inbound(t, map[string]any{"id": "gw-msg-1", "to": rentalNumber, "from": "Telegram", "body": "Telegram code: 222222"}, http.StatusAccepted)
		if again["id"] != firstAnswer["id"] {
			t.Errorf("repeat answered id %v, first %v", again["id"], firstAnswer["id"])
		}
		if rt, _ := again["routed_to"].(map[string]any); rt == nil || rt["rental_id"] != rid {
			t.Errorf("repeat answered routed_to %v, want the first answer's", again["routed_to"])
		}
		if got := s.call(t, http.MethodGet, "/v1/rentals/"+rid, s.APIKey, nil, http.StatusOK); got["last_code"] != "111111" {
			t.Errorf("repeat changed last_code to %v", got["last_code"])
		}
		if msgs := s.list(t, "/v1/rentals/"+rid+"/messages", s.APIKey); len(msgs) != 1 {
			t.Errorf("rental has %d messages after a repeat, want 1", len(msgs))
		}
	})
	t.Run("ReceivedAtAccepted", func(t *testing.T) {
		inbound(t, map[string]any{"id": "gw-msg-2", "to": rentalNumber, "from": "Discord", "body": "Your Discord security code is: 334455", "received_at": "2020-01-02T03:04:05Z"}, http.StatusAccepted)
		msgs := s.list(t, "/v1/rentals/"+rid+"/messages", s.APIKey)
		if len(msgs) != 2 || msgs[0]["code"] != "334455" {
			t.Errorf("messages = %v", msgs)
		}
		inbound(t, map[string]any{"id": "gw-msg-3", "to": rentalNumber, "from": "Discord", "body": "x", "received_at": "yesterday"}, http.StatusUnprocessableEntity)
	})
	t.Run("RoutedToVerification", func(t *testing.T) {
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4, "area_code": "707"}, http.StatusCreated)
		ans := inbound(t, map[string]any{"id": "gw-msg-4", "to": e164(t, str(t, v["number"])), "from": "Telegram", "body": "Telegram code: 908172"}, http.StatusAccepted)
		if rt, _ := ans["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != v["id"] {
			t.Errorf("answer = %v, want routed_to.verification_id", ans)
		}
		if got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK); got["code"] != "908172" || got["status"] != "received" {
			t.Errorf("verification = %v", got)
		}
	})
	t.Run("IdleNumberStoredNotRouted", func(t *testing.T) {
		ans := inbound(t, map[string]any{"id": "gw-msg-5", "to": "+17075550110", "from": "Telegram", "body": "Telegram code: 121212"}, http.StatusAccepted)
		if ans["routed_to"] != nil || ans["id"] == nil {
			t.Errorf("answer = %v, want an id and routed_to null", ans)
		}
	})
	t.Run("AnotherGatewaysNumberIs404", func(t *testing.T) {
		// +13325550100 belongs to the sandbox SIM bank, not this gateway.
		inbound(t, map[string]any{"id": "gw-msg-6", "to": "+13325550100", "from": "Telegram", "body": "Telegram code: 111111"}, http.StatusNotFound)
		inbound(t, map[string]any{"id": "gw-msg-7", "to": "+19995550100", "from": "Telegram", "body": "Telegram code: 111111"}, http.StatusNotFound)
	})
	t.Run("BadMessagesRefused", func(t *testing.T) {
		inbound(t, map[string]any{"to": rentalNumber, "from": "Telegram", "body": "x"}, http.StatusBadRequest)
		inbound(t, map[string]any{"id": "gw-msg-8", "to": rentalNumber, "body": "x"}, http.StatusBadRequest)
		inbound(t, map[string]any{"id": "gw-msg-9", "to": "7075550100", "from": "Telegram", "body": "x"}, http.StatusUnprocessableEntity)
		if msgs := s.list(t, "/v1/rentals/"+rid+"/messages", s.APIKey); len(msgs) != 2 {
			t.Errorf("refused messages were stored: %d messages", len(msgs))
		}
	})
	checkInvariants(t, s.DBPath)
}
