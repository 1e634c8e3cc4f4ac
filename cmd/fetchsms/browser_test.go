package main

// Browser tests: the web dashboard and admin console driven in a real headless
// Chromium (Debian's chromium, through chromedp). Each step leaves a PNG under
// test-results/screenshots/. Without Chromium they skip locally and fail in CI.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the browser to drive, skipping the test (or failing it in CI)
// when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("FETCHSMS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required for the browser tests in CI (apt-get install chromium)")
	}
	t.Skip("chromium not installed: skipping browser tests")
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a tab's
// context. The flags keep it off the network: the machine may have none.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshots saves full-page PNGs of each step in test-results/screenshots.
type screenshots struct {
	dir    string
	prefix string
	n      int
}

func newScreenshots(t *testing.T, prefix string) *screenshots {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "test-results", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &screenshots{dir: dir, prefix: prefix}
}

func (s *screenshots) take(name string) chromedp.Action[chromedp.Void] {
	return s.takeWith(name, chromedp.FullScreenshot(100))
}

// takeWith saves the PNG that a screenshot action makes (the whole page, the
// viewport, or one element).
func (s *screenshots) takeWith(name string, a chromedp.Action[[]byte]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		buf, err := a(ctx, target)
		if err != nil {
			return err
		}
		s.n++
		return os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%s-%02d-%s.png", s.prefix, s.n, name)), buf, 0o644)
	})
}

// step runs browser actions with a deadline, failing the test with what it was doing.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		loc, body := diagnose(ctx)
		t.Fatalf("%s: %v\nat %s\npage:\n%s", what, err, loc, truncateText(body, 2000))
	}
}

// read runs one action that returns a value.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	return readWithin(t, ctx, 20*time.Second, what, a)
}

// readWithin is read with its own deadline (an axe scan of a page is slow on a
// loaded machine).
func readWithin[T any](t *testing.T, ctx context.Context, within time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// diagnose reads where the browser is and what it shows, for a failure message;
// briefly, since a stuck browser must not hang the test.
func diagnose(ctx context.Context) (loc, body string) {
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, _ = chromedp.Run(dctx, chromedp.Location())
	body, _ = chromedp.Run(dctx, chromedp.Text(chromedp.CSS("main")))
	return loc, body
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// waitJS waits (20 s at most) until a JavaScript expression is true in the page.
// It survives navigations, so it can wait for the page a form submission leads to
// even when the old page has the same elements.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, body := diagnose(ctx)
			t.Fatalf("%s: %s never held (last error %v)\nat %s\npage:\n%s", what, expr, err, loc, truncateText(body, 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// follow navigates to the href of the first link matching a CSS selector: unlike
// a synthetic mouse click it cannot miss when the layout shifts as scripts run.
func follow(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		href, err := chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).href`, sel))(ctx, target)
		if err != nil {
			return err
		}
		_, err = chromedp.Navigate(href)(ctx, target)
		return err
	})
}

// adminLogin logs the browser's customer out and the sandbox's admin in.
func adminLogin() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Submit(chromedp.CSS(`.who button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "admin@fetchsms.dev"),
		chromedp.SendKeys(chromedp.ID("password"), "sandbox-admin"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("balance")),
	}
}

// browserHook is a webhook endpoint on loopback that records what it receives.
type browserHook struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func (h *browserHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.sigs = append(h.sigs, r.Header.Get("X-FetchSMS-Signature"))
	h.mu.Unlock()
}

// TestBrowserCustomerAndAdmin is the whole journey: sign up → deposit → buy → the
// code appears without a reload → create an API key and use it → add a webhook
// endpoint and receive its signed test event → open a ticket; then an admin
// adjusts the customer's balance and answers the ticket.
func TestBrowserCustomerAndAdmin(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--no-ip-limits")
	shot := newScreenshots(t, "journey")
	base := s.BaseURL
	email := fmt.Sprintf("browser-%d@example.com", time.Now().UnixNano())
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Sign up: the new customer lands on the wallet.
	step(t, ctx, "sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(id("email"), email),
		chromedp.SendKeys(id("password"), "correct horse battery"),
		shot.take("signup"),
		chromedp.Submit(id("password")),
		chromedp.WaitVisible(id("balance")),
	)
	if loc := read(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/dashboard/wallet") {
		t.Fatalf("after signup at %s, want the wallet", loc)
	}

	// Deposit $25 through the sandbox provider.
	step(t, ctx, "deposit", chromedp.SetValue(id("amount"), "25"), chromedp.Submit(id("amount")))
	waitJS(t, ctx, "balance after deposit", `document.querySelector("#balance")?.textContent === "$25.00" && /Added/.test(document.querySelector(".flash-ok")?.textContent)`)
	step(t, ctx, "deposit screenshot", shot.take("wallet-after-deposit"))

	// Buy a Telegram number from the catalog; the simulated SIM bank answers within
	// 1–3 s and the page shows the code by polling, without a reload.
	step(t, ctx, "buy",
		chromedp.Navigate(base+"/dashboard/catalog"),
		chromedp.WaitVisible(id("services")),
		shot.take("catalog"),
		chromedp.Submit(css(`tr[data-slug="telegram"] button`)),
		chromedp.WaitVisible(id("vstatus")),
	)
	read(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__noReload = true`))
	step(t, ctx, "waiting", shot.take("verification-waiting"))
	step(t, ctx, "code appears", chromedp.WaitVisible(id("code")), shot.take("verification-code"))
	code := read(t, ctx, "code", chromedp.Text(id("code")))
	if same := read(t, ctx, "reload check", chromedp.Evaluate[bool](`window.__noReload === true`)); len(code) < 4 || !same {
		t.Fatalf("code %q, same page %v", code, same)
	}

	// Create an API key; the page shows it once; it works over HTTP.
	step(t, ctx, "create key",
		chromedp.Navigate(base+"/dashboard/api"),
		chromedp.SendKeys(id("key-name"), "ci"),
		chromedp.Submit(id("key-name")),
		chromedp.WaitVisible(id("new-secret")),
		shot.take("api-key-created"),
	)
	key := read(t, ctx, "key", chromedp.Text(id("new-secret")))
	if !strings.HasPrefix(key, "fsk_") {
		t.Fatalf("key shown: %q", key)
	}
	if st, _, raw := s.do(t, http.MethodGet, "/v1/verifications?tab=history", key, nil); st != http.StatusOK || !strings.Contains(string(raw), code) {
		t.Fatalf("the new key lists the verification: %d %s", st, raw)
	}

	// Add a webhook endpoint (loopback is allowed in the sandbox) and send a test
	// event, signed with the secret the page showed.
	recv := &browserHook{}
	hook := httptest.NewServer(recv)
	defer hook.Close()
	step(t, ctx, "add webhook",
		chromedp.Navigate(base+"/dashboard/api"),
		chromedp.SendKeys(id("wh-url"), hook.URL+"/hook"),
		chromedp.Submit(id("wh-url")),
	)
	waitJS(t, ctx, "webhook secret shown", `/Signing secret/.test(document.querySelector(".secret h2")?.textContent)`)
	step(t, ctx, "webhook screenshot", shot.take("webhook-created"))
	secret := read(t, ctx, "secret", chromedp.Text(id("new-secret")))
	step(t, ctx, "send test event", chromedp.Submit(css(`#endpoints form[action$="/test"] button`)))
	waitJS(t, ctx, "test event queued", `/Test event queued/.test(document.querySelector(".flash-ok")?.textContent)`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		recv.mu.Lock()
		n := len(recv.bodies)
		var body []byte
		var sig string
		if n > 0 {
			body, sig = recv.bodies[0], recv.sigs[0]
		}
		recv.mu.Unlock()
		if n > 0 {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			if hex.EncodeToString(mac.Sum(nil)) != sig {
				t.Fatal("the test event's signature does not verify with the secret shown")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook receiver got no test event")
		}
		time.Sleep(100 * time.Millisecond)
	}
	step(t, ctx, "delivery log",
		follow(`#endpoints a.btn`),
		chromedp.WaitVisible(id("deliveries")),
		shot.take("webhook-deliveries"),
	)

	// Open a support ticket about the verification.
	step(t, ctx, "open ticket",
		chromedp.Navigate(base+"/dashboard/support"),
		chromedp.SendKeys(id("subject"), "Second code for Telegram?"),
		chromedp.SendKeys(id("body"), "Can I get a second code on the same number?"),
		chromedp.Submit(id("subject")),
		chromedp.WaitVisible(id("thread")),
		shot.take("ticket-opened"),
	)

	// The overview on a phone-sized screen.
	step(t, ctx, "mobile",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(id("balance")),
		shot.take("mobile-overview"),
		chromedp.EmulateViewport(1280, 900),
	)

	// Log out; the admin logs in and credits the customer.
	step(t, ctx, "log out, log in as admin", append(adminLogin(),
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(id("users")),
		shot.take("admin-users"),
		follow(fmt.Sprintf(`tr[data-name=%q] a`, email)),
		chromedp.WaitVisible(id("adj-amount")),
	)...)
	before := read(t, ctx, "balance before", chromedp.Text(id("user-balance")))
	step(t, ctx, "adjust balance",
		chromedp.SendKeys(id("adj-amount"), "5.00"),
		chromedp.SendKeys(id("adj-reason"), "Goodwill credit"),
		chromedp.Submit(id("adj-amount")),
		chromedp.WaitVisible(css(".flash-ok")),
		shot.take("admin-adjusted"),
	)
	flash := read(t, ctx, "flash", chromedp.Text(css(".flash-ok")))
	after := read(t, ctx, "balance after", chromedp.Text(id("user-balance")))
	if !strings.HasPrefix(flash, "Adjusted by $5.00") || before != "$24.30" || after != "$29.30" {
		t.Fatalf("adjustment: %q, balance %s → %s", flash, before, after)
	}

	// The admin answers the ticket from the queue, then closes it.
	step(t, ctx, "answer ticket",
		chromedp.Navigate(base+"/admin/support"),
		chromedp.WaitVisible(id("queue")),
		shot.take("admin-support-queue"),
		follow(`#queue a`),
		chromedp.SendKeys(id("reply"), "Yes: buy a new verification; each one gets one code."),
		chromedp.Submit(id("reply")),
		chromedp.WaitVisible(css(".msg-staff")),
		shot.take("admin-ticket-answered"),
	)
	if thread := read(t, ctx, "thread", chromedp.Text(id("thread"))); !strings.Contains(thread, "each one gets one code") {
		t.Fatalf("thread: %s", thread)
	}
	step(t, ctx, "close ticket",
		chromedp.Submit(css(`form[action$="/close"] button`)),
		chromedp.WaitVisible(css(".badge-closed")),
		chromedp.Navigate(base+"/admin/stats?window=all"),
		chromedp.WaitVisible(id("stats")),
		shot.take("admin-stats"),
	)
	if rev := read(t, ctx, "revenue", chromedp.Text(id("revenue"))); rev != "$0.70" {
		t.Fatalf("revenue after one Telegram code: %s", rev)
	}
	// The trend charts put that sale in the latest period, and nowhere else.
	revenue := read(t, ctx, "revenue chart", chromedp.Evaluate[string](`document.getElementById("chart-revenue-t").textContent`))
	success := read(t, ctx, "success chart", chromedp.Evaluate[string](`document.getElementById("chart-success-t").textContent`))
	if !strings.HasSuffix(revenue, ": $0.70") || strings.Count(revenue, "$0.70") != 1 || !strings.HasSuffix(success, ": 100%") {
		t.Fatalf("charts: %q / %q", revenue, success)
	}

	// The admin reprices a service, reads the inbound log and sees the pool's actions.
	step(t, ctx, "services",
		chromedp.Navigate(base+"/admin/services"),
		chromedp.WaitVisible(id("services")),
		shot.take("admin-services"),
		follow(`tr[data-name="Telegram"] a.btn`),
		chromedp.WaitVisible(id("svc-price")),
		chromedp.SetValue(id("svc-price"), "0.40"),
		shot.take("admin-service-edit"),
		chromedp.Submit(id("svc-price")),
	)
	waitJS(t, ctx, "price saved", `/Saved Telegram: \$0\.40/.test(document.querySelector(".flash-ok")?.textContent)`)
	step(t, ctx, "services saved screenshot", shot.take("admin-services-saved"))
	if row := read(t, ctx, "telegram row", chromedp.Text(css(`tr[data-name="Telegram"] td.num`))); row != "$0.40" {
		t.Fatalf("Telegram's listed price after the edit: %q", row)
	}
	step(t, ctx, "inbound log",
		chromedp.Navigate(base+"/admin/inbound"),
		chromedp.WaitVisible(id("inbound")),
		shot.take("admin-inbound"),
	)
	if log := read(t, ctx, "inbound log", chromedp.Text(id("inbound"))); !strings.Contains(log, code) {
		t.Fatalf("the inbound log does not show the code %s: %s", code, truncateText(log, 500))
	}
	step(t, ctx, "number pool",
		chromedp.Navigate(base+"/admin/numbers"),
		chromedp.WaitVisible(id("numbers")),
		shot.take("admin-numbers"),
	)
}
