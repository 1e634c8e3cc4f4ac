package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// The customer's commands (services, balance, buy, rent, version) against the
// real sandbox server, each exit status included.

// runCLI runs the command line in-process against s with the API key key and
// returns its exit status, standard output and standard error.
func (s *testServer) runCLI(t *testing.T, key string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs lockedBuffer
	code := cli(context.Background(), append(args, "--url", s.BaseURL, "--api-key", key), &out, &errs)
	return code, out.String(), errs.String()
}

// keyValues reads the "key value" lines a purchase prints.
func keyValues(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		m[k] = v
	}
	return m
}

// wantExit fails unless a command ended with status want and printed each of
// wantErr on standard error.
func wantExit(t *testing.T, what string, code int, stderr string, want int, wantErr ...string) {
	t.Helper()
	if code != want {
		t.Errorf("%s: exit %d, want %d; stderr: %s", what, code, want, stderr)
	}
	for _, w := range wantErr {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr %q does not say %q", what, stderr, w)
		}
	}
}

func TestCLICustomerCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	api := s.api(t, s.APIKey)
	ctx := context.Background()
	balance := func(t *testing.T) int64 {
		t.Helper()
		b, err := api.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return b.BalanceCents
	}

	t.Run("Services", func(t *testing.T) {
		code, out, errs := s.runCLI(t, "", "services")
		wantExit(t, "services", code, errs, 0)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !regexp.MustCompile(`^ID +SERVICE +NAME +PRICE +IN STOCK$`).MatchString(lines[0]) || len(lines) < 51 {
			t.Fatalf("services printed %d lines, header %q", len(lines), lines[0])
		}
		for _, want := range []string{`(?m)^4 +telegram +Telegram +\$0\.70 +\d+$`, `(?m)^2 +whatsapp +WhatsApp +\$1\.40 +\d+$`,
			`(?m)^1 +unlimited-services +Unlimited Services +1d \$3\.00, 7d \$6\.00, 30d \$12\.00, 90d \$25\.00, 365d \$90\.00 +\d+$`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("services does not show %s:\n%s", want, out)
			}
		}
	})
	t.Run("Balance", func(t *testing.T) {
		code, out, errs := s.runCLI(t, s.APIKey, "balance")
		wantExit(t, "balance", code, errs, 0)
		if want := dollars(balance(t)) + "\n"; out != want {
			t.Errorf("balance printed %q, want %q", out, want)
		}
	})
	t.Run("BuyByNameSlugOrID", func(t *testing.T) {
		for _, svc := range []string{"Telegram", "telegram", "4"} {
			before := balance(t)
			code, out, errs := s.runCLI(t, s.APIKey, "buy", svc)
			wantExit(t, "buy "+svc, code, errs, 0)
			kv := keyValues(out)
			v, err := api.Verification(ctx, kv["verification"])
			if err != nil || v.Service != "telegram" || v.Status != client.StatusWaiting || kv["number"] != v.Number || kv["cost"] != "$0.70" ||
				kv["service"] != "telegram (Telegram)" || kv["expires"] != v.ExpiresAt.Format(time.RFC3339) {
				t.Fatalf("buy %s printed %q; the verification is %+v, %v", svc, out, v, err)
			}
			if b := balance(t); b != before-70 {
				t.Errorf("balance %d after buy, want %d", b, before-70)
			}
			if _, err := api.CancelVerification(ctx, v.ID); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("BuyWithAreaCodeUnderMaxPrice", func(t *testing.T) {
		code, out, errs := s.runCLI(t, s.APIKey, "buy", "telegram", "--area-code", "332", "--max-price", "0.80")
		wantExit(t, "buy --area-code 332 --max-price 0.80", code, errs, 0)
		kv := keyValues(out)
		if !strings.HasPrefix(kv["number"], "(332) ") || kv["cost"] != "$0.80" {
			t.Errorf("printed %q, want a (332) number for $0.80", out)
		}
		api.CancelVerification(ctx, kv["verification"])
	})
	t.Run("AboveMaxPriceIs6", func(t *testing.T) {
		before := balance(t)
		code, out, errs := s.runCLI(t, s.APIKey, "buy", "--max-price", "$0.79", "telegram", "--area-code", "332")
		wantExit(t, "buy above --max-price", code, errs, exitTooDear, "$0.80", "$0.79", "nothing was bought")
		if out != "" || balance(t) != before {
			t.Errorf("printed %q, balance %d → %d", out, before, balance(t))
		}
		code, _, errs = s.runCLI(t, s.APIKey, "rent", "--days", "30", "--max-price", "11.99")
		wantExit(t, "rent above --max-price", code, errs, exitTooDear, "$12.00")
	})
	t.Run("OutOfStockIs4", func(t *testing.T) {
		code, _, errs := s.runCLI(t, s.APIKey, "buy", "telegram", "--area-code", "907")
		wantExit(t, "buy in 907", code, errs, exitNoStock, "out_of_stock")
		code, _, errs = s.runCLI(t, s.APIKey, "rent", "--days", "7", "--area-code", "907")
		wantExit(t, "rent in 907", code, errs, exitNoStock, "out_of_stock")
	})
	t.Run("NoMoneyIs5", func(t *testing.T) {
		_, poor := s.customerWithKey(t, 50)
		code, out, errs := s.runCLI(t, poor, "buy", "telegram", "--wait")
		wantExit(t, "buy without money", code, errs, exitNoMoney, "insufficient_balance")
		code, _, errs = s.runCLI(t, poor, "rent", "--days", "1")
		wantExit(t, "rent without money", code, errs, exitNoMoney, "insufficient_balance")
		if code, out, _ = s.runCLI(t, poor, "balance"); code != 0 || out != "$0.50\n" {
			t.Errorf("balance of the poor customer: %d %q", code, out)
		}
	})
	t.Run("OtherFailuresAre2", func(t *testing.T) {
		code, _, errs := s.runCLI(t, s.APIKey, "buy", "no-such-service")
		wantExit(t, "buy an unknown service", code, errs, exitFailure, "unknown_service")
		code, _, errs = s.runCLI(t, "fsk_not-a-key", "balance")
		wantExit(t, "a refused key", code, errs, exitFailure, "unauthorized")
		code, _, errs = s.runCLI(t, "", "buy", "telegram")
		wantExit(t, "no key", code, errs, exitFailure, "FETCHSMS_API_KEY")
		code, _, errs = s.runCLI(t, s.APIKey, "buy")
		wantExit(t, "no service", code, errs, exitFailure, "name one SERVICE")
		code, _, errs = s.runCLI(t, s.APIKey, "buy", "telegram", "--max-price", "0.805")
		wantExit(t, "a bad price", code, errs, exitFailure, "not a price")
		code, _, errs = s.runCLI(t, s.APIKey, "rent", "--days", "45")
		wantExit(t, "an unsupported term", code, errs, exitFailure, "invalid_value")
		code, _, errs = s.runCLI(t, s.APIKey, "rent")
		wantExit(t, "no term", code, errs, exitFailure, "--days is required")
		var out, errb lockedBuffer
		code = cli(context.Background(), []string{"balance", "--url", "http://127.0.0.1:1", "--api-key", s.APIKey}, &out, &errb)
		wantExit(t, "no server", code, errb.String(), exitFailure, "connect")
	})
	t.Run("Rent", func(t *testing.T) {
		before := balance(t)
		code, out, errs := s.runCLI(t, s.APIKey, "rent", "--days", "30")
		wantExit(t, "rent --days 30", code, errs, 0)
		kv := keyValues(out)
		r, err := api.Rental(ctx, kv["rental"])
		if err != nil || r.DurationDays != 30 || r.Number != kv["number"] || kv["cost"] != "$12.00" || kv["days"] != "30" || kv["service"] != "unlimited-services (Unlimited Services)" {
			t.Fatalf("rent printed %q; the rental is %+v, %v", out, r, err)
		}
		if b := balance(t); b != before-1200 {
			t.Errorf("balance %d, want %d", b, before-1200)
		}
		code, out, errs = s.runCLI(t, s.APIKey, "rent", "unlimited-services", "--days", "7", "--area-code", "415")
		wantExit(t, "rent SERVICE --area-code", code, errs, 0)
		if kv := keyValues(out); kv["cost"] != "$6.10" || !strings.HasPrefix(kv["number"], "(415) ") {
			t.Errorf("rent with an area code printed %q", out)
		}
		code, _, errs = s.runCLI(t, s.APIKey, "rent", "telegram", "--days", "7")
		wantExit(t, "rent a short-term service", code, errs, exitFailure, "invalid_request")
	})
	t.Run("WaitTimeoutCancelsAndRefundsIs3", func(t *testing.T) {
		before := balance(t)
		start := time.Now()
		code, out, errs := s.runCLI(t, s.APIKey, "buy", "telegram", "--wait", "--timeout", "2s")
		wantExit(t, "buy --wait --timeout 2s", code, errs, exitNoCode, "no code before --timeout", "cancelled and refunded")
		if d := time.Since(start); d < 2*time.Second || d > 20*time.Second {
			t.Errorf("the wait took %v, want about 2s", d)
		}
		// Piped, the wait is a plain line, never a spinner.
		if !strings.Contains(errs, "waiting for the code on "+keyValues(out)["number"]+": 0:02 left\n") || strings.ContainsAny(errs, "\r\x1b") {
			t.Errorf("progress on a pipe = %q, want plain lines", errs)
		}
		v, err := api.Verification(ctx, keyValues(out)["verification"])
		if err != nil || v.Status != client.StatusCancelled || balance(t) != before {
			t.Errorf("after the timeout: %+v %v, balance %d → %d", v, err, before, balance(t))
		}
	})
	t.Run("WaitGetsTheCode", func(t *testing.T) {
		out, done := runCLIAsync(s, s.APIKey, "buy", "whatsapp", "--wait")
		number := waitForLine(t, out, "number ")
		s.sms(t, number, "WhatsApp", "Your WhatsApp code: 821-193\n\nDon't share this code with others")
		r := <-done
		wantExit(t, "buy --wait", r.code, r.stderr, 0)
		if kv := keyValues(out.String()); kv["code"] != "821-193" || !strings.HasSuffix(out.String(), "code 821-193\n") {
			t.Errorf("buy --wait printed %q, want the code last", out.String())
		}
	})
	t.Run("WaitInterruptedCancelsIs3", func(t *testing.T) {
		before := balance(t)
		ctx, interrupt := context.WithCancel(context.Background())
		var out, errs lockedBuffer
		done := make(chan int, 1)
		go func() {
			done <- cli(ctx, []string{"buy", "telegram", "--wait", "--url", s.BaseURL, "--api-key", s.APIKey}, &out, &errs)
		}()
		waitForLine(t, &out, "number ")
		interrupt() // as Ctrl-C does to main's context
		wantExit(t, "buy --wait interrupted", <-done, errs.String(), exitNoCode, "interrupted", "cancelled and refunded")
		if v, err := api.Verification(context.Background(), keyValues(out.String())["verification"]); err != nil || v.Status != client.StatusCancelled || balance(t) != before {
			t.Errorf("after the interrupt: %+v %v, balance %d → %d", v, err, before, balance(t))
		}
	})
	// Last: the clock jump ends every waiting verification.
	t.Run("WaitExpiredIs3", func(t *testing.T) {
		before := balance(t)
		out, done := runCLIAsync(s, s.APIKey, "buy", "telegram", "--wait")
		waitForLine(t, out, "number ")
		s.advance(t, 16*60)
		r := <-done
		wantExit(t, "buy --wait past the window", r.code, r.stderr, exitNoCode, "expired and was refunded")
		if b := balance(t); b != before {
			t.Errorf("balance %d after the expiry, want %d", b, before)
		}
	})
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLIAsync runs a command against s in the background; out fills as it prints.
func runCLIAsync(s *testServer, key string, args ...string) (out *lockedBuffer, done <-chan cliResult) {
	out = &lockedBuffer{}
	ch := make(chan cliResult, 1)
	go func() {
		var errs lockedBuffer
		code := cli(context.Background(), append(args, "--url", s.BaseURL, "--api-key", key), out, &errs)
		ch <- cliResult{code, out.String(), errs.String()}
	}()
	return out, ch
}

// waitForLine waits (20 s at most) for a line starting with prefix in out and
// returns the rest of it.
func waitForLine(t *testing.T, out *lockedBuffer, prefix string) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		}
	}
	t.Fatalf("no line %q in %q", prefix, out.String())
	return ""
}

// TestCLIBuyWaitsForTheSimulatedSMS: against a sandbox whose simulated SIM bank
// answers each purchase, `buy --wait` prints the code it sends.
func TestCLIBuyWaitsForTheSimulatedSMS(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox")
	code, out, errs := s.runCLI(t, s.APIKey, "buy", "telegram", "--wait")
	wantExit(t, "buy telegram --wait", code, errs, 0)
	kv := keyValues(out)
	v, err := s.api(t, s.APIKey).Verification(context.Background(), kv["verification"])
	if err != nil || v.Status != client.StatusReceived || kv["code"] == "" || kv["code"] != v.Code {
		t.Errorf("printed %q; the verification is %+v, %v", out, v, err)
	}
}

// TestCLIThroughTheProcess runs the commands as a process: the server and key
// from FETCHSMS_URL and FETCHSMS_API_KEY, and the exit status is the process's.
func TestCLIThroughTheProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	run := func(args ...string) (int, string) {
		t.Helper()
		argv, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(argv), "FETCHSMS_URL="+s.BaseURL, "FETCHSMS_API_KEY="+s.APIKey)
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("balance"); code != 0 || out != "$50.00\n" {
		t.Errorf("balance: exit %d, %q", code, out)
	}
	if code, _ := run("buy", "telegram", "--area-code", "907"); code != exitNoStock {
		t.Errorf("buy out of stock: exit %d, want %d", code, exitNoStock)
	}
	if code, out := run("buy", "4"); code != 0 || keyValues(out)["cost"] != "$0.70" {
		t.Errorf("buy 4: exit %d, %q", code, out)
	}
}

// TestCLIHelpExitsZero: -h and --help print help and exit 0 on every command.
func TestCLIHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, cmd := range [][]string{{}, {"serve"}, {"user"}, {"user", "create"}, {"gateway"}, {"gateway", "create"}, {"gateway", "rotate"},
		{"gateway", "disable"}, {"gateway", "enable"}, {"bench"}, {"services"}, {"balance"}, {"buy"}, {"rent"}, {"version"}} {
		for _, h := range []string{"-h", "--help"} {
			var out, errs lockedBuffer
			args := append(append([]string{}, cmd...), h)
			if code := cli(context.Background(), args, &out, &errs); code != 0 || out.String()+errs.String() == "" {
				t.Errorf("fetchsms %s: exit %d, printed %q %q", strings.Join(args, " "), code, out.String(), errs.String())
			}
		}
	}
	if code := cli(context.Background(), nil, &lockedBuffer{}, &lockedBuffer{}); code != exitFailure {
		t.Errorf("fetchsms without a command: exit %d, want %d", code, exitFailure)
	}
}

// TestCLIVersion: the version set at link time, else the build information's.
func TestCLIVersion(t *testing.T) { // not parallel: it sets the version
	var out lockedBuffer
	if code := cli(context.Background(), []string{"version"}, &out, &out); code != 0 || !regexp.MustCompile(`^fetchsms \S+( \(commit [0-9a-f]+(\+dirty)?\))? go\d`).MatchString(out.String()) {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
	defer func(v string) { version = v }(version)
	version = "v1.2.3-test"
	out = lockedBuffer{}
	if code := cli(context.Background(), []string{"version"}, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "fetchsms v1.2.3-test") {
		t.Errorf("version with -X main.version: exit %d, %q", code, out.String())
	}
}

func TestDollars(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int64{"0.80": 80, "$0.8": 80, "1": 100, "12.00": 1200, ".5": 50, "0": 0, " 3.05 ": 305} {
		if got, err := parseDollars(s); err != nil || got != want {
			t.Errorf("parseDollars(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "$", ".", "1.", "0.805", "-1", "+1", "1e3", "1,00", "abc", "1.2.3", "9999999999"} {
		if got, err := parseDollars(s); err == nil {
			t.Errorf("parseDollars(%q) = %d, want an error", s, got)
		}
	}
	for c, want := range map[int64]string{0: "$0.00", 70: "$0.70", 1200: "$12.00", -5: "-$0.05"} {
		if got := dollars(c); got != want {
			t.Errorf("dollars(%d) = %q, want %q", c, got, want)
		}
	}
}

func FuzzParseDollars(f *testing.F) {
	for _, s := range []string{"0.80", "$1", ".5", "1.", "-1", "999999999.99", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseDollars(s)
		if err != nil {
			return
		}
		if c < 0 {
			t.Fatalf("parseDollars(%q) = %d: negative", s, c)
		}
		// What it prints reads back as the same amount.
		if back, err := parseDollars(dollars(c)); err != nil || back != c {
			t.Fatalf("parseDollars(%q) = %d, printed %s, read back %d %v", s, c, dollars(c), back, err)
		}
	})
}
