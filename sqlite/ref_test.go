package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestInsertWithRefRetriesOnCollision: a taken ref is retried with a fresh one and
// the rest of the transaction survives the failed statement.
func TestInsertWithRefRetriesOnCollision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.write(ctx, func(tx *wtx) error {
		return tx.execScript(ctx, `CREATE TABLE refs (ref TEXT UNIQUE); INSERT INTO refs VALUES ('taken')`)
	})
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err = db.write(ctx, func(tx *wtx) error {
		return insertWithRef(ctx, tx, "v_", func(ref string) error {
			attempts++
			if attempts <= 2 {
				ref = "taken"
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO refs VALUES (?)`, ref)
			return err
		})
	})
	if err != nil || attempts != 3 {
		t.Fatalf("err %v after %d attempts", err, attempts)
	}
	var n int
	if err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM refs`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows committed, %v", n, err)
	}
}
