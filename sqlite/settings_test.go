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
	err = db.tx(ctx, "test", func(tx *wtx) error {
		for pragma, want := range map[string]int{"wal_autocheckpoint": 4000, "temp_store": 2, "synchronous": 1} {
			var got int
			if err := tx.QueryRowContext(ctx, `PRAGMA `+pragma).Scan(&got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("PRAGMA %s = %d, want %d", pragma, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
