package main

import (
	"net/http"
	"testing"
)

func TestWallet(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	sess, userID := s.signup(t)

	t.Run("FreshWalletIsEmpty", func(t *testing.T) {
		w := s.call(t, http.MethodGet, "/v1/wallet", sess, nil, http.StatusOK)
		if num(t, w["balance_cents"]) != 0 || w["currency"] != "USD" || len(w) != 2 {
			t.Errorf("wallet = %v, want {balance_cents: 0, currency: USD}", w)
		}
		if l := s.list(t, "/v1/wallet/ledger", sess); len(l) != 0 {
			t.Errorf("fresh ledger = %v, want []", l)
		}
	})
	t.Run("SandboxDepositCompletes", func(t *testing.T) {
		d := s.call(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 1000}, http.StatusCreated)
		if d["status"] != "succeeded" || num(t, d["amount_cents"]) != 1000 || d["id"] == nil {
			t.Errorf("deposit = %v, want succeeded 1000", d)
		}
		if b := s.balance(t, sess); b != 1000 {
			t.Errorf("balance after deposit = %d, want 1000", b)
		}
		l := s.list(t, "/v1/wallet/ledger", sess)
		if len(l) != 1 || l[0]["kind"] != "deposit" || l[0]["deposit_id"] != d["id"] || num(t, l[0]["amount_cents"]) != 1000 {
			t.Errorf("ledger after deposit = %v", l)
		}
		if d["provider"] != "sandbox" {
			t.Errorf("deposit provider = %v, want sandbox", d["provider"])
		}
		ds := s.list(t, "/v1/wallet/deposits", sess)
		if len(ds) != 1 || ds[0]["id"] != d["id"] || ds[0]["status"] != "succeeded" || num(t, ds[0]["amount_cents"]) != 1000 ||
			ds[0]["provider"] != "sandbox" || ds[0]["created_at"] == nil {
			t.Errorf("GET /v1/wallet/deposits = %v, want the succeeded deposit", ds)
		}
		other, _ := s.signup(t)
		if ds := s.list(t, "/v1/wallet/deposits", other); len(ds) != 0 {
			t.Errorf("another customer sees deposits %v", ds)
		}
	})
	t.Run("BadDeposits", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{}, http.StatusBadRequest)
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": 0}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{"amount_cents": -500}, http.StatusUnprocessableEntity)
		if b := s.balance(t, sess); b != 1000 {
			t.Errorf("balance after refused deposits = %d, want 1000", b)
		}
	})
	t.Run("AdminAdjustment", func(t *testing.T) {
		e := s.call(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession,
			map[string]any{"amount_cents": 250, "reason": "goodwill"}, http.StatusCreated)
		if e["kind"] != "adjustment" || num(t, e["amount_cents"]) != 250 || num(t, e["balance_after_cents"]) != 1250 {
			t.Errorf("adjustment entry = %v, want adjustment +250 → 1250", e)
		}
		e = s.call(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession,
			map[string]any{"amount_cents": -50, "reason": "correction"}, http.StatusCreated)
		if num(t, e["amount_cents"]) != -50 || num(t, e["balance_after_cents"]) != 1200 {
			t.Errorf("debit entry = %v, want -50 → 1200", e)
		}
	})
	t.Run("BalanceWithAnAPIKey", func(t *testing.T) {
		key := str(t, s.call(t, http.MethodPost, "/v1/api-keys", sess, map[string]any{"name": "balance checker"}, http.StatusCreated)["key"])
		for _, tok := range []string{key, sess} {
			b := s.call(t, http.MethodGet, "/v1/balance", tok, nil, http.StatusOK)
			if num(t, b["balance_cents"]) != 1200 || b["currency"] != "USD" || len(b) != 2 {
				t.Errorf("GET /v1/balance = %v, want {balance_cents: 1200, currency: USD}", b)
			}
		}
		s.expect(t, http.MethodGet, "/v1/balance", "", nil, http.StatusUnauthorized)
		s.expect(t, http.MethodGet, "/v1/balance", "fsk_not-a-key", nil, http.StatusUnauthorized)
		// Read-only: the API key still cannot reach the wallet's session routes.
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", key, map[string]any{"amount_cents": 1000}, http.StatusForbidden)
	})
	t.Run("AdjustmentWithoutReasonIs422", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession, map[string]any{"amount_cents": 100}, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession, map[string]any{"amount_cents": 100, "reason": "   "}, http.StatusUnprocessableEntity)
	})
	t.Run("AdjustmentBelowZeroIs402", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/admin/users/"+userID+"/adjustments", s.AdminSession,
			map[string]any{"amount_cents": -1201, "reason": "too much"}, http.StatusPaymentRequired)
		if b := s.balance(t, sess); b != 1200 {
			t.Errorf("balance after refused debit = %d, want 1200", b)
		}
	})
	t.Run("AdjustmentForUnknownUserIs404", func(t *testing.T) {
		s.expect(t, http.MethodPost, "/v1/admin/users/00000000-0000-4000-8000-000000000000/adjustments", s.AdminSession,
			map[string]any{"amount_cents": 100, "reason": "x"}, http.StatusNotFound)
	})
	t.Run("LedgerNewestFirstAndConsistent", func(t *testing.T) {
		v := s.call(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": 4}, http.StatusCreated)
		s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", sess, nil, http.StatusOK)
		l := s.list(t, "/v1/wallet/ledger", sess)
		want := []string{"refund", "purchase", "adjustment", "adjustment", "deposit"}
		if got := kinds(l); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[4] != want[4] {
			t.Fatalf("ledger kinds = %v, want %v", got, want)
		}
		if num(t, l[1]["amount_cents"]) != -70 || num(t, l[0]["amount_cents"]) != 70 || l[0]["verification_id"] != v["id"] || l[1]["verification_id"] != v["id"] {
			t.Errorf("purchase/refund entries = %v / %v", l[1], l[0])
		}
		assertLedgerConsistent(t, l, s.balance(t, sess))
	})
	t.Run("Pagination", func(t *testing.T) {
		status, hdr, raw := s.do(t, http.MethodGet, "/v1/wallet/ledger?limit=2", sess, nil)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, raw)
		}
		first := decode[[]map[string]any](t, raw)
		cur := hdr.Get("X-Next-Cursor")
		if len(first) != 2 || cur == "" {
			t.Fatalf("page 1: %d entries, cursor %q", len(first), cur)
		}
		rest := s.list(t, "/v1/wallet/ledger?limit=200&cursor="+cur, sess)
		all := s.list(t, "/v1/wallet/ledger", sess)
		if len(first)+len(rest) != len(all) || rest[0]["id"] != all[2]["id"] {
			t.Errorf("pages do not join up: %d + %d vs %d", len(first), len(rest), len(all))
		}
		s.expect(t, http.MethodGet, "/v1/wallet/ledger?limit=0", sess, nil, http.StatusUnprocessableEntity)
		s.expect(t, http.MethodGet, "/v1/wallet/ledger?limit=201", sess, nil, http.StatusUnprocessableEntity)
	})
}

// assertLedgerConsistent checks a whole ledger, newest first: each entry's
// balance_after is the previous balance plus its signed amount, the oldest starts
// from zero, and the newest equals the wallet balance.
func assertLedgerConsistent(t *testing.T, l []map[string]any, balance int64) {
	t.Helper()
	if len(l) == 0 {
		if balance != 0 {
			t.Errorf("empty ledger but balance %d", balance)
		}
		return
	}
	if got := num(t, l[0]["balance_after_cents"]); got != balance {
		t.Errorf("newest balance_after_cents %d, wallet balance %d", got, balance)
	}
	for i := range l {
		prev := int64(0)
		if i+1 < len(l) {
			prev = num(t, l[i+1]["balance_after_cents"])
		}
		if got := num(t, l[i]["balance_after_cents"]); got != prev+num(t, l[i]["amount_cents"]) {
			t.Errorf("ledger entry %d (%v): balance_after %d != previous %d + amount %v", i, l[i]["kind"], got, prev, l[i]["amount_cents"])
		}
		parseTS(t, l[i]["created_at"])
	}
}
