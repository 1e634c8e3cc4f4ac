package postgres_test

import (
	"context"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/postgres/pgtest"
	"github.com/fetchsms/fetchsms/storetest"
)

// TestStore runs the conformance suite on a fresh PostgreSQL database per test.
func TestStore(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	storetest.Run(t, func(t *testing.T) fetchsms.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
