package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBufferedLog: information lines to a file wait at most logFlushEvery, a
// warning is written at once with what preceded it, and close writes the rest.
func TestBufferedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logger, closeLog, err := newLogger(f, "text", "info")
	if err != nil || closeLog == nil {
		t.Fatalf("a file's logger is not buffered: %v", err)
	}
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	logger.Info("first")
	if strings.Contains(read(), "first") {
		t.Log("written at once (a flush fell between): no evidence of buffering this time")
	}
	logger.Warn("second")
	if got := read(); !strings.Contains(got, "msg=first") || !strings.Contains(got, "msg=second") {
		t.Fatalf("after a warning the file holds %q", got)
	}
	logger.Info("third")
	deadline := time.Now().Add(5 * logFlushEvery)
	for !strings.Contains(read(), "msg=third") {
		if time.Now().After(deadline) {
			t.Fatalf("an info line was not written within %v", 5*logFlushEvery)
		}
		time.Sleep(logFlushEvery / 4)
	}
	logger.Info("fourth")
	closeLog()
	if !strings.Contains(read(), "msg=fourth") {
		t.Fatal("close did not write the rest")
	}
	if _, closeLog, err := newLogger(&lockedBuffer{}, "json", "debug"); err != nil || closeLog != nil {
		t.Errorf("a buffer's logger: %v %v", closeLog != nil, err)
	}
}
