package postgres_test

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/postgres"
)

// newApp seeds the default catalog on db and returns an App over it.
func newApp(t *testing.T, db *postgres.DB) *fetchsms.App {
	t.Helper()
	ctx := context.Background()
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	app, err := fetchsms.New(ctx, db, fetchsms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// stock gives app a gateway with numbers on sale and a customer with cents in
// the wallet, and returns the customer.
func stock(t *testing.T, app *fetchsms.App, email string, cents fetchsms.Cents, numbers ...string) *fetchsms.User {
	t.Helper()
	ctx := context.Background()
	gw, err := app.CreateGateway(ctx, "bank")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(numbers)); err != nil {
		t.Fatal(err)
	}
	u, err := app.CreateUser(ctx, email, "password123", fetchsms.RoleCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, cents, "test credit"); err != nil {
		t.Fatal(err)
	}
	return u
}

// openCached opens another store (another server) on url whose cache entries
// never expire by age: what it reads afresh, a notification made it read.
func openCached(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetVCacheTTLForTest(time.Hour)
	return db
}
