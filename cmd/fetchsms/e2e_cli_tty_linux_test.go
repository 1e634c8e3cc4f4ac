package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: what the command writes to tty, master reads.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("the pty's number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	return m, s
}

// TestCLIBuyWaitOnATerminal: on a terminal, `buy --wait` shows a spinner and a
// countdown redrawn in place, then clears it; the code still goes to standard
// output alone. The simulated SIM bank answers after 1–3 s.
func TestCLIBuyWaitOnATerminal(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox")
	master, tty := openPTY(t)
	defer master.Close()
	var screen lockedBuffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&screen, master) // ends with EIO once tty is closed
		close(copied)
	}()
	var out lockedBuffer
	code := cli(context.Background(), []string{"buy", "telegram", "--wait", "--url", s.BaseURL, "--api-key", s.APIKey}, &out, tty)
	tty.Close()
	<-copied
	shown := screen.String()
	if code != 0 || keyValues(out.String())["code"] == "" {
		t.Fatalf("buy --wait on a terminal: exit %d, printed %q; the terminal showed %q", code, out.String(), shown)
	}
	number := keyValues(out.String())["number"]
	frames := 0
	for _, f := range spinner {
		if strings.Contains(shown, "\r"+f+" waiting for the code on "+number+" · ") {
			frames++
		}
	}
	if frames < 2 || !strings.Contains(shown, " left\x1b[K") || !strings.Contains(shown, "14:5") || !strings.HasSuffix(shown, "\r\x1b[K") {
		t.Errorf("the terminal showed %q: want a spinner (%d frames) and a countdown redrawn in place, cleared at the end", shown, frames)
	}
	if strings.Contains(shown, "\n") {
		t.Errorf("the terminal showed new lines: %q", shown)
	}
}
