package sqlite

/*
#include <stdlib.h>
int fetchsms_sqlite_init(const char *name);
void fetchsms_walbuf_counts(long long *asked, long long *made);
*/
import "C"

import (
	"fmt"
	"sync"
)

// walbufVFS is the name of the VFS in walbuf.c: SQLite's own "unix" VFS, with the
// writes of each commit to the WAL gathered into one system call.
const walbufVFS = "fetchsms-walbuf"

// setupSQLite configures SQLite for the process (memory statistics off) and
// registers the VFS, once, before the first connection opens; see walbuf.c.
var setupSQLite = sync.OnceValue(func() error {
	name := C.CString(walbufVFS) // kept for the life of the process, as SQLite keeps the VFS
	if rc := C.fetchsms_sqlite_init(name); rc != 0 {
		return fmt.Errorf("sqlite: registering the %s VFS: SQLite error %d", walbufVFS, int(rc))
	}
	return nil
})

// walWrites returns the WAL writes SQLite asked for and the writes made for them.
func walWrites() (asked, made int64) {
	var a, m C.longlong
	C.fetchsms_walbuf_counts(&a, &m)
	return int64(a), int64(m)
}
