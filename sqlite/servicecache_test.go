package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestWriterServiceCacheFollowsChanges: purchases look services up through the
// writer's cache, which must follow every change: an admin's edit through the store
// (price, disabling) and a change another program commits to the same file.
func TestWriterServiceCacheFollowsChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	app := appOf(t, db)
	defer db.Close()
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	gw, err := app.CreateGateway(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers([]string{"+13325550101", "+13325550102"})); err != nil {
		t.Fatal(err)
	}
	u, err := app.CreateUser(ctx, "cache@example.com", "password123", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, 10_000, "start"); err != nil {
		t.Fatal(err)
	}
	buy := func(ref string) (*fetchsms.Verification, error) {
		t.Helper()
		v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: ref})
		if err == nil {
			if _, err := app.CancelVerification(ctx, u.ID, v.ID); err != nil {
				t.Fatal(err)
			}
		}
		return v, err
	}
	v, err := buy("4")
	if err != nil {
		t.Fatal(err)
	}
	first := v.CostCents

	// Through the store: a new price is charged at once, a disabled service is unknown.
	price := first + 15
	if _, err := app.UpdateService(ctx, 4, fetchsms.ServiceUpdate{PriceCents: &price}); err != nil {
		t.Fatal(err)
	}
	if v, err = buy("4"); err != nil || v.CostCents != price {
		t.Fatalf("after the price change: %v, %v; want %d cents", v, err, price)
	}
	off := false
	if _, err := app.UpdateService(ctx, 4, fetchsms.ServiceUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	var fe *fetchsms.Error
	if _, err := buy("4"); !errors.As(err, &fe) || fe.Code != fetchsms.ENOTFOUND {
		t.Fatalf("a disabled service was bought: %v", err)
	}
	on := true
	if _, err := app.UpdateService(ctx, 4, fetchsms.ServiceUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err = buy("4"); err != nil {
		t.Fatal(err)
	}

	// Another program on the same file.
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=15000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`UPDATE services SET price_cents = price_cents + 5 WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	if v, err = buy("4"); err != nil || v.CostCents != price+5 {
		t.Fatalf("after another program's change: %v, %v; want %d cents", v, err, price+5)
	}
}
