package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

type textKind string

// reference scans src into a fresh T with database/sql's own conversion
// (sql.Null[T].Scan calls it), as the read pool's Scan would.
func reference[T any](src any) (T, error) {
	var n sql.Null[T]
	err := n.Scan(src)
	return n.V, err
}

func checkAssign[T any](t *testing.T, src any) {
	t.Helper()
	var got T
	err := assign(&got, src)
	want, wantErr := reference[T](src)
	if src == nil {
		// sql.Null accepts NULL; a plain destination does not, except the
		// kinds that can hold it.
		switch any(&got).(type) {
		case *[]byte, *any:
		default:
			if err == nil {
				t.Errorf("assign(%T, NULL) = nil error, want an error", got)
			}
			return
		}
	}
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("assign(%T, %#v): error %v, database/sql: %v", got, src, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		if g, ok := any(got).(float64); ok && math.IsNaN(g) {
			return
		}
		t.Fatalf("assign(%T, %#v) = %#v, database/sql gives %#v", got, src, got, want)
	}
}

func checkAll(t *testing.T, src any) {
	t.Helper()
	checkAssign[string](t, src)
	checkAssign[[]byte](t, src)
	checkAssign[int64](t, src)
	checkAssign[int](t, src)
	checkAssign[int32](t, src)
	checkAssign[uint16](t, src)
	checkAssign[bool](t, src)
	checkAssign[float64](t, src)
	checkAssign[fetchsms.Cents](t, src)
	checkAssign[textKind](t, src)
}

// The writer's Scan gives what database/sql's gives, for every destination type
// and every kind of value the driver returns.
func TestAssignMatchesDatabaseSQL(t *testing.T) {
	for _, src := range []any{
		nil, int64(0), int64(1), int64(-80), int64(math.MaxInt64), int64(70000), int64(2),
		1.5, 0.0, -3.0, "", "abc", "42", "-7", "true", "1e3", "9223372036854775808",
		[]byte("xyz"), []byte("12"), []byte{}, true, false,
		time.Date(2026, 11, 26, 9, 0, 0, 5, time.UTC),
	} {
		checkAll(t, src)
	}
}

func FuzzAssign(f *testing.F) {
	f.Add(byte(1), "abc", int64(5), 1.5)
	f.Add(byte(3), "123", int64(-1), 0.0)
	f.Add(byte(4), "true", int64(0), -2.5)
	f.Fuzz(func(t *testing.T, kind byte, s string, i int64, fl float64) {
		var src any
		switch kind % 6 {
		case 0:
			src = nil
		case 1:
			src = i
		case 2:
			src = fl
		case 3:
			src = s
		case 4:
			src = []byte(s)
		case 5:
			src = i&1 == 1
		}
		checkAll(t, src)
	})
}

// Scanners (sql.NullString and the like) get the value itself; byte slices are
// copies, never the driver's memory.
func TestAssignScannerAndCopies(t *testing.T) {
	var ns sql.NullString
	if err := assign(&ns, "x"); err != nil || ns != (sql.NullString{String: "x", Valid: true}) {
		t.Fatalf("NullString: %v %v", ns, err)
	}
	if err := assign(&ns, nil); err != nil || ns.Valid {
		t.Fatalf("NullString from NULL: %v %v", ns, err)
	}
	src := []byte("abc")
	var b []byte
	var a any
	if err := assign(&b, src); err != nil {
		t.Fatal(err)
	}
	if err := assign(&a, src); err != nil {
		t.Fatal(err)
	}
	src[0] = 'z'
	if !bytes.Equal(b, []byte("abc")) || !bytes.Equal(a.([]byte), []byte("abc")) {
		t.Fatalf("scanned bytes follow the source: %q %q", b, a)
	}
	var n int64
	if err := assign(n, int64(1)); err == nil {
		t.Fatal("a destination that is not a pointer was accepted")
	}
}

// The writer's rows behave as database/sql's: no row is sql.ErrNoRows, a failing
// statement's error reaches Scan, every row is seen, and a statement left half
// read runs again from the start.
func TestWriterRows(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.write(ctx, func(tx *wtx) error {
		if err := tx.execScript(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')`); err != nil {
			return err
		}
		var v string
		if err := tx.QueryRowContext(ctx, `SELECT v FROM t WHERE k = ?`, 9).Scan(&v); err != sql.ErrNoRows {
			t.Errorf("no row: %v, want sql.ErrNoRows", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT nope FROM t`).Scan(&v); err == nil {
			t.Error("a bad query scanned without error")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, 4, "a")
		if !isUnique(err) {
			t.Errorf("duplicate insert: %v, want a UNIQUE violation", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE t SET v = v || ? WHERE k >= ?`, "!", 2)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 2 {
			t.Errorf("rows affected %d, want 2", n)
		}
		for round := 0; round < 2; round++ {
			rows, err := tx.QueryContext(ctx, `SELECT k, v FROM t ORDER BY k`)
			if err != nil {
				return err
			}
			var got []string
			for rows.Next() {
				var k int
				if err := rows.Scan(&k, &v); err != nil {
					return err
				}
				got = append(got, v)
				if round == 0 && k == 2 {
					break // left half read: Close must reset the statement
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			rows.Close()
			want := []string{"a", "b!", "c!"}
			if round == 0 {
				want = want[:2]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d: rows %q, want %q", round, got, want)
			}
			if rows.Next() {
				t.Error("Next after Close")
			}
		}
		var k int
		if err := tx.QueryRowContext(ctx, `SELECT k FROM t WHERE v = ?`, "c!").Scan(&k, &v); err == nil {
			t.Error("Scan with more destinations than columns succeeded")
		}
		return errors.New("roll back")
	})
	if err == nil || err.Error() == "" {
		t.Fatalf("tx: %v", err)
	}
}
