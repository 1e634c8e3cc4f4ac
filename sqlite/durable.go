package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// durability tracks which commits are on disk.
//
// The writer commits with synchronous=NORMAL: COMMIT writes the batch's frames to
// the WAL file (the operating system has them; a crashed process loses nothing) but
// does not wait for the disk. The syncer then fdatasyncs the WAL, and only after
// that is anyone told about the batch. Two rules keep every answer on durable
// ground, as with synchronous=FULL:
//
//   - writers: a request is answered after the flush that covers its batch, and a
//     batch that read an earlier, not yet flushed commit waits for that one too
//     (WAL frames are appended in commit order, so one flush covers all before it);
//   - readers: a read may see a commit that is not flushed yet (SQLite makes it
//     visible at COMMIT), so after its statement has taken its snapshot the reader
//     waits until every commit counted so far is flushed (awaitDurable). The count
//     is raised before COMMIT, so a commit a reader can see is always counted.
//
// A failed fdatasync leaves the page cache in an unknown state (the kernel may have
// dropped the dirty pages): the database stops taking writes and reads, and the
// process must be restarted to recover from what is on disk, as PostgreSQL does.
type durability struct {
	walPath   string
	committed atomic.Uint64 // commits counted (raised just before each COMMIT)
	durable   atomic.Uint64 // commits known to be on disk
	flushTime atomic.Int64  // recent flush duration, ns (moving average)
	// For Stats: flushes made, their total and latest duration (ns), failures.
	flushes, flushNanos, lastFlush, failedFlushes atomic.Int64

	mu     sync.Mutex
	wake   chan struct{} // closed when durable advances or the database fails
	err    error         // set once, when a flush failed
	closed bool

	walMu sync.Mutex
	wal   *os.File // the WAL, opened by the first flush
	walID fileID

	// beforeSync, when set (tests), runs before each flush; an error it returns
	// stands for a failed flush.
	beforeSync func() error
}

func (d *durability) init(walPath string) {
	d.walPath = walPath
	d.wake = make(chan struct{})
}

var errStorageFailed = errors.New("storage failure: a write could not be flushed to disk; the server must be restarted")

// failure returns the error that stopped the database, if any.
func (d *durability) failure() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// sync makes every commit up to seq durable; the syncers call it, several at once.
// A flush covers everything written to the WAL before it started (fdatasync waits
// for pages already under writeback too), so whichever flush ends first may
// advance the mark to the newest commit counted before it began.
func (d *durability) sync(seq uint64) error {
	if err := d.failure(); err != nil {
		return err
	}
	if seq <= d.durable.Load() {
		return nil
	}
	var err error
	if d.beforeSync != nil {
		err = d.beforeSync()
	}
	covered := d.committed.Load() // committed before the flush starts (seq at least)
	if err == nil {
		start := time.Now()
		err = d.flush()
		took := int64(time.Since(start))
		d.flushTime.Store((d.flushTime.Load()*7 + took) / 8)
		d.flushes.Add(1)
		d.flushNanos.Add(took)
		d.lastFlush.Store(took)
	}
	if err != nil {
		d.failedFlushes.Add(1)
		d.mu.Lock()
		if d.err == nil {
			d.err = fmt.Errorf("%w: %v", errStorageFailed, err)
			close(d.wake)
			d.wake = make(chan struct{})
		}
		err = d.err
		d.mu.Unlock()
		return err
	}
	d.mu.Lock()
	if covered > d.durable.Load() {
		d.durable.Store(covered)
		close(d.wake)
		d.wake = make(chan struct{})
	}
	d.mu.Unlock()
	return nil
}

// flush fdatasyncs the WAL file (syncFile, durable_*.go). SQLite keeps the file
// while any connection is open (ours always are), but it is checked by identity
// every time so that a WAL replaced behind our back is never mistaken for the one
// we flush.
func (d *durability) flush() error {
	f, err := d.walFile()
	if err != nil {
		return err
	}
	return syncFile(f)
}

// walFile returns the open WAL, reopened if the file at walPath is another one.
func (d *durability) walFile() (*os.File, error) {
	d.walMu.Lock()
	defer d.walMu.Unlock()
	id, err := pathID(d.walPath)
	if err != nil {
		return nil, err
	}
	if d.wal == nil || !sameFile(id, d.walID) {
		if d.wal != nil {
			d.wal.Close()
		}
		f, err := os.OpenFile(d.walPath, os.O_RDWR, 0)
		if err != nil {
			d.wal = nil
			return nil, err
		}
		fid, err := fdID(f)
		if err != nil {
			f.Close()
			d.wal = nil
			return nil, err
		}
		d.wal, d.walID = f, fid
		if !sameFile(id, fid) {
			return nil, fmt.Errorf("%s changed while it was opened", d.walPath)
		}
	}
	return d.wal, nil
}

// close releases the WAL handle when the database closes, and wakes any reader
// still waiting (there is nothing more to flush).
func (d *durability) close() {
	d.walMu.Lock()
	if d.wal != nil {
		d.wal.Close()
		d.wal = nil
	}
	d.walMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		if d.err == nil {
			d.err = errors.New("database is closed")
		}
		close(d.wake)
		d.wake = make(chan struct{})
	}
}

// awaitDurable returns once every commit counted so far is on disk: a reader calls
// it after its statement has taken its snapshot and before it lets anything it read
// go. It does not give up on ctx: the wait is one flush at most, and an answer must
// not leave before the data it shows is durable.
func (d *durability) awaitDurable() error {
	want := d.committed.Load()
	for {
		if d.durable.Load() >= want {
			return nil
		}
		d.mu.Lock()
		if d.durable.Load() >= want {
			d.mu.Unlock()
			return nil
		}
		if d.err != nil {
			err := d.err
			d.mu.Unlock()
			return err
		}
		ch := d.wake
		d.mu.Unlock()
		<-ch
	}
}

// failedRow is a row whose Scan reports why the read could not be trusted (the
// storage failure).
type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }
