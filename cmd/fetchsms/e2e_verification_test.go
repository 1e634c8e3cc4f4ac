package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestVerificationLifecycle drives short-term verifications through every state in
// a sandbox whose simulated SIM bank is silent, so only the test sends SMS. The
// subtests share the server and run in order; the clock jump comes last.
func TestVerificationLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testVerificationLifecycle)
}

func testVerificationLifecycle(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	buy := func(t *testing.T, body map[string]any) map[string]any {
		t.Helper()
		return s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, body, http.StatusCreated)
	}
	get := func(t *testing.T, id string) map[string]any {
		t.Helper()
		return s.call(t, http.MethodGet, "/v1/verifications/"+id, s.APIKey, nil, http.StatusOK)
	}
	start := s.balance(t, s.DemoSession)
	if start != 5000 {
		t.Fatalf("demo balance %d, want 5000 starting credit", start)
	}

	var received map[string]any
	t.Run("ReceivedShowsCodeNotBody", func(t *testing.T) {
		v := buy(t, map[string]any{"service": 4})
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Errorf("balance after purchase %d, want %d (debited up front)", b, start-70)
		}
		res := s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 482910")
		if rt, _ := res["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != v["id"] {
			t.Errorf("inbound answer = %v, want routed_to.verification_id %v", res, v["id"])
		}
		got := get(t, str(t, v["id"]))
		if got["status"] != "received" || got["code"] != "482910" {
			t.Fatalf("after SMS: %v, want received 482910", got)
		}
		for _, k := range []string{"body", "message", "text", "sms"} {
			if _, ok := got[k]; ok {
				t.Errorf("verification carries %q: the customer sees the code, never the body: %v", k, got)
			}
		}
		for _, x := range got {
			if sv, ok := x.(string); ok && strings.Contains(sv, "Telegram code") {
				t.Errorf("verification leaks the message body: %v", got)
			}
		}
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Errorf("balance after receipt %d, want %d (charged on receipt)", b, start-70)
		}
		received = got
	})
	t.Run("OtherServiceSMSKeepsWaiting", func(t *testing.T) {
		v := buy(t, map[string]any{"service": 4})
		res := s.sms(t, e164(t, str(t, v["number"])), "WhatsApp", "Your WhatsApp code: 821-193\n\nDon't share this code with others")
		if res["routed_to"] != nil {
			t.Errorf("a WhatsApp SMS was routed to a Telegram verification: %v", res)
		}
		got := get(t, str(t, v["id"]))
		if got["status"] != "waiting" || got["code"] != nil {
			t.Errorf("after a WhatsApp SMS: %v, want waiting with code null", got)
		}
		// The right service's code still gets through afterwards.
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 123456. Do not give this code to anyone")
		if got := get(t, str(t, v["id"])); got["status"] != "received" || got["code"] != "123456" {
			t.Errorf("after the Telegram SMS: %v, want received 123456", got)
		}
	})
	t.Run("SMSWithoutCodeKeepsWaiting", func(t *testing.T) {
		v := buy(t, map[string]any{"service": 4})
		s.sms(t, str(t, v["number"]), "Telegram", "Welcome to Telegram!")
		if got := get(t, str(t, v["id"])); got["status"] != "waiting" || got["code"] != nil {
			t.Errorf("after a codeless SMS: %v, want waiting", got)
		}
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
	})
	var cancelled map[string]any
	t.Run("CancelWaitingRefunds", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		v := buy(t, map[string]any{"service": 4})
		c := s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		if c["status"] != "cancelled" || c["id"] != v["id"] {
			t.Errorf("cancel answer = %v, want cancelled", c)
		}
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("balance after cancel %d, want %d (refunded)", b, before)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger for the cancelled verification = %v, want [refund purchase]", k)
		}
		cancelled = c
	})
	t.Run("CancelAgainIs409", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		s.expect(t, http.MethodPost, "/v1/verifications/"+str(t, cancelled["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("a second cancel changed the balance: %d → %d", before, b)
		}
	})
	t.Run("CancelAfterCodeIs409", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/verifications/"+str(t, received["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
		if got := get(t, str(t, received["id"])); got["status"] != "received" || got["code"] != "482910" {
			t.Errorf("after the refused cancel: %v", got)
		}
	})
	t.Run("SecondCodeDoesNotReachEndedVerification", func(t *testing.T) {
		s.sms(t, str(t, received["number"]), "Telegram", "Telegram code: 999999")
		if got := get(t, str(t, received["id"])); got["code"] != "482910" {
			t.Errorf("a later SMS changed a received code: %v", got)
		}
	})
	t.Run("NumberNeverResoldForSameServiceAfterCode", func(t *testing.T) {
		// The received number delivered a Telegram code; it must not be sold for
		// Telegram again, even in its own area code.
		ac := str(t, received["number"])[1:4]
		var mine []map[string]any
		for i := 0; i < 3; i++ {
			v := buy(t, map[string]any{"service": 4, "area_code": ac})
			if v["number"] == received["number"] {
				t.Errorf("number %v resold for telegram after it delivered a telegram code", v["number"])
			}
			mine = append(mine, v)
		}
		for _, v := range mine {
			s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		}
	})
	var waiting map[string]any
	t.Run("ListTabs", func(t *testing.T) {
		waiting = buy(t, map[string]any{"service": 4})
		active := s.list(t, "/v1/verifications?tab=active", s.APIKey)
		def := s.list(t, "/v1/verifications", s.APIKey)
		history := s.list(t, "/v1/verifications?tab=history", s.APIKey)
		if len(active) != len(def) {
			t.Errorf("default tab has %d, active %d: default must be active", len(def), len(active))
		}
		ids := func(l []map[string]any) []any {
			var out []any
			for _, x := range l {
				out = append(out, x["id"])
			}
			return out
		}
		for _, x := range active {
			if x["status"] != "waiting" {
				t.Errorf("active tab shows %v", x["status"])
			}
		}
		for _, x := range history {
			if x["status"] == "waiting" {
				t.Errorf("history tab shows a waiting verification")
			}
		}
		if !contains(ids(active), waiting["id"]) || contains(ids(history), waiting["id"]) {
			t.Errorf("the waiting verification is not (only) in active")
		}
		if !contains(ids(history), received["id"]) || !contains(ids(history), cancelled["id"]) || contains(ids(active), received["id"]) {
			t.Errorf("received/cancelled verifications are not (only) in history")
		}
		if len(active) > 0 && active[0]["id"] != waiting["id"] {
			t.Errorf("active list is not newest first: %v first", active[0]["id"])
		}
		for i := 1; i < len(history); i++ {
			if parseTS(t, history[i-1]["created_at"]).Before(parseTS(t, history[i]["created_at"])) {
				t.Errorf("history not newest first at %d", i)
			}
		}
	})
	t.Run("BadTabIs422", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/verifications?tab=all", s.APIKey, nil, http.StatusUnprocessableEntity)
	})
	t.Run("AreaCodeCosts80", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		v := buy(t, map[string]any{"service": 4, "area_code": "332"})
		if num(t, v["cost_cents"]) != 80 || !strings.HasPrefix(str(t, v["number"]), "(332) ") {
			t.Errorf("area-code purchase = %v, want cost 80 and a (332) number", v)
		}
		if b := s.balance(t, s.DemoSession); b != before-80 {
			t.Errorf("balance %d, want %d", b, before-80)
		}
		c := s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		if c["status"] != "cancelled" {
			t.Errorf("cancel = %v", c)
		}
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("balance after cancel %d, want %d (the surcharge refunded too)", b, before)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		t.Run("BadAreaCodeIs422", func(t *testing.T) {
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4, "area_code": "12"}, http.StatusUnprocessableEntity)
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4, "area_code": "abc"}, http.StatusUnprocessableEntity)
		})
		t.Run("UnknownServiceIs404", func(t *testing.T) {
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 999}, http.StatusNotFound)
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "no-such-service"}, http.StatusNotFound)
		})
		t.Run("LongTermProductIs400", func(t *testing.T) {
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 1}, http.StatusBadRequest)
		})
		t.Run("MissingServiceIs400", func(t *testing.T) {
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{}, http.StatusBadRequest)
		})
		t.Run("OutOfStockIs409", func(t *testing.T) {
			d := s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4, "area_code": "907"}, http.StatusConflict)
			if !strings.Contains(strings.ToLower(d), "out of stock") {
				t.Errorf("out-of-stock detail %q", d)
			}
		})
		t.Run("InsufficientBalanceIs402", func(t *testing.T) {
			poor, _ := s.signup(t)
			s.expect(t, http.MethodPost, "/v1/verifications", poor, map[string]any{"service": 4}, http.StatusPaymentRequired)
			if l := s.list(t, "/v1/verifications?tab=active", poor); len(l) != 0 {
				t.Errorf("a refused purchase left a verification: %v", l)
			}
			if b := s.balance(t, poor); b != 0 {
				t.Errorf("balance %d after a refused purchase", b)
			}
		})
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("refused purchases changed the balance: %d → %d", before, b)
		}
	})
	t.Run("ExpiredIsRefunded", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		v := buy(t, map[string]any{"service": 4})
		if b := s.balance(t, s.DemoSession); b != before-70 {
			t.Fatalf("balance %d, want %d", b, before-70)
		}
		s.advance(t, 15*60+1)
		got := get(t, str(t, v["id"]))
		if got["status"] != "expired" || got["code"] != nil {
			t.Errorf("after the window: %v, want expired", got)
		}
		if g := get(t, str(t, waiting["id"])); g["status"] != "expired" {
			t.Errorf("the older waiting verification after the window: %v, want expired", g["status"])
		}
		// Both waiting ones (v and the ListTabs one) are refunded.
		if b := s.balance(t, s.DemoSession); b != before+70 {
			t.Errorf("balance after expiry %d, want %d (both refunded)", b, before+70)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger for the expired verification = %v, want [refund purchase]", k)
		}
		if l := s.list(t, "/v1/verifications?tab=active", s.APIKey); len(l) != 0 {
			t.Errorf("active tab after the window still has %d", len(l))
		}
		// A code after the window does not revive it.
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 555555")
		if got := get(t, str(t, v["id"])); got["status"] != "expired" || got["code"] != nil {
			t.Errorf("late SMS changed an expired verification: %v", got)
		}
		s.expect(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
		assertLedgerConsistent(t, s.list(t, "/v1/wallet/ledger?limit=200", s.DemoSession), s.balance(t, s.DemoSession))
	})
	checkInvariants(t, s.DBPath)
}
