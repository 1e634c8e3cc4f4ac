package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
	"github.com/fetchsms/fetchsms/storetest"
)

// TestStore runs the conformance suite on a fresh SQLite file per test.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) fetchsms.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// BenchmarkStore: go test -run x -bench Store ./sqlite
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) fetchsms.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}
