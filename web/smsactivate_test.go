package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestActivationIDs: every ref has a 12-digit id that names it back; nothing
// else names a ref.
func TestActivationIDs(t *testing.T) {
	t.Parallel()
	for ref, id := range map[string]int64{"v_000000": 100_000_000_000, "v_000001": 100_000_000_001, "v_00000z": 100_000_000_061,
		"v_000010": 100_000_000_062, "v_zzzzzz": 100_000_000_000 + refSpace - 1} {
		if got := activationID(ref); got != id {
			t.Errorf("activationID(%s) = %d, want %d", ref, got, id)
		}
		if back, ok := refOfActivation(strconv.FormatInt(id, 10)); !ok || back != ref {
			t.Errorf("refOfActivation(%d) = %q %v, want %s", id, back, ok, ref)
		}
	}
	for _, ref := range []string{"", "v_", "v_00000", "v_0000000", "r_000000", "v_00000!", "V_000000"} {
		if id := activationID(ref); id != 0 {
			t.Errorf("activationID(%q) = %d, want 0", ref, id)
		}
	}
	for _, id := range []string{"", "0", "99999999999", "099999999999", "156800235584", "1000000000000", "+10000000000", "10000000000a", " 100000000000"} {
		if ref, ok := refOfActivation(id); ok {
			t.Errorf("refOfActivation(%q) = %s, want none", id, ref)
		}
	}
}

// TestParseMaxPrice: dollars to cents, rounded down; anything else refused.
func TestParseMaxPrice(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]fetchsms.Cents{"0.5": 50, "0.50": 50, ".5": 50, "1": 100, "1.": 100, "5.5": 550, "0.505": 50, "0.999": 99,
		"0": 0, " 2.25 ": 225, "1234567.89": 123456789, "0.00999999999999999999": 0} {
		if got, ok := parseMaxPrice(in); !ok || got != want {
			t.Errorf("parseMaxPrice(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", ".", "-1", "+1", "1e3", "abc", "1,5", "0x10", "12345678", "1.2.3", "٣", "0.000000000000000000001"} {
		if got, ok := parseMaxPrice(in); ok {
			t.Errorf("parseMaxPrice(%q) = %d, want refused", in, got)
		}
	}
}

// TestParseNumberOrder: the filters getNumber honours, and the word for each it
// cannot.
func TestParseNumberOrder(t *testing.T) {
	t.Parallel()
	o, word := parseNumberOrder(url.Values{"service": {"tg"}, "country": {"187"}, "operator": {"Any"}, "areas": {"212, 213,212"}, "maxPrice": {"0.8"}})
	if word != "" || o.Service != "tg" || fmt.Sprint(o.Areas) != "[212 213]" || o.MaxPrice == nil || *o.MaxPrice != 80 {
		t.Fatalf("order %+v %q", o, word)
	}
	if o, word := parseNumberOrder(url.Values{"service": {"tg"}, "max_price": {"0.5"}, "maxPrice": {"9"}}); word != "" || *o.MaxPrice != 50 {
		t.Fatalf("max_price first: %+v %q", o, word)
	}
	var areas []string
	for i := range maxAreas + 1 {
		areas = append(areas, strconv.Itoa(201+i))
	}
	tooMany := strings.Join(areas, ",")
	for _, c := range []struct {
		word string
		p    url.Values
	}{
		{"BAD_SERVICE", url.Values{}},
		{"BAD_SERVICE", url.Values{"service": {" "}}},
		{"WRONG_MAX_PRICE", url.Values{"service": {"tg"}, "max_price": {"x"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "country": {"0"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "operator": {"att"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "carriers": {"tmo"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "number": {"13325550100"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "ltr": {"1"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "forward": {"1"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "activationType": {"2"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "areas": {"12"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "areas": {"212,"}}},
		{"NO_NUMBERS", url.Values{"service": {"tg"}, "areas": {tooMany}}},
	} {
		if _, word := parseNumberOrder(c.p); word != c.word {
			t.Errorf("%v: %q, want %q", c.p, word, c.word)
		}
	}
	if o, word := parseNumberOrder(url.Values{"service": {"tg"}, "ltr": {"0"}, "forward": {"0"}, "activationType": {"0"}, "phoneException": {"1212555"}, "areas": {strings.Repeat("212,", maxAreas-1) + "213"}}); word != "" || len(o.Areas) != 2 {
		t.Fatalf("ltr=0 and %d areas: %+v %q", maxAreas, o, word)
	}
}

// TestHandlerParams: the query's parameters, then a form body's; a body of
// another type is not read.
func TestHandlerParams(t *testing.T) {
	t.Parallel()
	p := handlerParams("action=getStatus&id=1&bad=%zz", "application/x-www-form-urlencoded; charset=utf-8", []byte("id=2&api_key=k"))
	if p.Get("action") != "getStatus" || p.Get("id") != "1" || p.Get("api_key") != "k" {
		t.Fatalf("params %v", p)
	}
	if p := handlerParams("", "application/json", []byte(`api_key=k`)); p.Get("api_key") != "" {
		t.Fatalf("a JSON body read as a form: %v", p)
	}
}

// handlerWords are every plain answer the handler API gives, by prefix.
var handlerWords = []string{"ACCESS_BALANCE:", "ACCESS_NUMBER:", "ACCESS_READY", "ACCESS_ACTIVATION", "ACCESS_CANCEL", "STATUS_WAIT_CODE",
	"STATUS_OK:", "STATUS_CANCEL", "FULL_SMS:", "BAD_KEY", "BAD_ACTION", "BAD_SERVICE", "BAD_STATUS", "NO_NUMBERS", "NO_BALANCE",
	"NO_ACTIVATION", "MAX_PRICE_EXCEEDED", "WRONG_MAX_PRICE", "RATE_LIMITED"}

// FuzzHandlerAPI drives the handler API of a server over a real SQLite store with
// any query and body, "KEY" in the query standing for a funded customer's API
// key: every answer is HTTP 200 with one of the protocol's words or a JSON
// body, never ERROR_SQL (our fault), nothing is logged as an error, and the
// money and pool invariants hold after each call.
func FuzzHandlerAPI(f *testing.F) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		f.Fatal(err)
	}
	app, err := fetchsms.New(ctx, store, fetchsms.Options{})
	if err != nil {
		f.Fatal(err)
	}
	gw, err := app.CreateGateway(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	var nums []string
	for i := range 40 {
		nums = append(nums, fmt.Sprintf("+1%d555%04d", 212+i%2, i))
	}
	if _, _, err := app.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(nums)); err != nil {
		f.Fatal(err)
	}
	u, err := app.CreateUser(ctx, "fuzz@example.com", "password123", fetchsms.RoleCustomer)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, 1_000_000, "fuzz"); err != nil {
		f.Fatal(err)
	}
	key, err := app.CreateAPIKey(ctx, u.ID, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	var log bytes.Buffer
	s := &Server{App: app, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	h := s.Handler()
	s.limits.perKey = newKeyedLimiter(1e9, 1e9) // the limit has its own test; here it would answer most calls
	v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		f.Fatal(err)
	}
	id := strconv.FormatInt(activationID(v.Ref), 10)

	for _, seed := range []string{
		"api_key=KEY&action=getBalance", "api_key=KEY&action=getNumber&service=tg&country=187", "api_key=KEY&action=getNumberV2&service=wa&areas=213,212&max_price=1.5",
		"api_key=KEY&action=getStatus&id=" + id, "api_key=KEY&action=getStatusV2&id=" + id, "api_key=KEY&action=getFullSms&id=" + id,
		"api_key=KEY&action=setStatus&status=8&id=" + id, "api_key=KEY&action=setStatus&status=6&id=100000000001", "api_key=KEY&action=getActiveActivations",
		"api_key=KEY&action=getPrices&service=tg", "api_key=KEY&action=getPricesVerification", "api_key=KEY&action=getNumbersStatus&country=187",
		"api_key=KEY&action=getServicesList", "api_key=KEY&action=getCountries", "api_key=KEY&action=getNumber&service=tg&maxPrice=0.1",
		"action=getBalance", "api_key=fsk_x&action=getBalance", "api_key=KEY&action=%zz&id=;;",
	} {
		f.Add(false, seed, "", []byte(nil))
	}
	f.Add(true, "api_key=KEY", "application/x-www-form-urlencoded", []byte("action=getNumber&service=tg&areas=212"))
	f.Add(true, "", "application/x-www-form-urlencoded", []byte("api_key=KEY&action=setStatus&id="+id+"&status=-1"))
	f.Fuzz(func(t *testing.T, post bool, query, contentType string, body []byte) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "/stubs/handler_api.php", bytes.NewReader(body))
		req.URL.RawQuery = strings.ReplaceAll(query, "KEY", key.Key)
		req.Header.Set("Content-Type", strings.ReplaceAll(contentType, "KEY", key.Key))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		answer := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, answer)
		}
		known := json.Valid(rec.Body.Bytes()) && strings.HasPrefix(answer, "{")
		for _, w := range handlerWords {
			known = known || answer == w || strings.HasSuffix(w, ":") && strings.HasPrefix(answer, w)
		}
		if !known {
			t.Fatalf("answer %q is no word of the protocol", answer)
		}
		if strings.Contains(log.String(), "level=ERROR") {
			t.Fatalf("an error was logged: %s", log.String())
		}
		c, err := app.CheckInvariants(ctx)
		if err != nil || !c.OK() {
			t.Fatalf("invariants: %+v %v", c, err)
		}
	})
}
