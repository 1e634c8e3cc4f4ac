package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRentalLifecycle drives long-term rentals through their states; the clock jump
// of a whole term comes last.
func TestRentalLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testRentalLifecycle)
}

// TestRentalAnyMessageCounts: every message is handed to the customer, so any
// message — a link, a text without digits — makes a rental received: no refund
// on cancel or at the term's end (SPEC §4; issue 19, finding 11: a rental that
// only received links was free).
func TestRentalAnyMessageCounts(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		before := s.balance(t, s.DemoSession)
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
		id := str(t, r["id"])
		s.sms(t, str(t, r["number"]), "AcmeBank", "Sign in with this link: https://acme.example/l/abc")
		if got := s.call(t, http.MethodGet, "/v1/rentals/"+id, s.APIKey, nil, http.StatusOK); got["status"] != "received" || got["last_code"] != nil {
			t.Errorf("rental after a codeless message = %v, want received with last_code null", got)
		}
		s.expect(t, http.MethodPost, "/v1/rentals/"+id+"/cancel", s.APIKey, nil, http.StatusConflict)
		s.advance(t, 8*24*3600)
		if got := s.call(t, http.MethodGet, "/v1/rentals/"+id, s.APIKey, nil, http.StatusOK); got["status"] != "expired" {
			t.Errorf("rental after its term = %v", got["status"])
		}
		if b := s.balance(t, s.DemoSession); b != before-num(t, r["cost_cents"]) {
			t.Errorf("balance %d, want %d: a rental that received a message is paid for", b, before-num(t, r["cost_cents"]))
		}
	})
}

func testRentalLifecycle(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	rent := func(t *testing.T, body map[string]any) map[string]any {
		t.Helper()
		return s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, body, http.StatusCreated)
	}
	get := func(t *testing.T, id string) map[string]any {
		t.Helper()
		return s.call(t, http.MethodGet, "/v1/rentals/"+id, s.APIKey, nil, http.StatusOK)
	}

	// Numbers already sold as verifications (one received a code, one was
	// cancelled): rentals must never get them.
	sold := map[string]bool{}
	v1 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
	v2 := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 2}, http.StatusCreated)
	s.sms(t, str(t, v1["number"]), "Telegram", "Telegram code: 246810")
	s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v2["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
	sold[str(t, v1["number"])], sold[str(t, v2["number"])] = true, true
	start := s.balance(t, s.DemoSession)

	var first map[string]any
	t.Run("Created", func(t *testing.T) {
		r := rent(t, map[string]any{"service": 1, "days": 30})
		if num(t, r["cost_cents"]) != 1200 || num(t, r["duration_days"]) != 30 || r["status"] != "waiting" || r["last_code"] != nil {
			t.Errorf("rental = %v, want cost 1200, 30 days, waiting, last_code null", r)
		}
		if r["service"] != "unlimited-services" || r["service_name"] != "Unlimited Services" {
			t.Errorf("rental service = %v / %v", r["service"], r["service_name"])
		}
		if !displayNumber.MatchString(str(t, r["number"])) || len(str(t, r["ref"])) < 3 || str(t, r["ref"])[:2] != "r_" {
			t.Errorf("rental number/ref = %v / %v", r["number"], r["ref"])
		}
		if d := parseTS(t, r["expires_at"]).Sub(parseTS(t, r["created_at"])); d != 30*24*time.Hour {
			t.Errorf("expires_at - created_at = %v, want 30 days", d)
		}
		if sold[str(t, r["number"])] {
			t.Errorf("rental got %v, a number already sold as a verification", r["number"])
		}
		if b := s.balance(t, s.DemoSession); b != start-1200 {
			t.Errorf("balance %d, want %d", b, start-1200)
		}
		if got := get(t, str(t, r["id"])); got["status"] != "waiting" || got["number"] != r["number"] {
			t.Errorf("GET rental = %v", got)
		}
		sold[str(t, r["number"])] = true
		first = r
	})
	t.Run("SlugAccepted", func(t *testing.T) {
		r := rent(t, map[string]any{"service": "unlimited-services", "days": 1})
		if num(t, r["cost_cents"]) != 300 {
			t.Errorf("1-day rental = %v, want 300", r)
		}
		if sold[str(t, r["number"])] {
			t.Errorf("rental got a used number %v", r["number"])
		}
		sold[str(t, r["number"])] = true
		s.call(t, http.MethodPost, "/v1/rentals/"+str(t, r["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
	})
	t.Run("Errors", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 45}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 0}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1}, http.StatusBadRequest)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"days": 30}, http.StatusBadRequest)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 4, "days": 30}, http.StatusBadRequest)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 999, "days": 30}, http.StatusNotFound)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 30, "area_code": "907"}, http.StatusConflict)
		s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 30, "area_code": "12"}, http.StatusUnprocessableEntity)
		poor, _ := s.signup(t)
		s.expect(t, http.MethodPost, "/v1/rentals", poor, map[string]any{"service": 1, "days": 1}, http.StatusPaymentRequired)
		s.expect(t, http.MethodGet, "/v1/rentals?tab=all", s.APIKey, nil, http.StatusUnprocessableEntity)
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("refused rentals changed the balance %d → %d", before, b)
		}
	})
	t.Run("UnsupportedDaysDetailShowsTheValueSent", func(t *testing.T) {
		for _, days := range []string{"0", "1000", "-7"} {
			d := s.expect(t, http.MethodPost, "/v1/rentals", s.APIKey, `{"service": 1, "days": `+days+`}`, http.StatusUnprocessableEntity)
			if !strings.Contains(d, days) || strings.Contains(d, "duration -1") {
				t.Errorf("days %s: detail %q does not show the value sent", days, d)
			}
		}
	})
	t.Run("AreaCodeSurcharge", func(t *testing.T) {
		r := rent(t, map[string]any{"service": 1, "days": 7, "area_code": "415"})
		if num(t, r["cost_cents"]) != 610 || str(t, r["number"])[:5] != "(415)" {
			t.Errorf("area-code rental = %v, want 610 and a (415) number", r)
		}
		if sold[str(t, r["number"])] {
			t.Errorf("rental got a used number %v", r["number"])
		}
		sold[str(t, r["number"])] = true
		before := s.balance(t, s.DemoSession)
		s.call(t, http.MethodPost, "/v1/rentals/"+str(t, r["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		if b := s.balance(t, s.DemoSession); b != before+610 {
			t.Errorf("cancel refunded %d, want 610", b-before)
		}
	})
	t.Run("MessagesNewestFirst", func(t *testing.T) {
		number := str(t, first["number"])
		res := s.sms(t, number, "WhatsApp", "Your WhatsApp code: 821-193\n\nDon't share this code with others")
		if rt, _ := res["routed_to"].(map[string]any); rt == nil || rt["rental_id"] != first["id"] {
			t.Errorf("inbound answer = %v, want routed_to.rental_id", res)
		}
		s.sms(t, number, "Telegram", "Telegram code: 482910. Do not give this code to anyone")
		got := get(t, str(t, first["id"]))
		if got["status"] != "received" || got["last_code"] != "482910" {
			t.Errorf("rental after two codes = %v, want received, last_code 482910", got)
		}
		msgs := s.list(t, "/v1/rentals/"+str(t, first["id"])+"/messages", s.APIKey)
		if len(msgs) != 2 {
			t.Fatalf("messages = %v, want 2", msgs)
		}
		if msgs[0]["sender"] != "Telegram" || msgs[0]["code"] != "482910" || msgs[0]["body"] != "Telegram code: 482910. Do not give this code to anyone" {
			t.Errorf("newest message = %v", msgs[0])
		}
		if msgs[1]["sender"] != "WhatsApp" || msgs[1]["code"] != "821-193" || msgs[1]["body"] != "Your WhatsApp code: 821-193\n\nDon't share this code with others" {
			t.Errorf("older message = %v (the seed shows code \"821-193\")", msgs[1])
		}
		for _, m := range msgs {
			if m["id"] == nil {
				t.Errorf("message without id: %v", m)
			}
			parseTS(t, m["received_at"])
		}
		// A message with no code is listed but is not a code.
		s.sms(t, number, "AcmeBank", "Your statement is ready")
		msgs = s.list(t, "/v1/rentals/"+str(t, first["id"])+"/messages", s.APIKey)
		if len(msgs) != 3 || msgs[0]["sender"] != "AcmeBank" || msgs[0]["code"] != nil {
			t.Errorf("codeless message not listed first with code null: %v", msgs)
		}
		if got := get(t, str(t, first["id"])); got["last_code"] != "482910" {
			t.Errorf("codeless SMS changed last_code: %v", got["last_code"])
		}
	})
	t.Run("CancelAfterCodeIs409", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		s.expect(t, http.MethodPost, "/v1/rentals/"+str(t, first["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("refused cancel changed the balance")
		}
	})
	t.Run("CancelBeforeCodeRefunds", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		r := rent(t, map[string]any{"service": 1, "days": 7})
		if sold[str(t, r["number"])] {
			t.Errorf("rental got a used number %v", r["number"])
		}
		sold[str(t, r["number"])] = true
		c := s.call(t, http.MethodPost, "/v1/rentals/"+str(t, r["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		if c["status"] != "cancelled" {
			t.Errorf("cancel = %v", c)
		}
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("balance %d after cancel, want %d", b, before)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, r["id"]))); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger = %v, want [refund purchase]", k)
		}
		s.expect(t, http.MethodPost, "/v1/rentals/"+str(t, r["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
	})
	var third map[string]any
	t.Run("ListTabs", func(t *testing.T) {
		third = rent(t, map[string]any{"service": 1, "days": 30})
		if sold[str(t, third["number"])] {
			t.Errorf("rental got a used number %v", third["number"])
		}
		active := s.list(t, "/v1/rentals?tab=active", s.APIKey)
		history := s.list(t, "/v1/rentals?tab=history", s.APIKey)
		if len(active) != 2 || active[0]["id"] != third["id"] || active[1]["id"] != first["id"] {
			t.Errorf("active rentals = %v, want [third first]", active)
		}
		if len(history) != 3 {
			t.Errorf("history has %d rentals, want the 3 cancelled", len(history))
		}
		for _, r := range history {
			if r["status"] != "cancelled" {
				t.Errorf("history shows %v", r["status"])
			}
		}
	})
	t.Run("TermEnds", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		s.advance(t, 30*24*3600+1)
		t.Run("WithoutCodeRefunded", func(t *testing.T) {
			got := get(t, str(t, third["id"]))
			if got["status"] != "expired" || got["last_code"] != nil {
				t.Errorf("third rental after its term = %v, want expired", got)
			}
			if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, third["id"]))); len(k) != 2 || k[0] != "refund" {
				t.Errorf("ledger = %v, want [refund purchase]", k)
			}
		})
		t.Run("WithCodeNotRefunded", func(t *testing.T) {
			got := get(t, str(t, first["id"]))
			if got["status"] != "expired" || got["last_code"] != "482910" {
				t.Errorf("first rental after its term = %v, want expired keeping last_code", got)
			}
			if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, first["id"]))); len(k) != 1 || k[0] != "purchase" {
				t.Errorf("ledger = %v, want only [purchase]", k)
			}
			s.expect(t, http.MethodPost, "/v1/rentals/"+str(t, first["id"])+"/cancel", s.APIKey, nil, http.StatusConflict)
		})
		if b := s.balance(t, s.DemoSession); b != before+1200 {
			t.Errorf("balance after the term %d, want %d (only the codeless rental refunded)", b, before+1200)
		}
		if l := s.list(t, "/v1/rentals?tab=active", s.APIKey); len(l) != 0 {
			t.Errorf("active rentals after the term: %d", len(l))
		}
		// The ended rental hears nothing more.
		res := s.sms(t, str(t, first["number"]), "Telegram", "Telegram code: 777777")
		if res["routed_to"] != nil {
			t.Errorf("SMS after the term routed to %v", res["routed_to"])
		}
		if got := get(t, str(t, first["id"])); got["last_code"] != "482910" {
			t.Errorf("SMS after the term changed last_code: %v", got["last_code"])
		}
		assertLedgerConsistent(t, s.list(t, "/v1/wallet/ledger?limit=200", s.DemoSession), s.balance(t, s.DemoSession))
	})
	checkInvariants(t, s.DBPath)
}
