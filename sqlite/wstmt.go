package sqlite

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"
)

// The writer's statements run on the driver's connection directly, not through
// database/sql: the writer holds its connection for good (DB.writer runs inside
// sql.Conn.Raw), so database/sql's per-call work (taking the connection's lock,
// tracking the statement's dependencies, converting and re-checking every
// argument, a Rows with its own mutex and close handling) buys nothing there. It
// cost about 1 µs per statement, 15 statements per purchase + cancel pair, on the
// writer, which every write in the process waits for (docs/PERFORMANCE.md).
// Arguments are converted as database/sql does (driver.DefaultParameterConverter)
// and scanned with assign, below, which follows database/sql's rules for the
// types this package scans into.

// row is one row of a query: *sql.Row from the read pool, *wrow from the writer.
type row interface {
	Scan(dest ...any) error
}

// rowsIter is a query's rows: *sql.Rows from the read pool, *wrows from the writer.
type rowsIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// namedArgs converts args for the driver as database/sql would.
func namedArgs(args []any) ([]driver.NamedValue, error) {
	if len(args) == 0 {
		return nil, nil
	}
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("sqlite: converting argument $%d type: %w", i+1, err)
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv, nil
}

// wrows iterates a writer query's rows. It resets its statement when the rows
// end or are closed, so the statement can run again.
type wrows struct {
	rows   driver.Rows
	vals   []driver.Value
	err    error
	closed bool
	ok     bool // vals holds a row
}

func newWrows(r driver.Rows) *wrows {
	return &wrows{rows: r, vals: make([]driver.Value, len(r.Columns()))}
}

func (r *wrows) Next() bool {
	if r.closed {
		return false
	}
	if err := r.rows.Next(r.vals); err != nil {
		if err != io.EOF {
			r.err = err
		}
		r.ok = false
		r.Close()
		return false
	}
	r.ok = true
	return true
}

func (r *wrows) Scan(dest ...any) error {
	if !r.ok {
		if r.closed {
			return errors.New("sql: Rows are closed")
		}
		return errors.New("sql: Scan called without calling Next")
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(r.vals), len(dest))
	}
	for i, v := range r.vals {
		if err := assign(dest[i], v); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d: %w", i, err)
		}
	}
	return nil
}

func (r *wrows) Err() error { return r.err }

func (r *wrows) Close() error {
	if r.closed {
		return nil
	}
	r.closed, r.ok = true, false
	return r.rows.Close()
}

// wrow is QueryRowContext's answer from the writer: the first row, scanned once.
type wrow struct {
	rows *wrows
	err  error
}

func (r *wrow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// assign stores src, a value from the driver, in dest, as database/sql's Scan
// does for the destinations this package uses: strings, byte slices, integers,
// floats, booleans, times, any, and sql.Scanner (sql.NullString and the like).
// Byte slices are copied: the driver may reuse them.
func assign(dest, src any) error {
	switch d := dest.(type) {
	case *string:
		if s, ok := src.(string); ok {
			*d = s
			return nil
		}
		if s, ok := asText(src); ok {
			*d = s
			return nil
		}
	case *[]byte:
		switch s := src.(type) {
		case nil:
			*d = nil
			return nil
		case []byte:
			*d = bytes.Clone(s)
			return nil
		}
		if s, ok := asText(src); ok {
			*d = []byte(s)
			return nil
		}
	case *int64:
		if s, ok := src.(int64); ok {
			*d = s
			return nil
		}
	case *int:
		if s, ok := src.(int64); ok {
			*d = int(s)
			return nil
		}
	case *bool:
		bv, err := driver.Bool.ConvertValue(src) // as database/sql
		if err != nil {
			return err
		}
		*d = bv.(bool)
		return nil
	case *any:
		if b, ok := src.([]byte); ok {
			src = bytes.Clone(b)
		}
		*d = src
		return nil
	case sql.Scanner:
		if b, ok := src.([]byte); ok {
			src = bytes.Clone(b)
		}
		return d.Scan(src)
	}
	return assignReflect(dest, src)
}

// assignReflect covers the rest: named types over the basic kinds (an integer
// type such as fetchsms.Cents, a string type), booleans, floats, times, and
// numbers stored as text.
func assignReflect(dest, src any) error {
	dv := reflect.ValueOf(dest)
	if dv.Kind() != reflect.Pointer || dv.IsNil() {
		return errors.New("destination not a pointer")
	}
	if src == nil {
		return fmt.Errorf("converting NULL to %s is unsupported", dv.Elem().Kind())
	}
	dv = dv.Elem()
	sv := reflect.ValueOf(src)
	if sv.Type().AssignableTo(dv.Type()) {
		dv.Set(sv)
		return nil
	}
	s, ok := asText(src)
	if !ok {
		return fmt.Errorf("unsupported Scan, storing driver.Value type %T into type %T", src, dest)
	}
	var err error
	switch dv.Kind() {
	case reflect.String:
		switch src.(type) {
		case string, []byte: // as database/sql: numbers go into *string only
			dv.SetString(s)
			return nil
		}
		return fmt.Errorf("unsupported Scan, storing driver.Value type %T into type %T", src, dest)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		if n, err = strconv.ParseInt(s, 10, dv.Type().Bits()); err == nil {
			dv.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		if n, err = strconv.ParseUint(s, 10, dv.Type().Bits()); err == nil {
			dv.SetUint(n)
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if f, err = strconv.ParseFloat(s, dv.Type().Bits()); err == nil {
			dv.SetFloat(f)
		}
	case reflect.Bool:
		var b bool
		if b, err = strconv.ParseBool(s); err == nil {
			dv.SetBool(b)
		}
	default:
		return fmt.Errorf("unsupported Scan, storing driver.Value type %T into type %T", src, dest)
	}
	if err != nil {
		return fmt.Errorf("converting driver.Value type %T (%q) to a %s: %w", src, s, dv.Kind(), err)
	}
	return nil
}

// asText is src as database/sql turns a driver value into text.
func asText(src any) (string, bool) {
	switch s := src.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	case int64:
		return strconv.FormatInt(s, 10), true
	case float64:
		return strconv.FormatFloat(s, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(s), true
	case time.Time:
		return s.Format(time.RFC3339Nano), true
	}
	return "", false
}

// Compile-time checks: both kinds of rows serve the same callers.
var (
	_ row      = (*sql.Row)(nil)
	_ row      = (*wrow)(nil)
	_ rowsIter = (*sql.Rows)(nil)
	_ rowsIter = (*wrows)(nil)
)
