package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testReport: a waiting verification's number reported as refused by its
// service (issue 20): refunded at once, a replacement on another number in the
// same transaction, the number never sold for the service again, disabled after
// ReportDisableThreshold reports, and counted in the report rates.
func testReport(t *testing.T, open Opener) {
	ctx := context.Background()
	buy := func(t *testing.T, f *fixture, u *fetchsms.User, service string) *fetchsms.Verification {
		t.Helper()
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: service})
		if err != nil {
			t.Fatalf("buy %s: %v", service, err)
		}
		return v
	}

	t.Run("RefundAndReplacement", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 3)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		res, err := f.db.ReportVerification(ctx, u.ID, v.ID, "  the service says this number cannot be used ")
		if err != nil {
			t.Fatal(err)
		}
		if res.Refunded.Status != fetchsms.StatusCancelled || res.Refunded.ID != v.ID || res.NoReplacement != nil {
			t.Fatalf("report: %+v", res)
		}
		r := res.Replacement
		if r == nil || r.Status != fetchsms.StatusWaiting || r.Number == v.Number || r.ServiceID != v.ServiceID || r.CostCents != 70 || r.ID == v.ID {
			t.Fatalf("replacement %+v of %+v", r, v)
		}
		if b := f.balance(t, u.ID); b != 1000-70 {
			t.Fatalf("balance %d: one refund and one purchase make %d", b, 1000-70)
		}
		// Reported again, or its replacement's code in: refused, nothing moves.
		if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, "again"); fetchsms.ErrorReason(err) != fetchsms.ReasonNotWaiting {
			t.Fatalf("second report: %v", err)
		}
		// The reported number is never sold for Telegram again: the third
		// number goes, then Telegram is out of stock; WhatsApp can still have it.
		third := buy(t, f, u, "telegram")
		if third.Number == v.Number {
			t.Fatalf("the reported number sold again for its service")
		}
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"}); fetchsms.ErrorReason(err) != fetchsms.ReasonOutOfStock {
			t.Fatalf("telegram with only the reported number free: %v", err)
		}
		if w := buy(t, f, u, "whatsapp"); w.Number != v.Number {
			t.Fatalf("whatsapp got %s, want the reported number %s", w.Number, v.Number)
		}
		// The replay's view: the same answer.
		again, err := f.db.VerificationReport(ctx, u.ID, v.ID)
		if err != nil || again.Replacement == nil || again.Replacement.ID != r.ID || again.Refunded.Status != fetchsms.StatusCancelled {
			t.Fatalf("the report read again: %+v %v", again, err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 2)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		for _, reason := range []string{"", "   "} {
			if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, reason); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
				t.Fatalf("reason %q: %v", reason, err)
			}
		}
		for _, reason := range []string{strings.Repeat("x", fetchsms.ReportReasonMax+1), "a\x00b", "\xff"} {
			if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, reason); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
				t.Fatalf("reason %q: %v", reason, err)
			}
		}
		other := f.user(t, 1000)
		if _, err := f.db.ReportVerification(ctx, other.ID, v.ID, "not mine"); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("another's report: %v", err)
		}
		if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m1", To: v.Number, From: "Telegram", Body: "Telegram code: 123456"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, "too late"); fetchsms.ErrorReason(err) != fetchsms.ReasonAlreadyReceived {
			t.Fatalf("report after the code: %v", err)
		}
		// Waiting for another code after a resend: it was charged; no report.
		if _, err := f.db.ResendVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, "no second code"); fetchsms.ErrorReason(err) != fetchsms.ReasonAlreadyReceived {
			t.Fatalf("report of a resend's wait: %v", err)
		}
		if b := f.balance(t, u.ID); b != 1000-70 {
			t.Fatalf("balance %d", b)
		}
	})

	t.Run("NoStockStillRefunds", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		res, err := f.db.ReportVerification(ctx, u.ID, v.ID, "refused")
		if err != nil || res.Replacement != nil || res.NoReplacement == nil || res.NoReplacement.Code != fetchsms.ReasonOutOfStock || res.NoReplacement.Detail == "" {
			t.Fatalf("report with no other number: %+v %v", res, err)
		}
		if b := f.balance(t, u.ID); b != 1000 {
			t.Fatalf("balance %d, want the refund in full", b)
		}
		again, err := f.db.VerificationReport(ctx, u.ID, v.ID)
		if err != nil || again.Replacement != nil || *again.NoReplacement != *res.NoReplacement {
			t.Fatalf("the report read again: %+v %v", again, err)
		}
	})

	t.Run("BalanceShortStillRefunds", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 2)
		u := f.user(t, 70)
		v := buy(t, f, u, "telegram")
		// The price went up meanwhile: the refund no longer covers a replacement.
		price := fetchsms.Cents(90)
		if _, err := f.db.UpdateService(ctx, 4, fetchsms.ServiceUpdate{PriceCents: &price}); err != nil {
			t.Fatal(err)
		}
		res, err := f.db.ReportVerification(ctx, u.ID, v.ID, "refused")
		if err != nil || res.Replacement != nil || res.NoReplacement == nil || res.NoReplacement.Code != "insufficient_balance" {
			t.Fatalf("report that cannot pay for a replacement: %+v %v", res, err)
		}
		if b := f.balance(t, u.ID); b != 70 {
			t.Fatalf("balance %d", b)
		}
	})

	t.Run("OftenReportedIsDisabled", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 1)
		u := f.user(t, 1000)
		var number string
		for i, service := range []string{"telegram", "whatsapp", "google"} {
			v := buy(t, f, u, service)
			number = v.Number
			if _, err := f.db.ReportVerification(ctx, u.ID, v.ID, "refused"); err != nil {
				t.Fatalf("report %d: %v", i+1, err)
			}
		}
		if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "facebook"}); fetchsms.ErrorReason(err) != fetchsms.ReasonOutOfStock {
			t.Fatalf("a number reported %d times still sold: %v", fetchsms.ReportDisableThreshold, err)
		}
		numbers, gateways, err := f.db.ReportRates(ctx, 10)
		if err != nil || len(numbers) != 1 || numbers[0].Name != number || numbers[0].Reports != 3 || numbers[0].Sold != 3 || !numbers[0].Disabled ||
			numbers[0].Gateway != f.gateway.Name {
			t.Fatalf("number rates %+v %v", numbers, err)
		}
		if len(gateways) != 1 || gateways[0].ID != f.gateway.ID || gateways[0].Reports != 3 || gateways[0].Sold != 3 {
			t.Fatalf("gateway rates %+v", gateways)
		}
	})

	t.Run("ParallelReportsRefundOnce", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open, 3)
		u := f.user(t, 1000)
		v := buy(t, f, u, "telegram")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, refused int
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.db.ReportVerification(ctx, u.ID, v.ID, "refused")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case fetchsms.ErrorCode(err) == fetchsms.ECONFLICT:
					refused++
				default:
					t.Errorf("report: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || refused != 19 {
			t.Fatalf("%d reports done and %d refused; want 1 and 19", ok, refused)
		}
		if b := f.balance(t, u.ID); b != 1000-70 {
			t.Fatalf("balance %d after 20 parallel reports", b)
		}
		list, _, err := f.db.ListVerifications(ctx, u.ID, false, fetchsms.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("waiting after the reports: %d %v (one replacement)", len(list), err)
		}
	})
}
