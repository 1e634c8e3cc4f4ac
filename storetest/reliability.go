package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testReliability: the engine's one aggregate read of ended verifications
// (VerificationOutcomes) and the App's figures over it (issue 26): codes are
// successes timed from purchase, expiries and late cancels failures, early
// cancels and waiting ones nothing; only the last 7 days count, and a service
// below the minimum sample has none.
func testReliability(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 20)
	u := f.user(t, 100_000)
	buy := func() *fetchsms.Verification {
		t.Helper()
		v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 16 codes, after 5, 6, … 20 seconds.
	for i := 0; i < 16; i++ {
		v := buy()
		f.clock.Advance(time.Duration(5+i) * time.Second)
		res, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: fmt.Sprintf("r%d", i), To: v.Number, From: "Telegram", Body: fmt.Sprintf("Telegram code: %d", 100000+i)})
		if err != nil || res.VerificationID != v.ID {
			t.Fatalf("code %d: %+v %v", i, res, err)
		}
	}
	// 2 cancelled at once (not counted), 2 cancelled after 3 minutes (failures).
	for i := 0; i < 2; i++ {
		if _, err := f.db.CancelVerification(ctx, u.ID, buy().ID); err != nil {
			t.Fatal(err)
		}
	}
	late := []*fetchsms.Verification{buy(), buy()}
	f.clock.Advance(3 * time.Minute)
	for _, v := range late {
		if _, err := f.db.CancelVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	// 3 expired (failures), and one still waiting (nothing).
	buy()
	buy()
	buy()
	f.clock.Advance(fetchsms.VerificationWindow + time.Second)
	if n, err := f.db.ExpireDue(ctx, 100); err != nil || n != 3 {
		t.Fatalf("expired %d %v", n, err)
	}
	buy()

	rows, err := f.store.VerificationOutcomes(ctx, f.clock.Now().Add(-fetchsms.ReliabilityWindow))
	if err != nil {
		t.Fatal(err)
	}
	sum := map[string]int{}
	for _, r := range rows {
		if r.ServiceID != 4 {
			t.Fatalf("outcome of another service: %+v", r)
		}
		sum[r.Status] += r.Count
		if r.Status == fetchsms.StatusReceived && (r.Seconds < 5 || r.Seconds > 20) {
			t.Fatalf("a code's wait: %+v", r)
		}
	}
	if sum[fetchsms.StatusReceived] != 16 || sum[fetchsms.StatusCancelled] != 4 || sum[fetchsms.StatusExpired] != 3 || sum[fetchsms.StatusWaiting] != 0 {
		t.Fatalf("outcomes %v", sum)
	}

	reliabilityOf := func(slug string) *fetchsms.Reliability {
		t.Helper()
		cat, err := f.db.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range cat {
			if s.Slug == slug {
				return s.Reliability
			}
		}
		t.Fatalf("no %s in the catalog", slug)
		return nil
	}
	if r := reliabilityOf("telegram"); r != nil {
		t.Fatalf("figures before the first computation: %+v", r)
	}
	if err := f.db.RefreshReliability(ctx); err != nil {
		t.Fatal(err)
	}
	if r := reliabilityOf("telegram"); r == nil || *r != (fetchsms.Reliability{SuccessRate: 0.762, MedianSeconds: 12, Sample: 21}) {
		t.Fatalf("telegram figures %+v", r)
	}
	if r := reliabilityOf("whatsapp"); r != nil {
		t.Fatalf("whatsapp, with no traffic, has figures %+v", r)
	}
	// Eight days on, nothing is in the window.
	f.clock.Advance(8 * 24 * time.Hour)
	if err := f.db.RefreshReliability(ctx); err != nil {
		t.Fatal(err)
	}
	if r := reliabilityOf("telegram"); r != nil {
		t.Fatalf("figures from outside the window: %+v", r)
	}
}
