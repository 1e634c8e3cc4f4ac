//go:build linux

package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriterPinnedToOneCPU: with PinWriter the writer's thread may run on one CPU
// only, the last one the process may use; a second database opened meanwhile is
// not pinned, and the pin passes on once the first is closed.
func TestWriterPinnedToOneCPU(t *testing.T) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	if allowed.Count() < 2 {
		t.Skip("this process may run on one CPU only: nothing to pin")
	}
	last := -1
	for c := 0; c < len(allowed)*64; c++ {
		if allowed.IsSet(c) {
			last = c
		}
	}
	ctx := context.Background()
	opts := Options{PinWriter: true, WriterCPU: -1}
	first, err := OpenWith(ctx, filepath.Join(t.TempDir(), "a.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.WriterCPU() != last {
		t.Fatalf("writer pinned to CPU %d, want %d", first.WriterCPU(), last)
	}
	var got unix.CPUSet
	if err := unix.SchedGetaffinity(first.writerTID, &got); err != nil {
		t.Fatal(err)
	}
	if got.Count() != 1 || !got.IsSet(last) {
		t.Fatalf("the writer's thread may run on %s, want %d only", cpuList(&got), last)
	}
	// Writes still work on the pinned writer.
	if err := first.write(ctx, func(tx *wtx) error { return tx.execScript(ctx, `CREATE TABLE t (x)`) }); err != nil {
		t.Fatal(err)
	}

	second, err := OpenWith(ctx, filepath.Join(t.TempDir(), "b.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.WriterCPU() != -1 {
		t.Fatalf("a second writer was pinned too (CPU %d)", second.WriterCPU())
	}
	second.Close()
	first.Close()

	third, err := OpenWith(ctx, filepath.Join(t.TempDir(), "c.db"), Options{PinWriter: true, WriterCPU: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if third.WriterCPU() != 0 {
		t.Fatalf("after the first closed, a new writer asked for CPU 0 got %d", third.WriterCPU())
	}

	if _, err := OpenWith(ctx, filepath.Join(t.TempDir(), "d.db"), Options{PinWriter: true, WriterCPU: len(allowed) * 64}); err == nil {
		t.Fatal("a CPU the process may not use was accepted")
	}
}
