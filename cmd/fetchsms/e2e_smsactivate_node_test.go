package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The SMS-Activate handler API driven by an existing open-source client of that
// protocol: the sms-activate package from the npm registry (MIT), installed by
// `npm ci` in clients/smsactivate and unchanged but for its base URL, runs a
// whole activation (clients/smsactivate/activation.js).

// nodePackage returns node and the directory of clients/<folder>, where `npm ci`
// installed the npm package pkg, skipping the test (failing it in CI) when
// either is missing.
func nodePackage(t *testing.T, folder, pkg string) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "clients", folder))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed (apt-get install nodejs npm)"
	default:
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing = pkg + " is not installed (npm ci --prefix clients/" + folder + ")"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the npm package test must run in CI: %s", missing)
		}
		t.Skip(missing)
	}
	return node, dir
}

func TestSMSActivateNodeClient(t *testing.T) {
	t.Parallel()
	node, dir := nodePackage(t, "smsactivate", "sms-activate")
	forEachEngine(t, func(t *testing.T, engine string) { testSMSActivateNodeClient(t, engine, node, dir) })
}

func testSMSActivateNodeClient(t *testing.T, engine, node, dir string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	session, key := s.customerWithKey(t, 1000)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "activation.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FETCHSMS_HANDLER_URL="+s.BaseURL+handlerPath, "FETCHSMS_API_KEY="+key)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	steps := map[string][]string{}
	var order []string
	number := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		step := f[0]
		if steps[step] != nil {
			step += "#2"
		}
		steps[step], order = f[1:], append(order, step)
		switch {
		case f[0] == "NUMBER" && len(f) == 3:
			number = "+" + f[2]
		case f[0] == "READY" && number != "":
			// The tool said the service sent its SMS: the number receives it.
			s.sms(t, number, "Telegram", "Telegram code: 661204. Do not give this code to anyone")
		case f[0] == "WAITING" && number != "":
			// The tool asked for another code and read the wait: the next SMS.
			s.sms(t, number, "Telegram", "Telegram code: 907315. Do not give this code to anyone")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the client failed: %v\nsteps %v\nstderr:\n%s", err, steps, stderr.String())
	}
	want := []string{"BALANCE", "NUMBER", "READY", "CODE", "RETRY", "WAITING", "CODE2", "COMPLETE", "NUMBER2", "CANCEL", "STATUS", "BALANCE#2"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("steps %v, want %v: %v", order, want, steps)
	}
	// The package reads the balance as whole dollars (parseInt).
	for step, want := range map[string]string{"BALANCE": "10", "READY": "ACCESS_READY", "CODE": "661204", "RETRY": "ACCESS_RETRY_GET",
		"WAITING": "STATUS_WAIT_RETRY", "CODE2": "907315", "COMPLETE": "ACCESS_ACTIVATION",
		"CANCEL": "ACCESS_CANCEL", "STATUS": "STATUS_CANCEL", "BALANCE#2": "9"} {
		if got := strings.Join(steps[step], " "); got != want {
			t.Errorf("%s %q, want %q", step, got, want)
		}
	}
	if a, b := steps["NUMBER"], steps["NUMBER2"]; len(a) != 2 || len(b) != 2 || len(a[0]) != 12 || a[0] == b[0] || len(a[1]) != 11 || a[1] == b[1] {
		t.Errorf("numbers %v and %v", a, b)
	}
	// The money, read on the JSON API: the codes paid for once, the cancel refunded.
	if b := s.balance(t, session); b != 1000-70 {
		t.Fatalf("balance %d, want %d", b, 1000-70)
	}
	var purchases, refunds int
	for _, e := range s.list(t, "/v1/wallet/ledger", session) {
		switch e["kind"] {
		case "purchase":
			purchases++
		case "refund":
			refunds++
		}
	}
	if purchases != 2 || refunds != 1 {
		t.Fatalf("ledger: %d purchases, %d refunds; want 2 and 1", purchases, refunds)
	}
}
