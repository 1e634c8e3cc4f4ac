package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGatewaySIMBank drives an Ejoin SIM bank as the device would: an admin makes
// the gateway and imports its numbers with their ports; the device pushes what
// its ports receive to /v1/inbound/ejoin/{gateway_id}?token=…, in the format of
// its documentation; a long SMS forwarded in parts is joined before detection.
func TestGatewaySIMBank(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s, gwID, token := startWithGateway(t, engine, "Ejoin 8 ports")
		// Ports 1–4, one SIM each (slot 1); port 5 holds two SIMs.
		ports := map[string]string{}
		var numbers []map[string]any
		for i := 1; i <= 4; i++ {
			n := fmt.Sprintf("+1707555%04d", 2000+i)
			ports[n] = fmt.Sprintf("%d.01", i)
			numbers = append(numbers, map[string]any{"number": n, "device_id": fmt.Sprint(i), "sim_slot": 1})
		}
		numbers = append(numbers, map[string]any{"number": "+17075552051", "device_id": "5", "sim_slot": 1},
			map[string]any{"number": "+17075552052", "device_id": "5", "sim_slot": 2})
		ports["+17075552051"], ports["+17075552052"] = "5A", "5B"
		if m := s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession, map[string]any{"gateway_id": gwID, "numbers": numbers}, http.StatusCreated); num(t, m["added"]) != 6 {
			t.Fatalf("import = %v", m)
		}

		push := func(port, sender, text string) string {
			return fmt.Sprintf(`{"type": "recv-sms", "sms_num": 1, "sms": [[0, %q, %d, %q, "", %q]]}`,
				port, time.Now().Unix(), sender, base64.StdEncoding.EncodeToString([]byte(text)))
		}
		path := "/v1/inbound/ejoin/" + gwID + "?token=" + token
		buy := func(t *testing.T) (id, number string) {
			t.Helper()
			v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram", "area_code": "707"}, http.StatusCreated)
			return str(t, v["id"]), e164(t, str(t, v["number"]))
		}
		verification := func(t *testing.T, id string) map[string]any {
			t.Helper()
			return s.call(t, http.MethodGet, "/v1/verifications/"+id, s.APIKey, nil, http.StatusOK)
		}
		inboundCount := func(t *testing.T) int {
			t.Helper()
			return len(s.list(t, "/v1/admin/inbound?limit=200", s.AdminSession))
		}

		t.Run("CodeArrivesThroughItsPort", func(t *testing.T) {
			id, number := buy(t)
			body := push(ports[number], "Telegram", "Telegram code: 482910. Do not give this code to anyone.")
			ans := s.call(t, http.MethodPost, path, "", body, http.StatusOK)
			received, _ := ans["received"].([]any)
			if len(received) != 1 || ans["reports_ignored"] != float64(0) {
				t.Fatalf("answer = %v", ans)
			}
			first, _ := received[0].(map[string]any)
			if rt, _ := first["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != id || first["port"] != ports[number] {
				t.Fatalf("answer = %v, want routed_to.verification_id %s", ans, id)
			}
			if v := verification(t, id); v["code"] != "482910" || v["status"] != "received" {
				t.Fatalf("verification = %v", v)
			}
			// The device sends the same push again: stored once, same answer.
			before := inboundCount(t)
			again := s.call(t, http.MethodPost, path, "", body, http.StatusOK)
			if r2, _ := again["received"].([]any); len(r2) != 1 || r2[0].(map[string]any)["id"] != first["id"] {
				t.Fatalf("the push sent again answered %v, first %v", again, ans)
			}
			if after := inboundCount(t); after != before {
				t.Fatalf("the push sent again stored %d more messages", after-before)
			}
		})

		t.Run("DeliveryReportsIgnored", func(t *testing.T) {
			ans := s.call(t, http.MethodPost, path, "", `{"type": "recv-sms", "sms_num": 1, "sms": [[1, "1.01", 1718662530, "12063130004", "13605550100", "0 240617221530"]]}`, http.StatusOK)
			if ans["reports_ignored"] != float64(1) {
				t.Fatalf("answer = %v", ans)
			}
		})

		t.Run("LongMessageInPartsOutOfOrder", func(t *testing.T) {
			id, number := buy(t)
			part := func(msgID string, index int, text string) map[string]any {
				return map[string]any{"id": msgID, "to": number, "from": "Telegram", "body": text, "part": map[string]any{"ref": "201", "index": index, "count": 2}}
			}
			// The code is split across the parts: neither part alone holds it.
			waiting := s.call(t, http.MethodPost, "/v1/inbound/sms", token, part("lp-2", 2, "910. Do not give this code to anyone."), http.StatusAccepted)
			if p, _ := waiting["parts"].(map[string]any); p == nil || p["received"] != float64(1) || p["count"] != float64(2) || waiting["id"] != nil {
				t.Fatalf("the first part to arrive answered %v", waiting)
			}
			if v := verification(t, id); v["status"] != "waiting" {
				t.Fatalf("a lone part moved the verification: %v", v)
			}
			done := s.call(t, http.MethodPost, "/v1/inbound/sms", token, part("lp-1", 1, "Telegram code: 771"), http.StatusAccepted)
			if rt, _ := done["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != id {
				t.Fatalf("the last part answered %v", done)
			}
			if v := verification(t, id); v["code"] != "771910" || v["status"] != "received" {
				t.Fatalf("verification = %v", v)
			}
			log := s.list(t, "/v1/admin/inbound?limit=200", s.AdminSession)
			var joined map[string]any
			for _, e := range log {
				if e["id"] == done["id"] {
					joined = e
				}
			}
			parts, _ := joined["parts"].([]any)
			if joined == nil || joined["body"] != "Telegram code: 771910. Do not give this code to anyone." || len(parts) != 2 {
				t.Fatalf("the joined message in the inbound log: %v", joined)
			}
			if p0 := parts[0].(map[string]any); p0["index"] != float64(1) || p0["message_id"] != "lp-1" || p0["body"] != "Telegram code: 771" {
				t.Fatalf("its first part: %v", p0)
			}
			// The admin console's inbound page shows the parts under the message.
			resp, html := s.page(t, http.MethodGet, "/admin/inbound", s.AdminSession, nil, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(html, "part 1 of 2") || !strings.Contains(html, "lp-2") {
				t.Fatalf("/admin/inbound: %d, parts not shown", resp.StatusCode)
			}
		})

		t.Run("BadCredential401NothingStored", func(t *testing.T) {
			other := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "other"}, http.StatusCreated)
			before := inboundCount(t)
			unmatched := len(s.list(t, "/v1/admin/inbound/unmatched", s.AdminSession))
			body := push("1.01", "Telegram", "Telegram code: 111111")
			for _, p := range []string{
				"/v1/inbound/ejoin/" + gwID,
				"/v1/inbound/ejoin/" + gwID + "?token=",
				"/v1/inbound/ejoin/" + gwID + "?token=" + token + "x",
				"/v1/inbound/ejoin/" + gwID + "?token=" + str(t, other["token"]),
				"/v1/inbound/ejoin/" + str(t, other["id"]) + "?token=" + token,
				"/v1/inbound/ejoin/00000000-0000-4000-8000-000000000000?token=" + token,
			} {
				s.expect(t, http.MethodPost, p, "", body, http.StatusUnauthorized)
			}
			// A bearer token is not how this endpoint takes it.
			s.expect(t, http.MethodPost, "/v1/inbound/ejoin/"+gwID, token, body, http.StatusUnauthorized)
			if after := inboundCount(t); after != before {
				t.Fatalf("refused pushes stored %d messages", after-before)
			}
			if after := len(s.list(t, "/v1/admin/inbound/unmatched", s.AdminSession)); after != unmatched {
				t.Fatalf("refused pushes stored %d unmatched messages", after-unmatched)
			}
			s.call(t, http.MethodPost, "/v1/admin/gateways/"+gwID+"/disable", s.AdminSession, nil, http.StatusOK)
			d := s.expect(t, http.MethodPost, path, "", body, http.StatusUnauthorized)
			if !strings.Contains(d, "disabled") {
				t.Errorf("a disabled gateway's push: %q", d)
			}
			s.call(t, http.MethodPost, "/v1/admin/gateways/"+gwID+"/enable", s.AdminSession, nil, http.StatusOK)
		})

		t.Run("UnknownPort404KeptUnmatched", func(t *testing.T) {
			d := s.expect(t, http.MethodPost, path, "", push("7.01", "Telegram", "Telegram code: 909090"), http.StatusNotFound)
			if !strings.Contains(d, "7.01") || !strings.Contains(d, "unmatched") {
				t.Errorf("detail %q does not name the port", d)
			}
			s.expect(t, http.MethodPost, path, "", push("5C", "Telegram", "Telegram code: 919191"), http.StatusNotFound)
			found := 0
			for _, u := range s.list(t, "/v1/admin/inbound/unmatched", s.AdminSession) {
				if u["gateway_id"] == gwID && ((u["device_id"] == "7" && u["sim_slot"] == float64(1) && u["body"] == "Telegram code: 909090") ||
					(u["device_id"] == "5" && u["sim_slot"] == float64(3))) {
					found++
				}
			}
			if found != 2 {
				t.Fatalf("%d of the 2 messages for empty ports are listed as unmatched", found)
			}
		})

		t.Run("Malformed400", func(t *testing.T) {
			for body, detail := range map[string]string{
				`not json`:                        "not an Ejoin push",
				`{"type": "recv-sms", "sms": []}`: "non-empty array",
				`{"type": "port-status", "sms": [[0, "1.01", 1, "a", "", "aGk="]]}`:  "recv-sms",
				`{"type": "recv-sms", "sms": [[0, "1.01", 1, "a", "", "%%%"]]}`:      "base64",
				`{"type": "recv-sms", "sms": [[0, "port one", 1, "a", "", "aGk="]]}`: "port",
			} {
				if d := s.expect(t, http.MethodPost, path, "", body, http.StatusBadRequest); !strings.Contains(d, detail) {
					t.Errorf("%s: detail %q, want it to say %q", body, d, detail)
				}
			}
			s.expect(t, http.MethodPost, path, "", strings.Repeat(" ", 1<<20+1), http.StatusRequestEntityTooLarge)
		})
	})
}
