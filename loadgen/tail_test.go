package loadgen

import (
	"strings"
	"testing"
)

// TestTail keeps the last tailSize bytes of what a child prints, however it is
// split into writes.
func TestTail(t *testing.T) {
	var tl tail
	tl.Write([]byte("first line\n"))
	if got := tl.String(); got != "first line\n" {
		t.Fatalf("%q", got)
	}
	for i := 0; i < 1000; i++ {
		tl.Write([]byte(strings.Repeat("x", 37) + "\n"))
	}
	tl.Write([]byte("fetchsms: the cause\n"))
	got := tl.String()
	if len(got) != tailSize || !strings.HasSuffix(got, "fetchsms: the cause\n") {
		t.Fatalf("%d bytes ending %q", len(got), got[len(got)-30:])
	}
}
