package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// TestWallet: the wallet's balance, deposits and ledger through the Go client
// (a session's), and the admin's adjustments.
func TestWallet(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	sess, userID := s.signup(t)
	api := s.api(t, sess)
	ctx := context.Background()
	ledger := func(t *testing.T, opt client.ListOptions) *client.Page[client.LedgerEntry] {
		t.Helper()
		return noErr[*client.Page[client.LedgerEntry]](t)(api.Ledger(ctx, opt))
	}
	// wire reads a route's answer as sent.
	wire := func(t *testing.T, api *client.Client, path string) map[string]any {
		t.Helper()
		var m map[string]any
		if _, err := api.Do(ctx, http.MethodGet, path, nil, &m); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return m
	}

	t.Run("FreshWalletIsEmpty", func(t *testing.T) {
		if w := wire(t, api, "/v1/wallet"); num(t, w["balance_cents"]) != 0 || w["currency"] != "USD" || len(w) != 2 {
			t.Errorf("wallet = %v, want {balance_cents: 0, currency: USD}", w)
		}
		if l := ledger(t, client.ListOptions{}); len(l.Items) != 0 || l.NextCursor != "" {
			t.Errorf("fresh ledger = %+v, want none", l)
		}
	})
	t.Run("SandboxDepositCompletes", func(t *testing.T) {
		d := noErr[*client.Deposit](t)(api.CreateDeposit(ctx, client.DepositRequest{AmountCents: 1000}))
		if d.Status != "succeeded" || d.AmountCents != 1000 || d.ID == "" || d.Provider != "sandbox" {
			t.Errorf("deposit = %+v, want succeeded 1000 through sandbox", d)
		}
		if b := s.balance(t, sess); b != 1000 {
			t.Errorf("balance after deposit = %d, want 1000", b)
		}
		l := ledger(t, client.ListOptions{}).Items
		if len(l) != 1 || l[0].Kind != "deposit" || l[0].DepositID != d.ID || l[0].AmountCents != 1000 {
			t.Errorf("ledger after deposit = %+v", l)
		}
		ds := noErr[*client.Page[client.Deposit]](t)(api.ListDeposits(ctx, client.ListOptions{})).Items
		if len(ds) != 1 || ds[0].ID != d.ID || ds[0].Status != "succeeded" || ds[0].AmountCents != 1000 || ds[0].Provider != "sandbox" || ds[0].CreatedAt.IsZero() {
			t.Errorf("GET /v1/wallet/deposits = %+v, want the succeeded deposit", ds)
		}
		if got := noErr[*client.Deposit](t)(api.Deposit(ctx, d.ID)); got.ID != d.ID || got.Status != "succeeded" {
			t.Errorf("GET /v1/wallet/deposits/%s = %+v", d.ID, got)
		}
		other, _ := s.signup(t)
		if ds := noErr[*client.Page[client.Deposit]](t)(s.api(t, other).ListDeposits(ctx, client.ListOptions{})).Items; len(ds) != 0 {
			t.Errorf("another customer sees deposits %+v", ds)
		}
		_, err := s.api(t, other).Deposit(ctx, d.ID)
		wantAPIError(t, "another's deposit", err, http.StatusNotFound, client.CodeNotFound)
	})
	t.Run("BadDeposits", func(t *testing.T) {
		// Malformed on purpose (no amount): by hand, as the client never sends it.
		s.expect(t, http.MethodPost, "/v1/wallet/deposits", sess, map[string]any{}, http.StatusBadRequest)
		for _, cents := range []int64{0, -500} {
			_, err := api.CreateDeposit(ctx, client.DepositRequest{AmountCents: cents})
			wantAPIError(t, "a deposit of nothing or less", err, http.StatusUnprocessableEntity, client.CodeInvalidValue)
		}
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
			if b := noErr[*client.Balance](t)(s.api(t, tok).Balance(ctx)); b.BalanceCents != 1200 || b.Currency != "USD" {
				t.Errorf("GET /v1/balance = %+v, want 1200 USD", b)
			}
			if b := wire(t, s.api(t, tok), "/v1/balance"); len(b) != 2 {
				t.Errorf("GET /v1/balance = %v, want exactly {balance_cents, currency}", b)
			}
		}
		for _, tok := range []string{"", "fsk_not-a-key"} {
			_, err := s.api(t, tok).Balance(ctx)
			wantAPIError(t, "balance with "+tok, err, http.StatusUnauthorized, client.CodeUnauthorized)
		}
		// Read-only: the API key still cannot reach the wallet's session routes.
		_, err := s.api(t, key).CreateDeposit(ctx, client.DepositRequest{AmountCents: 1000})
		wantAPIError(t, "a deposit with an API key", err, http.StatusForbidden, client.CodeForbidden)
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
		v := noErr[*client.Verification](t)(api.CreateVerification(ctx, client.VerificationRequest{Service: "4"}))
		noErr[*client.Verification](t)(api.CancelVerification(ctx, v.ID))
		l := ledger(t, client.ListOptions{}).Items
		want := []string{"refund", "purchase", "adjustment", "adjustment", "deposit"}
		if got := kinds(l); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[4] != want[4] {
			t.Fatalf("ledger kinds = %v, want %v", got, want)
		}
		if l[1].AmountCents != -70 || l[0].AmountCents != 70 || l[0].VerificationID != v.ID || l[1].VerificationID != v.ID {
			t.Errorf("purchase/refund entries = %+v / %+v", l[1], l[0])
		}
		assertLedgerConsistent(t, l, s.balance(t, sess))
	})
	t.Run("Pagination", func(t *testing.T) {
		first := ledger(t, client.ListOptions{Limit: 2})
		if len(first.Items) != 2 || first.NextCursor == "" {
			t.Fatalf("page 1: %d entries, cursor %q", len(first.Items), first.NextCursor)
		}
		rest := ledger(t, client.ListOptions{Limit: 200, Cursor: first.NextCursor})
		all := ledger(t, client.ListOptions{}).Items
		if len(first.Items)+len(rest.Items) != len(all) || rest.Items[0].ID != all[2].ID || rest.NextCursor != "" {
			t.Errorf("pages do not join up: %d + %d vs %d", len(first.Items), len(rest.Items), len(all))
		}
		// limit=0 cannot be sent by the client (0 is "the default"): by hand.
		s.expect(t, http.MethodGet, "/v1/wallet/ledger?limit=0", sess, nil, http.StatusUnprocessableEntity)
		_, err := api.Ledger(ctx, client.ListOptions{Limit: 201})
		wantAPIError(t, "limit=201", err, http.StatusUnprocessableEntity, client.CodeInvalidValue)
	})
}

// assertLedgerConsistent checks a whole ledger, newest first: each entry's
// balance_after is the previous balance plus its signed amount, the oldest starts
// from zero, and the newest equals the wallet balance.
func assertLedgerConsistent(t *testing.T, l []client.LedgerEntry, balance int64) {
	t.Helper()
	if len(l) == 0 {
		if balance != 0 {
			t.Errorf("empty ledger but balance %d", balance)
		}
		return
	}
	if got := l[0].BalanceAfterCents; got != balance {
		t.Errorf("newest balance_after_cents %d, wallet balance %d", got, balance)
	}
	for i := range l {
		prev := int64(0)
		if i+1 < len(l) {
			prev = l[i+1].BalanceAfterCents
		}
		if got := l[i].BalanceAfterCents; got != prev+l[i].AmountCents {
			t.Errorf("ledger entry %d (%v): balance_after %d != previous %d + amount %d", i, l[i].Kind, got, prev, l[i].AmountCents)
		}
		if l[i].CreatedAt.IsZero() || l[i].CreatedAt.Location() != time.UTC {
			t.Errorf("ledger entry %d: created_at %v is not UTC with a Z", i, l[i].CreatedAt)
		}
	}
}
