package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestWriterFullBatchesKeepTheFlushToken: a batch that fills up (maxBatch) while
// the syncer flushes the one before, and then finds the queue empty, is flushed by
// the writer itself; the writer must still count the syncer as free afterwards, or
// no batch would ever commit again. Sequence: one write holds the writer in its
// flush while 2*maxBatch more queue up; then one full batch goes to the syncer
// (the queue is not empty), the next fills to maxBatch and is flushed in place.
func TestWriterFullBatchesKeepTheFlushToken(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	// A writer that lost the token never stops either: Close would wait for it.
	defer func() {
		if !t.Failed() {
			db.Close()
		}
	}()
	insert := func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t DEFAULT VALUES`)
		return err
	}
	if err := db.write(ctx, func(tx *wtx) error {
		return tx.execScript(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	}); err != nil {
		t.Fatal(err)
	}

	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db.SetBeforeSyncForTest(func() error {
		once.Do(func() { close(held); <-release })
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- db.write(ctx, insert) }()
	<-held // the writer (or the syncer) is inside the first flush

	var wg sync.WaitGroup
	errs := make(chan error, 2*maxBatch)
	for range 2 * maxBatch {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- db.write(ctx, insert) }()
	}
	// Wait until every one of them is queued or blocked sending.
	for deadline := time.Now().Add(10 * time.Second); len(db.writes) < maxBatch; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes queued", len(db.writes))
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the other maxBatch block in their send
	close(release)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatal("the queued writes never all committed: the writer lost the syncer's token")
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// The writer must still commit.
	done := make(chan error, 1)
	go func() { done <- db.write(ctx, insert) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write after two full batches never committed: the writer lost the syncer's token")
	}
	var n int
	if err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2*maxBatch+2 {
		t.Fatalf("%d rows, %v", n, err)
	}
}
