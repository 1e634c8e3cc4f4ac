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

// BenchmarkStore: scripts/with-postgres.sh go test -run x -bench Store ./postgres
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) fetchsms.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}

// TestHealthWhenUnreachable: a store whose database cannot be reached reports
// EUNAVAILABLE (the server's /healthz then answers 503).
func TestHealthWhenUnreachable(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Health(ctx); err != nil {
		t.Fatalf("health of an open store: %v", err)
	}
	db.Close()
	if err := db.Health(ctx); fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		t.Fatalf("health of a closed pool: %v, want unavailable", err)
	}
}
