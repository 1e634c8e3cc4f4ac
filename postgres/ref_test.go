package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/postgres/pgtest"
)

// TestVerificationRefTaken: a verification's insert travels with the debit, so
// a random ref already taken fails the transaction, which runs again whole with
// another ref: the second purchase succeeds, charged once, on one number.
func TestVerificationRefTaken(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var calls atomic.Int64
	db.SetNewRefForTest(func(prefix string) string {
		if calls.Add(1) <= 2 { // the first purchase's, and the second's first try
			return prefix + "SAME00"
		}
		return sqlrows.NewRef(prefix)
	})
	app := newApp(t, db)
	u := stock(t, app, "refs@example.com", 10_000, "+13325553000", "+13325553001", "+13325553002")
	a, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatalf("second purchase, its first ref taken: %v", err)
	}
	if a.Ref != "v_SAME00" || b.Ref == a.Ref || calls.Load() != 3 {
		t.Fatalf("refs %q and %q after %d draws; want v_SAME00, another, 3 draws", a.Ref, b.Ref, calls.Load())
	}
	if got, err := app.VerificationByRef(ctx, u.ID, b.Ref); err != nil || got.ID != b.ID || got.NumberID == a.NumberID {
		t.Fatalf("second purchase read by its ref: %+v, %v", got, err)
	}
	if bal, err := app.Balance(ctx, u.ID); err != nil || bal != 10_000-a.CostCents-b.CostCents {
		t.Fatalf("balance %d, %v; want %d", bal, err, 10_000-a.CostCents-b.CostCents)
	}
	check, err := db.CheckInvariants(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() {
		t.Fatalf("invariants: %+v", check)
	}
}
