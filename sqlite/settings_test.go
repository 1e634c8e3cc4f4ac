package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestWriterSettings: the writer's connection runs with the settings Open gives it.
func TestWriterSettings(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.write(ctx, func(tx *wtx) error {
		for name, want := range map[string]int{"wal_autocheckpoint": 4000, "temp_store": 2, "synchronous": 1, "foreign_keys": 1, "busy_timeout": 15000, "query_only": 0} {
			var got int
			if err := tx.QueryRowContext(ctx, `PRAGMA `+name).Scan(&got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("writer: PRAGMA %s = %d, want %d", name, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The readers' connections get theirs from the driver's DSN (driver_*.go).
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "15000", "query_only": "1"} {
		var got string
		if err := db.rp.QueryRowContext(ctx, `PRAGMA `+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("reader: PRAGMA %s = %s, want %s", name, got, want)
		}
	}
}
