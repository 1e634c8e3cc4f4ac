package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/client"
)

// TestResend: POST /v1/verifications/{id}/resend after a code and inside the
// window waits for another code on the same number at no charge; codes lists
// every code oldest first and code is the newest; before a code or after the
// window 409; the end of that wait (cancel, expiry) never refunds; an
// Idempotency-Key is honoured (issue 20). On every engine.
func TestResend(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		start := s.balance(t, s.DemoSession)
		buy := func(service string) (map[string]any, string) {
			v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": service}, http.StatusCreated)
			return v, "/v1/verifications/" + str(t, v["id"])
		}
		codesOf := func(m map[string]any) string { return fmt.Sprint(m["codes"]) }

		v, path := buy("telegram")
		if codesOf(v) != "[]" || v["code"] != nil {
			t.Fatalf("a new verification's codes: %v", v)
		}
		cost := num(t, v["cost_cents"])
		// Before a code: 409 no_code_yet, nothing moves.
		if raw := s.errorCode(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusConflict); raw != "no_code_yet" {
			t.Fatalf("resend before a code: %s", raw)
		}
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 111222")
		got := s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK)
		if got["status"] != "received" || got["code"] != "111222" || codesOf(got) != "[111222]" {
			t.Fatalf("after the first code: %v", got)
		}
		// Resend: waiting again on the same number, the first code kept.
		r := s.call(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusOK)
		if r["status"] != "waiting" || r["number"] != v["number"] || r["code"] != "111222" || codesOf(r) != "[111222]" {
			t.Fatalf("resend: %v", r)
		}
		// Again while waiting: the same answer, nothing moves.
		if again := s.call(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusOK); again["status"] != "waiting" || codesOf(again) != "[111222]" {
			t.Fatalf("a second resend while waiting: %v", again)
		}
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 333444")
		got = s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK)
		if got["status"] != "received" || got["code"] != "333444" || codesOf(got) != "[111222 333444]" {
			t.Fatalf("after the second code: %v", got)
		}
		if b := s.balance(t, s.DemoSession); b != start-cost {
			t.Fatalf("balance %d, want %d (charged once)", b, start-cost)
		}
		// A resend's wait cancelled: received again, never refunded.
		s.call(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusOK)
		c := s.call(t, http.MethodPost, path+"/cancel", s.APIKey, nil, http.StatusOK)
		if c["status"] != "received" || c["code"] != "333444" || codesOf(c) != "[111222 333444]" {
			t.Fatalf("cancel of a resend's wait: %v", c)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 1 || k[0] != "purchase" {
			t.Fatalf("ledger after resends and a cancel: %v", k)
		}
		// A resend's wait expiring: received again, never refunded; then the
		// window is closed: 409 window_closed.
		s.call(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusOK)
		s.advance(t, 16*60)
		if e := s.call(t, http.MethodGet, path, s.APIKey, nil, http.StatusOK); e["status"] != "received" || e["code"] != "333444" {
			t.Fatalf("a resend's wait after expiry: %v", e)
		}
		if raw := s.errorCode(t, http.MethodPost, path+"/resend", s.APIKey, nil, http.StatusConflict); raw != "window_closed" {
			t.Fatalf("resend after the window: %s", raw)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 1 {
			t.Fatalf("ledger after expiry: %v", k)
		}
		// Expired without a code, and cancelled: 409 too.
		_, wpath := buy("whatsapp")
		s.advance(t, 16*60)
		if raw := s.errorCode(t, http.MethodPost, wpath+"/resend", s.APIKey, nil, http.StatusConflict); raw != "window_closed" {
			t.Fatalf("resend of an expired verification: %s", raw)
		}
		_, xpath := buy("whatsapp")
		s.call(t, http.MethodPost, xpath+"/cancel", s.APIKey, nil, http.StatusOK)
		if raw := s.errorCode(t, http.MethodPost, xpath+"/resend", s.APIKey, nil, http.StatusConflict); raw != "not_waiting" {
			t.Fatalf("resend of a cancelled verification: %s", raw)
		}
		// Not found: another's, and no such id.
		other, _ := s.signup(t)
		s.expect(t, http.MethodPost, path+"/resend", other, nil, http.StatusNotFound)
		s.expect(t, http.MethodPost, "/v1/verifications/not-an-id/resend", s.APIKey, nil, http.StatusNotFound)

		// An Idempotency-Key: the replay answers as the first call did.
		y, ypath := buy("telegram")
		s.sms(t, str(t, y["number"]), "Telegram", "Telegram code: 555666")
		hdr := http.Header{"Idempotency-Key": {"resend-" + randomHex(6)}}
		st1, _, b1, err := s.sendWith(http.MethodPost, ypath+"/resend", s.APIKey, nil, hdr)
		if err != nil || st1 != http.StatusOK {
			t.Fatalf("resend with a key: %d %s %v", st1, b1, err)
		}
		st2, _, b2, err := s.sendWith(http.MethodPost, ypath+"/resend", s.APIKey, nil, hdr)
		if err != nil || st2 != http.StatusOK || string(b1) != string(b2) {
			t.Fatalf("replay: %d %s (first %s) %v", st2, b2, b1, err)
		}

		// Races: parallel resends and cancels of one received verification
		// leave it in one state, charged once, its number held at most once
		// (the invariant check at cleanup).
		z, zpath := buy("telegram")
		s.sms(t, str(t, z["number"]), "Telegram", "Telegram code: 777888")
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				op := "/resend"
				if i%2 == 1 {
					op = "/cancel"
				}
				// A cancel that finds it received (not waiting) is 409 already_received.
				st, _, body, err := s.send(http.MethodPost, zpath+op, s.APIKey, nil)
				if err != nil || st != http.StatusOK && !(op == "/cancel" && st == http.StatusConflict && strings.Contains(string(body), "already_received")) {
					t.Errorf("%s in a race: %d %s %v", op, st, body, err)
				}
			}(i)
		}
		wg.Wait()
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, z["id"]))); len(k) != 1 || k[0] != "purchase" {
			t.Fatalf("ledger after racing resends and cancels: %v", k)
		}
	})
}

// errorCode sends a request, requires status want and returns the error's code.
func (s *testServer) errorCode(t *testing.T, method, path, token string, body any, want int) string {
	t.Helper()
	status, _, raw := s.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	return fmt.Sprint(decode[map[string]any](t, raw)["code"])
}

// TestReport: POST /v1/verifications/{id}/report {reason} while waiting refunds
// at once and answers 201 {refunded, replacement} with a replacement on another
// number; bad input is 4xx with a code; after a code 409; twenty parallel
// reports refund once and make one replacement; admins read the report rates
// (issue 20). On every engine.
func TestReport(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		start := s.balance(t, s.DemoSession)
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		path := "/v1/verifications/" + str(t, v["id"]) + "/report"

		// Bad input: nothing moves.
		for _, bad := range []struct {
			body any
			want int
		}{{nil, http.StatusBadRequest}, {map[string]any{}, http.StatusBadRequest}, {map[string]any{"reason": " "}, http.StatusBadRequest},
			{map[string]any{"reason": 5}, http.StatusBadRequest}, {map[string]any{"reason": "x", "extra": 1}, http.StatusBadRequest},
			{map[string]any{"reason": strings.Repeat("é", 201)}, http.StatusUnprocessableEntity}} {
			s.expect(t, http.MethodPost, path, s.APIKey, bad.body, bad.want)
		}
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Fatalf("balance %d after refused reports", b)
		}

		hdr := http.Header{"Idempotency-Key": {"report-" + randomHex(6)}}
		st, _, raw, err := s.sendWith(http.MethodPost, path, s.APIKey, map[string]any{"reason": "Telegram says the number is banned"}, hdr)
		if err != nil || st != http.StatusCreated {
			t.Fatalf("report: %d %s %v", st, raw, err)
		}
		res := decode[map[string]any](t, raw)
		refunded, _ := res["refunded"].(map[string]any)
		replacement, _ := res["replacement"].(map[string]any)
		if refunded["id"] != v["id"] || refunded["status"] != "cancelled" || replacement == nil || replacement["status"] != "waiting" ||
			replacement["number"] == v["number"] || replacement["service"] != "telegram" || res["replacement_error"] != nil {
			t.Fatalf("report answer %s", raw)
		}
		st2, h2, raw2, err := s.sendWith(http.MethodPost, path, s.APIKey, map[string]any{"reason": "Telegram says the number is banned"}, hdr)
		if err != nil || st2 != http.StatusCreated || string(raw2) != string(raw) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s %v", st2, raw2, err)
		}
		if b := s.balance(t, s.DemoSession); b != start-70 {
			t.Fatalf("balance %d: refunded once, the replacement bought once", b)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 2 {
			t.Fatalf("the reported verification's ledger %v (purchase, refund)", k)
		}
		if code := s.errorCode(t, http.MethodPost, path, s.APIKey, map[string]any{"reason": "again"}, http.StatusConflict); code != "not_waiting" {
			t.Fatalf("a second report: %s", code)
		}
		// After a code: 409 already_received.
		s.sms(t, str(t, replacement["number"]), "Telegram", "Telegram code: 246810")
		rpath := "/v1/verifications/" + str(t, replacement["id"]) + "/report"
		if code := s.errorCode(t, http.MethodPost, rpath, s.APIKey, map[string]any{"reason": "late"}, http.StatusConflict); code != "already_received" {
			t.Fatalf("report after the code: %s", code)
		}

		// Twenty parallel reports of one verification: one refund, one replacement.
		w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, _, err := s.send(http.MethodPost, "/v1/verifications/"+str(t, w["id"])+"/report", s.APIKey, map[string]any{"reason": "refused"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != 19 {
			t.Fatalf("parallel reports answered %v", codes)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, w["id"]))); len(k) != 2 {
			t.Fatalf("ledger of the reported verification %v", k)
		}
		waiting := 0
		for _, x := range s.list(t, "/v1/verifications", s.APIKey) {
			if x["service"] == "whatsapp" {
				waiting++
			}
		}
		if waiting != 1 {
			t.Fatalf("%d whatsapp verifications waiting, want the one replacement", waiting)
		}

		// Admins see the rates; customers do not.
		s.expect(t, http.MethodGet, "/v1/admin/reports", s.DemoSession, nil, http.StatusForbidden)
		rates := s.call(t, http.MethodGet, "/v1/admin/reports", s.AdminSession, nil, http.StatusOK)
		numbers, _ := rates["numbers"].([]any)
		gateways, _ := rates["gateways"].([]any)
		if len(numbers) == 0 || len(gateways) != 1 || num(t, gateways[0].(map[string]any)["reports"]) != 2 || num(t, rates["disable_threshold"]) != 3 {
			t.Fatalf("report rates %v", rates)
		}
		total := int64(0)
		for _, x := range numbers {
			n := x.(map[string]any)
			total += num(t, n["reports"])
			if num(t, n["sold"]) < num(t, n["reports"]) || n["disabled"] != false || n["gateway"] == "" || n["number"] == nil {
				t.Fatalf("a number's rate %v", n)
			}
		}
		if total != 2 {
			t.Fatalf("%d reports over the numbers, want 2: %v", total, numbers)
		}
		// The console shows the same on its pool and gateways pages.
		_, pool := s.page(t, "GET", "/admin/numbers", s.AdminSession, nil, nil)
		_, gws := s.page(t, "GET", "/admin/gateways", s.AdminSession, nil, nil)
		for what, page := range map[string]string{"pool": pool, "gateways": gws} {
			if !regexp.MustCompile(`class="(small )?report-rate">\d+ reports? of \d+ sold \(\d+(\.\d+)?%\)<`).MatchString(page) {
				t.Fatalf("no report line on the console's %s page", what)
			}
		}
	})
}

// TestExtendRental: POST /v1/rentals/{id}/extend {days} at the long-term price,
// one ledger entry, an Idempotency-Key honoured, bad input 4xx with a code; the
// expiry sweep sends one rental.expiring webhook before the end (issue 20). On
// every engine.
func TestExtendRental(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		rc := &hookReceiver{}
		recv := httptest.NewServer(rc)
		t.Cleanup(recv.Close)
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL + "/hooks"}, http.StatusCreated)
		start := s.balance(t, s.DemoSession)
		r := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
		path := "/v1/rentals/" + str(t, r["id"]) + "/extend"
		end := parseTS(t, r["expires_at"])

		for _, bad := range []struct {
			body any
			want int
		}{{nil, http.StatusBadRequest}, {map[string]any{}, http.StatusBadRequest}, {map[string]any{"days": "7"}, http.StatusBadRequest},
			{map[string]any{"days": 2}, http.StatusUnprocessableEntity}, {map[string]any{"days": 0}, http.StatusUnprocessableEntity},
			{map[string]any{"days": 1e12}, http.StatusUnprocessableEntity}, {map[string]any{"days": 365}, http.StatusUnprocessableEntity}} {
			s.expect(t, http.MethodPost, path, s.APIKey, bad.body, bad.want)
		}
		if b := s.balance(t, s.DemoSession); b != start-600 {
			t.Fatalf("balance %d after refused extensions", b)
		}

		hdr := http.Header{"Idempotency-Key": {"extend-" + randomHex(6)}}
		st, _, raw, err := s.sendWith(http.MethodPost, path, s.APIKey, map[string]any{"days": 30}, hdr)
		if err != nil || st != http.StatusOK {
			t.Fatalf("extend: %d %s %v", st, raw, err)
		}
		x := decode[map[string]any](t, raw)
		if num(t, x["extended_days"]) != 30 || num(t, x["duration_days"]) != 7 || !parseTS(t, x["expires_at"]).Equal(end.AddDate(0, 0, 30)) ||
			num(t, x["cost_cents"]) != 600+1200 {
			t.Fatalf("extended: %s", raw)
		}
		st2, _, raw2, err := s.sendWith(http.MethodPost, path, s.APIKey, map[string]any{"days": 30}, hdr)
		if err != nil || st2 != http.StatusOK || string(raw2) != string(raw) {
			t.Fatalf("replay: %d %s %v", st2, raw2, err)
		}
		if b := s.balance(t, s.DemoSession); b != start-1800 {
			t.Fatalf("balance %d: the extension charged once", b)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, r["id"]))); len(k) != 2 || k[0] != "purchase" || k[1] != "purchase" {
			t.Fatalf("ledger %v", k)
		}

		// The reminder: one webhook a day before the (new) end.
		s.advance(t, int64(36*24*3600))
		h := rc.wait(t, "rental.expiring", str(t, r["id"]))
		if !strings.Contains(string(h.Body), str(t, r["ref"])) {
			t.Fatalf("reminder %s", h.Body)
		}
		s.advance(t, 3600)
		time.Sleep(1500 * time.Millisecond) // a sweep or two: no second reminder
		if n := rc.count("rental.expiring"); n != 1 {
			t.Fatalf("%d reminders, want 1", n)
		}

		// Ended: 409 not_waiting.
		s.advance(t, 24*3600)
		if code := s.errorCode(t, http.MethodPost, path, s.APIKey, map[string]any{"days": 1}, http.StatusConflict); code != "not_waiting" {
			t.Fatalf("extend an ended rental: %s", code)
		}
	})
}

// count returns how many deliveries of event type typ arrived.
func (h *hookReceiver) count(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, g := range h.got {
		if g.Event == typ {
			n++
		}
	}
	return n
}

// TestAfterPurchaseClient: the Go client's resend, report and extend against
// the real server, on every engine.
func TestAfterPurchaseClient(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false")
		c := s.api(t, s.APIKey)
		ctx := context.Background()

		v := noErr[*client.Verification](t)(c.CreateVerification(ctx, client.VerificationRequest{Service: "telegram"}))
		if _, err := c.ResendVerification(ctx, v.ID); client.ErrorCode(err) != client.CodeNoCodeYet {
			t.Fatalf("resend before a code: %v", err)
		}
		s.sms(t, v.Number, "Telegram", "Telegram code: 101010")
		r := noErr[*client.Verification](t)(c.ResendVerification(ctx, v.ID))
		if r.Status != client.StatusWaiting || r.Code != "101010" || len(r.Codes) != 1 {
			t.Fatalf("resend: %+v", r)
		}
		s.sms(t, v.Number, "Telegram", "Telegram code: 202020")
		got := noErr[*client.Verification](t)(c.WaitForCode(ctx, v.ID))
		if got.Code != "202020" || fmt.Sprint(got.Codes) != "[101010 202020]" {
			t.Fatalf("after another code: %+v", got)
		}

		w := noErr[*client.Verification](t)(c.CreateVerification(ctx, client.VerificationRequest{Service: "whatsapp"}))
		rep := noErr[*client.Report](t)(c.ReportVerification(ctx, w.ID, "refused by the service"))
		if rep.Refunded.Status != client.StatusCancelled || rep.Replacement == nil || rep.Replacement.Number == w.Number || rep.ReplacementError != nil {
			t.Fatalf("report: %+v", rep)
		}

		x := noErr[*client.Rental](t)(c.CreateRental(ctx, client.RentalRequest{Service: client.ServiceID(1), Days: 7}))
		y := noErr[*client.Rental](t)(c.ExtendRental(ctx, x.ID, 7))
		if y.ExtendedDays != 7 || !y.ExpiresAt.Equal(x.ExpiresAt.AddDate(0, 0, 7)) {
			t.Fatalf("extend: %+v", y)
		}
		if _, err := c.ExtendRental(ctx, x.ID, 3); client.ErrorCode(err) != client.CodeInvalidValue {
			t.Fatalf("extend by 3 days: %v", err)
		}
	})
}

// TestSandboxAnswersResend: in the sandbox the simulated SIM bank answers a
// resend as it answers a purchase, so the quickstart's resend gets a second
// code without an admin posting one.
func TestSandboxAnswersResend(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox")
	api := s.api(t, s.APIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := api.CreateVerification(ctx, client.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = api.WaitForCode(ctx, v.ID); err != nil || v.Code == "" {
		t.Fatalf("first code: %+v, %v", v, err)
	}
	if v, err = api.ResendVerification(ctx, v.ID); err != nil || v.Status != "waiting" {
		t.Fatalf("resend: %+v, %v", v, err)
	}
	v, err = api.WaitForCode(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "received" || len(v.Codes) != 2 || v.Code != v.Codes[1] {
		t.Fatalf("after the resend the simulator's second code: status %s, code %v, codes %v", v.Status, v.Code, v.Codes)
	}
}
