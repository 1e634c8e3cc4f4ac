package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchCommand runs `fetchsms bench` end to end, briefly: the server and the
// baseline start as child processes (this test binary, acting as fetchsms), every
// phase runs, and every figure is printed. It asserts no figure (performance is
// shown by the command, not tested).
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two child processes")
	}
	old := benchCommand
	benchCommand = func(ctx context.Context, args ...string) *exec.Cmd {
		argv, _ := json.Marshal(args)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(argv))
		return cmd
	}
	defer func() { benchCommand = old }()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--duration", "300ms", "--keys", "20", "--webhooks", "5", "--list-rows", "2000"}, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, row := range []string{"GET /v1/verifications/{id}", "GET /v1/services", "purchase + cancel pairs", "inbound SMS → webhook POST", "history page, ", "server peak RSS"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q row in:\n%s", row, out.String())
		}
	}
}
