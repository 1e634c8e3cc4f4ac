package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/sqlite"
)

// TestInvariantsFindRefundsWithoutPurchases: a refund written straight into the
// ledger for a verification or a rental that was never bought is found (the
// check answers by index lookups, not a scan per refund).
func TestInvariantsFindRefundsWithoutPurchases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inv.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	app := appOf(t, db)
	u, err := app.CreateUser(ctx, "inv@example.com", "password123", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := db.CheckInvariants(ctx, time.Now()); err != nil || !c.OK() {
		t.Fatalf("a fresh database: %+v %v", c, err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for i, col := range []string{"verification_id", "rental_id"} {
		if _, err := raw.Exec(`INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, `+col+`, created_at) VALUES (?, ?, 'refund', 0, 0, ?, 0)`,
			"bad-"+col, u.ID, "never-bought-"+col); err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.CheckInvariants(ctx, time.Now())
		db.Close()
		if err != nil || c.RefundsWithoutBuys != i+1 {
			t.Fatalf("after a refund of a %s never bought: %+v %v", col, c, err)
		}
	}
	raw.Close()
}
