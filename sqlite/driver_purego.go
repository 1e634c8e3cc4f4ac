//go:build !cgo || sqlite_purego

package sqlite

import (
	"database/sql"
	"errors"
	"net/url"

	fetchsms "github.com/fetchsms/fetchsms"
	msqlite "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

// The driver of builds without cgo (or with the sqlite_purego tag):
// modernc.org/sqlite, SQLite translated to Go, no C compiler needed
// (docs/DECISIONS.md, Portable builds). It takes the DSN keys of
// mattn/go-sqlite3 (_journal_mode, _busy_timeout, _foreign_keys, _synchronous,
// _query_only, _txlock) with the same meaning, so Open builds one DSN for both.

// It registers itself as "sqlite"; the store, its tests and the bench's seeding
// open "sqlite3", the name mattn/go-sqlite3 takes in cgo builds (driver_cgo.go),
// which is not linked here.
func init() { sql.Register("sqlite3", &msqlite.Driver{}) }

// driverParams adds nothing: the shared keys are all this driver needs.
func driverParams(url.Values) {}

// isUnique tells whether err is a UNIQUE or PRIMARY KEY constraint violation
// (the driver reports SQLite's extended result codes).
func isUnique(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlitelib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// storageFault tells a full disk or a read-only file from other errors: the
// database is intact, only writes cannot be made now.
func storageFault(err error) error {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlitelib.SQLITE_FULL:
			return fetchsms.ErrStorageFull
		case sqlitelib.SQLITE_READONLY:
			return fetchsms.ErrReadOnly
		}
	}
	return nil
}
