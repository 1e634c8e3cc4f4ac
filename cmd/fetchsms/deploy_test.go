package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// serveFlags are the flags serve takes, from its usage text.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	var usage bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, &usage, &usage)
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		out[m[1]] = true
	}
	if !out["db"] || !out["tls-cache-dir"] {
		t.Fatalf("serve's flags not found in its usage:\n%s", usage.String())
	}
	return out
}

// checkEnvNames fails for each FETCHSMS_ variable of text that names no serve flag.
func checkEnvNames(t *testing.T, what, text string, flags map[string]bool) {
	t.Helper()
	names := regexp.MustCompile(`FETCHSMS_[A-Z0-9_]+`).FindAllString(text, -1)
	if len(names) == 0 {
		t.Fatalf("%s sets no FETCHSMS_ variable", what)
	}
	for _, n := range names {
		flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(n, "FETCHSMS_")), "_", "-")
		if !flags[flag] {
			t.Errorf("%s sets %s, but serve has no --%s", what, n, flag)
		}
	}
}

// TestSystemdUnit checks deploy/fetchsms.service with systemd-analyze verify
// (its binary path pointed at an executable that exists here), and that each
// variable it sets is one of serve's flags.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile("../../deploy/fetchsms.service")
	if err != nil {
		t.Fatal(err)
	}
	checkEnvNames(t, "the unit", string(unit), serveFlags(t))
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed (apt-get install systemd): the unit cannot be verified")
		}
		t.Skip("systemd-analyze is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fetchsms.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/fetchsms", exe)), 0o644)
	out, err := exec.Command(tool, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDockerfile checks what can be checked here without a Docker engine: the
// variables it sets are serve's flags, it builds the command that exists, and
// runs as a non-root user.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(df)
	checkEnvNames(t, "the Dockerfile", text, serveFlags(t))
	for _, want := range []string{"./cmd/fetchsms", "CGO_ENABLED=0", "USER nonroot", `ENTRYPOINT ["/usr/local/bin/fetchsms"]`, `CMD ["serve"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`FROM golang:(\d+\.\d+)`).FindStringSubmatch(text); m == nil {
		t.Error("no golang build stage")
	} else if mod, _ := os.ReadFile("../../go.mod"); !strings.Contains(string(mod), "\ngo "+m[1]) {
		t.Errorf("the build stage's Go %s is not go.mod's", m[1])
	}
}
