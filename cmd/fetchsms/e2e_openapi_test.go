package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/fetchsms/fetchsms/web/openapi"
)

// TestAPIReference: the server serves its OpenAPI document and the readable
// reference made from it, with nothing the page needs from elsewhere, and the
// dashboard's API page links to it.
func TestAPIReference(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	status, hdr, raw := s.do(t, http.MethodGet, "/v1/openapi.json", "", nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/openapi.json: %d %s", status, hdr.Get("Content-Type"))
	}
	if !bytes.Equal(raw, openapi.Document) {
		t.Errorf("GET /v1/openapi.json is not the embedded document")
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.OpenAPI != "3.1.0" || len(doc.Paths) < 50 {
		t.Fatalf("document: openapi %q, %d paths, err %v", doc.OpenAPI, len(doc.Paths), err)
	}

	resp, page := s.page(t, http.MethodGet, "/docs/api", "", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs/api: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("/docs/api CSP = %q", csp)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			// The page writes each operation as "<METHOD> … <path>".
			if !strings.Contains(page, ">"+strings.ToUpper(method)+"</span> <span class=\"mono\">"+htmlText(path)+"</span>") {
				t.Errorf("/docs/api does not show %s %s", strings.ToUpper(method), path)
			}
		}
	}
	for _, want := range []string{"insufficient_balance", "X-Next-Cursor", "Idempotency-Key", "Retry-After", "number_e164", "sms.received"} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs/api never mentions %s", want)
		}
	}
	// Offline: every script, style sheet and image is our own.
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if u := m[1]; strings.Contains(u, "//") {
			t.Errorf("/docs/api refers to %s", u)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Errorf("/docs/api has inline script or style, which the CSP refuses")
	}

	// Operations no other test reaches, so their answers are checked too.
	if h := s.call(t, http.MethodGet, "/healthz", "", nil, http.StatusOK); h["status"] != "ok" {
		t.Errorf("/healthz = %v", h)
	}
	ep := s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": "http://127.0.0.1:9/hook"}, http.StatusCreated)
	if e := s.call(t, http.MethodPost, "/v1/webhooks/"+str(t, ep["id"])+"/enable", s.DemoSession, nil, http.StatusOK); e["enabled"] != true {
		t.Errorf("enable = %v", e)
	}
	if e := s.call(t, http.MethodPost, "/v1/webhooks/"+str(t, ep["id"])+"/rotate-secret", s.DemoSession, map[string]any{"overlap_seconds": 60}, http.StatusOK); e["secret"] == ep["secret"] {
		t.Errorf("rotate-secret = %v: the same secret", e)
	}

	_, api := s.page(t, http.MethodGet, "/dashboard/api", s.DemoSession, nil, nil)
	if !strings.Contains(api, `href="/docs/api"`) {
		t.Errorf("the dashboard's API page does not link to the reference")
	}
	// Signed in, the reference keeps the dashboard's menu; signed out it has none.
	if _, signedIn := s.page(t, http.MethodGet, "/docs/api", s.DemoSession, nil, nil); !strings.Contains(signedIn, `href="/dashboard/wallet"`) || !strings.Contains(signedIn, "demo@") {
		t.Errorf("/docs/api signed in shows no dashboard menu")
	}
	if strings.Contains(page, `href="/dashboard/wallet"`) {
		t.Errorf("/docs/api signed out shows the dashboard menu")
	}
}

// htmlText is how html/template writes a path in the page's text.
func htmlText(path string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(path)
}

// TestNumbersInE164: every verification and rental answer carries the number in
// E.164 beside the seed's display form, on every way it is read.
func TestNumbersInE164(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		check := func(what string, m map[string]any) {
			t.Helper()
			if got, want := str(t, m["number_e164"]), e164(t, str(t, m["number"])); got != want {
				t.Errorf("%s: number_e164 %q, number %q", what, got, m["number"])
			}
		}
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
		check("bought verification", v)
		check("read verification", s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK))
		for _, x := range s.list(t, "/v1/verifications", s.APIKey) {
			check("listed verification", x)
		}
		check("cancelled verification", s.call(t, http.MethodPost, "/v1/verifications/"+str(t, v["id"])+"/cancel", s.APIKey, nil, http.StatusOK))
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 1}, http.StatusCreated)
		check("rented", r)
		check("read rental", s.call(t, http.MethodGet, "/v1/rentals/"+str(t, r["id"]), s.APIKey, nil, http.StatusOK))
		for _, x := range s.list(t, "/v1/rentals", s.APIKey) {
			check("listed rental", x)
		}
	})
}

// TestBrowserAPIReference: the reference reads in a browser, its contents lead
// to each section, and the CSP blocks nothing it needs.
func TestBrowserAPIReference(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 1280, 900)
	s := startServer(t, "--sandbox", "--simulator=false")
	shot := newScreenshots(t, "reference")
	step(t, ctx, "open the reference",
		chromedp.Navigate(s.BaseURL+"/docs/api"),
		chromedp.WaitVisible(chromedp.ID("introduction")),
		shot.takeWith("top", chromedp.CaptureScreenshot()),
	)
	// The style sheet applied (it is the only one, and our own).
	waitJS(t, ctx, "styles", `getComputedStyle(document.querySelector(".ref-grid")).display === "grid"`)
	step(t, ctx, "go to Verifications", follow(`.ref-toc a[href="#tag-verifications"]`))
	waitJS(t, ctx, "verifications section", `location.hash === "#tag-verifications" && document.querySelector("#post-v1-verifications") !== null`)
	step(t, ctx, "purchase screenshot", shot.takeWith("buy-a-verification", chromedp.Screenshot(chromedp.ID("post-v1-verifications"))))
	text := read(t, ctx, "purchase", chromedp.Text(chromedp.ID("post-v1-verifications")))
	for _, want := range []string{"Buy a verification", "Idempotency-Key", "402", "409", "Verification"} {
		if !strings.Contains(text, want) {
			t.Errorf("POST /v1/verifications as shown lacks %q:\n%s", want, truncateText(text, 1500))
		}
	}
	step(t, ctx, "follow the answer's schema", follow(`#post-v1-verifications a[href="#schema-Verification"]`))
	waitJS(t, ctx, "schema", `location.hash === "#schema-Verification"`)
	schema := read(t, ctx, "schema", chromedp.Text(chromedp.ID("schema-Verification")))
	if !strings.Contains(schema, "number_e164") {
		t.Errorf("the Verification schema as shown lacks number_e164:\n%s", truncateText(schema, 1500))
	}
	step(t, ctx, "schema screenshot", shot.takeWith("verification-schema", chromedp.Screenshot(chromedp.ID("schema-Verification"))))
}
