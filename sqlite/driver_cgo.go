//go:build cgo && !sqlite_purego

package sqlite

import (
	"errors"
	"net/url"

	fetchsms "github.com/fetchsms/fetchsms"
	sqlite3 "github.com/mattn/go-sqlite3" // registers "sqlite3"
)

// The driver of cgo builds: github.com/mattn/go-sqlite3, the C SQLite compiled
// into the binary, the faster one (docs/DECISIONS.md, Portable builds). Builds
// without cgo, or with the sqlite_purego tag, use driver_purego.go instead.

// driverParams adds to a DSN what only this driver takes: no SQLite mutex on a
// connection (database/sql gives a connection to one goroutine at a time).
func driverParams(q url.Values) { q.Set("_mutex", "no") }

// isUnique tells whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// storageFault tells a full disk or a read-only file from other errors: the
// database is intact, only writes cannot be made now.
func storageFault(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull:
			return fetchsms.ErrStorageFull
		case sqlite3.ErrReadonly:
			return fetchsms.ErrReadOnly
		}
	}
	return nil
}
