package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fetchsms/fetchsms/client"
)

// TestVerificationLifecycle drives short-term verifications through every state in
// a sandbox whose simulated SIM bank is silent, so only the test sends SMS. The
// subtests share the server and run in order; the clock jump comes last. The
// customer's side goes through the Go client.
func TestVerificationLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testVerificationLifecycle)
}

func testVerificationLifecycle(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	api := s.api(t, s.APIKey)
	ctx := context.Background()
	buy := func(t *testing.T, r client.VerificationRequest) *client.Verification {
		t.Helper()
		return noErr[*client.Verification](t)(api.CreateVerification(ctx, r))
	}
	get := func(t *testing.T, id string) *client.Verification {
		t.Helper()
		return noErr[*client.Verification](t)(api.Verification(ctx, id))
	}
	cancel := func(t *testing.T, id string) *client.Verification {
		t.Helper()
		return noErr[*client.Verification](t)(api.CancelVerification(ctx, id))
	}
	list := func(t *testing.T, api *client.Client, tab string) []client.Verification {
		t.Helper()
		return noErr[*client.Page[client.Verification]](t)(api.ListVerifications(ctx, tab, client.ListOptions{})).Items
	}
	telegram := client.VerificationRequest{Service: "4"}
	start := s.balance(t, s.DemoSession)
	if start != 5000 {
		t.Fatalf("demo balance %d, want 5000 starting credit", start)
	}

	var received *client.Verification
	t.Run("ReceivedShowsCodeNotBody", func(t *testing.T) {
		v := buy(t, telegram)
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Errorf("balance after purchase %d, want %d (debited up front)", b, start-70)
		}
		res := s.sms(t, v.Number, "Telegram", "Telegram code: 482910")
		if rt, _ := res["routed_to"].(map[string]any); rt == nil || rt["verification_id"] != v.ID {
			t.Errorf("inbound answer = %v, want routed_to.verification_id %v", res, v.ID)
		}
		got := get(t, v.ID)
		if got.Status != client.StatusReceived || got.Code != "482910" {
			t.Fatalf("after SMS: %+v, want received 482910", got)
		}
		// The answer as sent: no field carries the body.
		var raw map[string]any
		if _, err := api.Do(ctx, http.MethodGet, "/v1/verifications/"+v.ID, nil, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"body", "message", "text", "sms"} {
			if _, ok := raw[k]; ok {
				t.Errorf("verification carries %q: the customer sees the code, never the body: %v", k, raw)
			}
		}
		for _, x := range raw {
			if sv, ok := x.(string); ok && strings.Contains(sv, "Telegram code") {
				t.Errorf("verification leaks the message body: %v", raw)
			}
		}
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Errorf("balance after receipt %d, want %d (charged on receipt)", b, start-70)
		}
		received = got
	})
	t.Run("OtherServiceSMSKeepsWaiting", func(t *testing.T) {
		v := buy(t, telegram)
		res := s.sms(t, e164(t, v.Number), "WhatsApp", "Your WhatsApp code: 821-193\n\nDon't share this code with others")
		if res["routed_to"] != nil {
			t.Errorf("a WhatsApp SMS was routed to a Telegram verification: %v", res)
		}
		if got := get(t, v.ID); got.Status != client.StatusWaiting || got.Code != "" {
			t.Errorf("after a WhatsApp SMS: %+v, want waiting with no code", got)
		}
		// The right service's code still gets through afterwards.
		s.sms(t, v.Number, "Telegram", "Telegram code: 123456. Do not give this code to anyone")
		if got := get(t, v.ID); got.Status != client.StatusReceived || got.Code != "123456" {
			t.Errorf("after the Telegram SMS: %+v, want received 123456", got)
		}
	})
	t.Run("SMSWithoutCodeKeepsWaiting", func(t *testing.T) {
		v := buy(t, telegram)
		s.sms(t, v.Number, "Telegram", "Welcome to Telegram!")
		if got := get(t, v.ID); got.Status != client.StatusWaiting || got.Code != "" {
			t.Errorf("after a codeless SMS: %+v, want waiting", got)
		}
		cancel(t, v.ID)
	})
	var cancelled *client.Verification
	t.Run("CancelWaitingRefunds", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		v := buy(t, telegram)
		c := cancel(t, v.ID)
		if c.Status != client.StatusCancelled || c.ID != v.ID {
			t.Errorf("cancel answer = %+v, want cancelled", c)
		}
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("balance after cancel %d, want %d (refunded)", b, before)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, v.ID)); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger for the cancelled verification = %v, want [refund purchase]", k)
		}
		cancelled = c
	})
	t.Run("CancelAgainIs409", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		_, err := api.CancelVerification(ctx, cancelled.ID)
		wantAPIError(t, "a second cancel", err, http.StatusConflict, client.CodeNotWaiting)
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("a second cancel changed the balance: %d → %d", before, b)
		}
	})
	t.Run("CancelAfterCodeIs409", func(t *testing.T) {
		_, err := api.CancelVerification(ctx, received.ID)
		wantAPIError(t, "a cancel after the code", err, http.StatusConflict, client.CodeAlreadyReceived)
		if got := get(t, received.ID); got.Status != client.StatusReceived || got.Code != "482910" {
			t.Errorf("after the refused cancel: %+v", got)
		}
	})
	t.Run("SecondCodeDoesNotReachEndedVerification", func(t *testing.T) {
		s.sms(t, received.Number, "Telegram", "Telegram code: 999999")
		if got := get(t, received.ID); got.Code != "482910" {
			t.Errorf("a later SMS changed a received code: %+v", got)
		}
	})
	t.Run("NumberNeverResoldForSameServiceAfterCode", func(t *testing.T) {
		// The received number delivered a Telegram code; it must not be sold for
		// Telegram again, even in its own area code.
		ac := received.Number[1:4]
		var mine []*client.Verification
		for i := 0; i < 3; i++ {
			v := buy(t, client.VerificationRequest{Service: "4", AreaCode: ac})
			if v.Number == received.Number {
				t.Errorf("number %v resold for telegram after it delivered a telegram code", v.Number)
			}
			mine = append(mine, v)
		}
		for _, v := range mine {
			cancel(t, v.ID)
		}
	})
	var waiting *client.Verification
	t.Run("ListTabs", func(t *testing.T) {
		waiting = buy(t, telegram)
		ids := func(tab string) []string {
			t.Helper()
			var out []string
			for _, x := range list(t, api, tab) {
				if tab == client.TabActive && x.Status != client.StatusWaiting || tab == client.TabHistory && x.Status == client.StatusWaiting {
					t.Errorf("tab %s shows a %s verification", tab, x.Status)
				}
				out = append(out, x.ID)
			}
			return out
		}
		active, def, history := ids(client.TabActive), ids(""), ids(client.TabHistory)
		if !slices.Equal(active, def) {
			t.Errorf("default tab has %v, active %v: default must be active", def, active)
		}
		if !slices.Contains(active, waiting.ID) || slices.Contains(history, waiting.ID) {
			t.Errorf("the waiting verification is not (only) in active")
		}
		if !slices.Contains(history, received.ID) || !slices.Contains(history, cancelled.ID) || slices.Contains(active, received.ID) {
			t.Errorf("received/cancelled verifications are not (only) in history")
		}
		if len(active) > 0 && active[0] != waiting.ID {
			t.Errorf("active list is not newest first: %v first", active[0])
		}
		h := list(t, api, client.TabHistory)
		for i := 1; i < len(h); i++ {
			if h[i-1].CreatedAt.Before(h[i].CreatedAt) {
				t.Errorf("history not newest first at %d", i)
			}
		}
	})
	t.Run("BadTabIs422", func(t *testing.T) {
		_, err := api.ListVerifications(ctx, "all", client.ListOptions{})
		wantAPIError(t, "tab=all", err, http.StatusUnprocessableEntity, client.CodeInvalidValue)
	})
	t.Run("AreaCodeCosts80", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		v := buy(t, client.VerificationRequest{Service: "4", AreaCode: "332"})
		if v.CostCents != 80 || !strings.HasPrefix(v.Number, "(332) ") {
			t.Errorf("area-code purchase = %+v, want cost 80 and a (332) number", v)
		}
		if b := s.balance(t, s.DemoSession); b != before-80 {
			t.Errorf("balance %d, want %d", b, before-80)
		}
		if c := cancel(t, v.ID); c.Status != client.StatusCancelled {
			t.Errorf("cancel = %+v", c)
		}
		if b := s.balance(t, s.DemoSession); b != before {
			t.Errorf("balance after cancel %d, want %d (the surcharge refunded too)", b, before)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		before := s.balance(t, s.DemoSession)
		refused := func(t *testing.T, r client.VerificationRequest, status int, code string) *client.APIError {
			t.Helper()
			_, err := api.CreateVerification(ctx, r)
			return wantAPIError(t, "buy "+string(r.Service)+" "+r.AreaCode, err, status, code)
		}
		t.Run("BadAreaCodeIs422", func(t *testing.T) {
			refused(t, client.VerificationRequest{Service: "4", AreaCode: "12"}, http.StatusUnprocessableEntity, client.CodeInvalidValue)
			refused(t, client.VerificationRequest{Service: "4", AreaCode: "abc"}, http.StatusUnprocessableEntity, client.CodeInvalidValue)
		})
		t.Run("UnknownServiceIs404", func(t *testing.T) {
			refused(t, client.VerificationRequest{Service: "999"}, http.StatusNotFound, client.CodeUnknownService)
			refused(t, client.VerificationRequest{Service: "no-such-service"}, http.StatusNotFound, client.CodeUnknownService)
		})
		t.Run("LongTermProductIs400", func(t *testing.T) {
			refused(t, client.VerificationRequest{Service: client.UnlimitedServices}, http.StatusBadRequest, client.CodeInvalidRequest)
		})
		t.Run("MissingServiceIs400", func(t *testing.T) {
			// Malformed on purpose: by hand, as the client never sends it.
			s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{}, http.StatusBadRequest)
		})
		t.Run("OutOfStockIs409", func(t *testing.T) {
			e := refused(t, client.VerificationRequest{Service: "4", AreaCode: "907"}, http.StatusConflict, client.CodeOutOfStock)
			if !strings.Contains(strings.ToLower(e.Detail), "out of stock") {
				t.Errorf("out-of-stock detail %q", e.Detail)
			}
		})
		t.Run("InsufficientBalanceIs402", func(t *testing.T) {
			poor, _ := s.signup(t)
			papi := s.api(t, poor)
			_, err := papi.CreateVerification(ctx, telegram)
			wantAPIError(t, "a purchase without money", err, http.StatusPaymentRequired, client.CodeInsufficientBalance)
			if l := list(t, papi, client.TabActive); len(l) != 0 {
				t.Errorf("a refused purchase left a verification: %+v", l)
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
		v := buy(t, telegram)
		if b := s.balance(t, s.DemoSession); b != before-70 {
			t.Fatalf("balance %d, want %d", b, before-70)
		}
		s.advance(t, 15*60+1)
		if got := get(t, v.ID); got.Status != client.StatusExpired || got.Code != "" {
			t.Errorf("after the window: %+v, want expired", got)
		}
		if g := get(t, waiting.ID); g.Status != client.StatusExpired {
			t.Errorf("the older waiting verification after the window: %v, want expired", g.Status)
		}
		// Both waiting ones (v and the ListTabs one) are refunded.
		if b := s.balance(t, s.DemoSession); b != before+70 {
			t.Errorf("balance after expiry %d, want %d (both refunded)", b, before+70)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, v.ID)); len(k) != 2 || k[0] != "refund" || k[1] != "purchase" {
			t.Errorf("ledger for the expired verification = %v, want [refund purchase]", k)
		}
		if l := list(t, api, client.TabActive); len(l) != 0 {
			t.Errorf("active tab after the window still has %d", len(l))
		}
		// A code after the window does not revive it.
		s.sms(t, v.Number, "Telegram", "Telegram code: 555555")
		if got := get(t, v.ID); got.Status != client.StatusExpired || got.Code != "" {
			t.Errorf("late SMS changed an expired verification: %+v", got)
		}
		_, err := api.CancelVerification(ctx, v.ID)
		wantAPIError(t, "a cancel after the window", err, http.StatusConflict, client.CodeNotWaiting)
		assertLedgerConsistent(t, s.ledger(t, s.DemoSession), s.balance(t, s.DemoSession))
	})
	checkInvariants(t, s.DBPath)
}
