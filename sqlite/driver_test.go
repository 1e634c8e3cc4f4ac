package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// TestConstraintErrors: whichever driver the build uses (driver_*.go), a UNIQUE or
// PRIMARY KEY violation is a conflict and any other failure, a CHECK or a
// foreign key, is not.
func TestConstraintErrors(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) error {
		return db.write(ctx, func(tx *wtx) error { return tx.execScript(ctx, q) })
	}
	if err := exec(`CREATE TABLE p (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER CHECK (n >= 0));
		CREATE TABLE c (p INTEGER REFERENCES p (id));
		INSERT INTO p VALUES (1, 'a', 0)`); err != nil {
		t.Fatal(err)
	}
	for q, unique := range map[string]bool{
		`INSERT INTO p VALUES (1, 'b', 0)`:  true,  // PRIMARY KEY
		`INSERT INTO p VALUES (2, 'a', 0)`:  true,  // UNIQUE
		`INSERT INTO p VALUES (3, 'c', -1)`: false, // CHECK
		`INSERT INTO c VALUES (9)`:          false, // FOREIGN KEY
	} {
		err := exec(q)
		if err == nil {
			t.Errorf("%s: no error", q)
			continue
		}
		if isUnique(err) != unique {
			t.Errorf("%s: isUnique = %v, want %v (%v)", q, !unique, unique, err)
		}
		if errors.Is(engineErr(err), fetchsms.ErrDuplicate) != unique {
			t.Errorf("%s: classified as %v, want a duplicate: %v", q, engineErr(err), unique)
		}
	}
}
