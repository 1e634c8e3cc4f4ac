package main

// The dashboard's main pages at 320, 390 and 1280 px wide in headless Chromium:
// no page is wider than the screen, the catalog's live filter finds multi-word
// and nickname searches, and axe-core (clients/axe, from npm) finds no serious
// or critical accessibility violation. Screenshots of every page at every width
// land in test-results/screenshots/.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource returns axe-core's script from clients/axe (npm ci), skipping the
// test (failing it in CI) when it is not installed.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "clients", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is required in CI (npm ci --prefix clients/axe): %v", err)
		}
		t.Skipf("axe-core not installed (npm ci --prefix clients/axe): %v", err)
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// scan runs axe-core on the page shown (WCAG 2.x A and AA rules) and returns
// its serious and critical violations. The script is evaluated through the
// DevTools protocol, which the page's Content-Security-Policy does not govern.
func scan(t *testing.T, ctx context.Context, axe string) []axeViolation {
	t.Helper()
	read(t, ctx, "inject axe", chromedp.Evaluate[bool](axe+";true"))
	raw := readWithin(t, ctx, time.Minute, "run axe", chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	var all []axeViolation
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		t.Fatalf("axe results: %v", err)
	}
	var bad []axeViolation
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		}
	}
	return bad
}

func TestBrowserLayoutAndAccessibility(t *testing.T) {
	t.Parallel()
	axe := axeSource(t)
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	shot := newScreenshots(t, "layout")
	id := func(s string) chromedp.ID { return chromedp.ID(s) }

	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
	x := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
	s.call(t, http.MethodPost, "/v1/sandbox/sms", s.AdminSession, map[string]any{"to": x["number"], "from": "Telegram",
		"body": "Telegram code: 48213. " + strings.Repeat("averyveryverylongunbrokenwordthatmustwrap", 8)}, http.StatusAccepted)
	s.call(t, http.MethodPost, "/v1/support/tickets", s.DemoSession, map[string]any{"subject": strings.Repeat("unbrokensubject", 13), "body": "x"}, http.StatusCreated)

	public := []string{"/login", "/signup", "/password/forgot"}
	customer := []string{"/dashboard", "/dashboard/catalog", "/dashboard/verifications", "/dashboard/verifications/" + v["id"].(string),
		"/dashboard/rentals", "/dashboard/rentals/" + x["id"].(string), "/dashboard/wallet", "/dashboard/api", "/dashboard/support", "/dashboard/account"}
	admin := []string{"/admin/stats", "/admin/users", "/admin/numbers", "/admin/services", "/admin/gateways", "/admin/support"}

	var failures []string
	visit := func(width int, path string) {
		page := path // a purchase's page is named by its kind, not its id
		if i := strings.LastIndexByte(page, '/'); len(page)-i == 37 {
			page = page[:i] + "/one"
		}
		name := fmt.Sprintf("%d%s", width, strings.ReplaceAll(page, "/", "-"))
		step(t, ctx, "open "+path, chromedp.Navigate(s.BaseURL+path), chromedp.WaitVisible(id("main")), shot.take(name))
		if wide := read(t, ctx, "width of "+path, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > width {
			culprits := read(t, ctx, "wide elements", chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1)).slice(0, 3).map(e => e.tagName + "." + e.className + "#" + e.id).join(", ")`))
			failures = append(failures, fmt.Sprintf("%s at %d px is %d px wide (%s)", path, width, wide, culprits))
		}
		for _, bad := range scan(t, ctx, axe) {
			where := ""
			if len(bad.Nodes) > 0 {
				where = truncateText(bad.Nodes[0].HTML, 160)
			}
			failures = append(failures, fmt.Sprintf("%s at %d px: axe %s (%s): %s — %d node(s), e.g. %s", path, width, bad.ID, bad.Impact, bad.Help, len(bad.Nodes), where))
		}
	}
	login := func(email, password string) {
		step(t, ctx, "log in "+email,
			chromedp.Navigate(s.BaseURL+"/login"),
			chromedp.SendKeys(id("email"), email),
			chromedp.SendKeys(id("password"), password),
			chromedp.Submit(id("password")),
			chromedp.WaitVisible(id("balance")),
		)
	}
	for _, width := range []int{320, 390, 1280} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(int64(width), 800))
		step(t, ctx, "log out", chromedp.Navigate(s.BaseURL+"/dashboard"))
		if out := read(t, ctx, "logged in?", chromedp.Evaluate[bool](`!!document.querySelector(".who button")`)); out {
			step(t, ctx, "log out", chromedp.Submit(chromedp.CSS(".who button")), chromedp.WaitVisible(id("email")))
		}
		for _, p := range public {
			visit(width, p)
		}
		login("demo@fetchsms.dev", "sandbox-demo")
		for _, p := range customer {
			visit(width, p)
		}
		// The phone's menu shows every section without scrolling sideways.
		if hidden := read(t, ctx, "nav", chromedp.Evaluate[int](`[...document.querySelectorAll("nav[aria-label=Main] a")].filter(a => { const r = a.getBoundingClientRect(); return r.right > window.innerWidth || r.width === 0 }).length`)); hidden > 0 {
			failures = append(failures, fmt.Sprintf("%d menu entries off-screen at %d px", hidden, width))
		}
		step(t, ctx, "log out", chromedp.Submit(chromedp.CSS(".who button")), chromedp.WaitVisible(id("email")))
		login("admin@fetchsms.dev", "sandbox-admin")
		for _, p := range admin {
			visit(width, p)
		}
		step(t, ctx, "log out", chromedp.Submit(chromedp.CSS(".who button")), chromedp.WaitVisible(id("email")))
	}

	// The catalog's live filter: multi-word and nickname searches, and a no-match state.
	login("demo@fetchsms.dev", "sandbox-demo")
	step(t, ctx, "catalog", chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.BaseURL+"/dashboard/catalog"), chromedp.WaitVisible(id("services")))
	clearQ := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`document.getElementById("q").value = ""; true`)(ctx, target)
		return err
	})
	visible := `[...document.querySelectorAll("#services tbody tr[data-name]")].filter(r => !r.hidden).map(r => r.querySelector("strong").textContent)`
	for q, want := range map[string]string{"Uber Eats": "Uber Eats", "cash app": "Cash App", "ChatGPT": "OpenAI (ChatGPT)"} {
		step(t, ctx, "filter "+q, clearQ, chromedp.SendKeys(id("q"), q))
		got := read(t, ctx, "filtered", chromedp.Evaluate[[]string](visible))
		if len(got) == 0 || got[0] != want && !contains(got, want) {
			failures = append(failures, fmt.Sprintf("filter %q shows %v, want %s", q, got, want))
		}
	}
	step(t, ctx, "filter nothing", clearQ, chromedp.SendKeys(id("q"), "no such service zz"), shot.take("catalog-no-match"))
	if n, none := read(t, ctx, "rows", chromedp.Evaluate[int](`[...document.querySelectorAll("#services tbody tr[data-name]")].filter(r => !r.hidden).length`)),
		read(t, ctx, "no match", chromedp.Evaluate[bool](`!document.querySelector("[data-nomatch]").hidden`)); n != 0 || !none {
		failures = append(failures, fmt.Sprintf("no-match search: %d rows, no-match row shown %v", n, none))
	}
	if len(failures) > 0 {
		t.Fatalf("%d problem(s):\n%s", len(failures), strings.Join(failures, "\n"))
	}
}
