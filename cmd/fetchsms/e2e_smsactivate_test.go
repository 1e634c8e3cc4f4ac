package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The SMS-Activate handler API (docs/SMS-ACTIVATE.md), driven like the tools that
// speak it: every action, every answer word and every error word, against the
// real server on both engines.

const handlerPath = "/stubs/handler_api.php"

// haCall is one call of the handler API and its answer.
type haCall struct {
	method string
	key    string // api_key; "" sends none
	params []string
	header http.Header
	form   bool // POST the parameters as a form body instead of the query
}

// haAnswer is an answer: always HTTP 200, a word or a JSON body.
type haAnswer struct {
	body   string
	header http.Header
}

// handler sends c and requires HTTP 200.
func (s *testServer) handler(t *testing.T, c haCall) haAnswer {
	t.Helper()
	q := url.Values{}
	if c.key != "" {
		q.Set("api_key", c.key)
	}
	for i := 0; i+1 < len(c.params); i += 2 {
		q.Set(c.params[i], c.params[i+1])
	}
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	target, body := s.BaseURL+handlerPath+"?"+q.Encode(), io.Reader(nil)
	if c.form {
		target, body = s.BaseURL+handlerPath, strings.NewReader(q.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.form {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %v: %v", method, c.params, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %v: HTTP %d, want 200: %s", method, c.params, resp.StatusCode, raw)
	}
	ct := resp.Header.Get("Content-Type")
	if isJSON := strings.HasPrefix(string(raw), "{"); isJSON != (ct == "application/json") || !isJSON && ct != "text/plain; charset=utf-8" {
		t.Errorf("%v: Content-Type %q for %s", c.params, ct, raw)
	}
	return haAnswer{string(raw), resp.Header}
}

// haKey calls the handler API with key and the parameters (GET) and returns the answer.
func (s *testServer) haKey(t *testing.T, key string, params ...string) string {
	t.Helper()
	return s.handler(t, haCall{key: key, params: params}).body
}

// wantWord requires the answer to be exactly word.
func wantWord(t *testing.T, got, word string) {
	t.Helper()
	if got != word {
		t.Fatalf("answer %q, want %q", got, word)
	}
}

var accessNumber = regexp.MustCompile(`^ACCESS_NUMBER:(\d{12}):(1[2-9]\d{9})$`)

// buyHA buys with getNumber and returns the activation id and the number in
// E.164, failing unless the answer is ACCESS_NUMBER.
func (s *testServer) buyHA(t *testing.T, key string, params ...string) (id, e164 string) {
	t.Helper()
	got := s.haKey(t, key, append([]string{"action", "getNumber"}, params...)...)
	m := accessNumber.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("getNumber %v: %q, want ACCESS_NUMBER:<12 digits>:<1 and 10 digits>", params, got)
	}
	return m[1], "+" + m[2]
}

// activationIDOfRef is the documented activation id of a ref: 10^11 plus the
// ref's six characters read as a base-62 number.
func activationIDOfRef(t *testing.T, ref string) string {
	t.Helper()
	digits, ok := strings.CutPrefix(ref, "v_")
	if !ok || len(digits) != 6 {
		t.Fatalf("ref %q", ref)
	}
	n := int64(0)
	for _, c := range digits {
		n = n*62 + int64(strings.IndexRune(fetchsms.RefAlphabet, c))
	}
	return strconv.FormatInt(100_000_000_000+n, 10)
}

// customerWithKey signs up a customer, funds it with cents (none when 0), and
// returns its session and a fresh API key.
func (s *testServer) customerWithKey(t *testing.T, cents int64) (session, key string) {
	t.Helper()
	session, userID := s.signup(t)
	if cents > 0 {
		s.fund(t, userID, cents)
	}
	k := s.call(t, http.MethodPost, "/v1/api-keys", session, map[string]any{"name": "tool"}, http.StatusCreated)
	return session, str(t, k["key"])
}

func decodeJSON(t *testing.T, raw string) map[string]any {
	t.Helper()
	return decode[map[string]any](t, []byte(raw))
}

func TestSMSActivateProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testSMSActivateProtocol)
}

func testSMSActivateProtocol(t *testing.T, engine string) {
	rc := &hookReceiver{}
	recv := httptest.NewServer(rc)
	t.Cleanup(recv.Close) // after the server's stop: no delivery is cut off
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	balance := func() int64 { return s.balance(t, s.DemoSession) }
	s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": recv.URL + "/hooks"}, http.StatusCreated)
	// Each part runs on a key of its own of the demo account: together they
	// would outrun one key's rate limit.
	var key string
	newKey := func(t *testing.T) {
		key = str(t, s.call(t, http.MethodPost, "/v1/api-keys", s.DemoSession, map[string]any{"name": t.Name()}, http.StatusCreated)["key"])
	}
	ha := func(t *testing.T, params ...string) string {
		t.Helper()
		return s.haKey(t, key, params...)
	}

	t.Run("Keys", func(t *testing.T) {
		newKey(t)
		wantWord(t, s.haKey(t, "", "action", "getBalance"), "BAD_KEY")
		wantWord(t, s.haKey(t, "fsk_not-a-key", "action", "getBalance"), "BAD_KEY")
		wantWord(t, s.haKey(t, "", "action", "nope"), "BAD_KEY")
		// A session token or a gateway's is no API key.
		wantWord(t, s.haKey(t, s.DemoSession, "action", "getBalance"), "BAD_KEY")
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "ha"}, http.StatusCreated)
		wantWord(t, s.haKey(t, str(t, gw["token"]), "action", "getBalance"), "BAD_KEY")
		// A revoked key stops at once; the header form of the key works.
		k := s.call(t, http.MethodPost, "/v1/api-keys", s.DemoSession, map[string]any{"name": "short-lived"}, http.StatusCreated)
		wantWord(t, s.haKey(t, str(t, k["key"]), "action", "getBalance"), "ACCESS_BALANCE:50.00")
		s.expect(t, http.MethodDelete, "/v1/api-keys/"+str(t, k["id"]), s.DemoSession, nil, http.StatusNoContent)
		wantWord(t, s.haKey(t, str(t, k["key"]), "action", "getBalance"), "BAD_KEY")
		got := s.handler(t, haCall{params: []string{"action", "getBalance"}, header: http.Header{"X-Apikey": {s.APIKey}}})
		wantWord(t, got.body, "ACCESS_BALANCE:50.00")
	})

	t.Run("Actions", func(t *testing.T) {
		newKey(t)
		wantWord(t, ha(t), "BAD_ACTION")
		wantWord(t, ha(t, "action", "getRentList"), "BAD_ACTION")
		wantWord(t, ha(t, "action", "GETBALANCE"), "BAD_ACTION")
		wantWord(t, ha(t, "action", "getBalance"), "ACCESS_BALANCE:50.00")
		wantWord(t, ha(t, "action", "getBalanceAndCashBack"), "ACCESS_BALANCE:50.00")
		// POST, with the parameters in the query or in a form body.
		wantWord(t, s.handler(t, haCall{method: http.MethodPost, key: key, params: []string{"action", "getBalance"}}).body, "ACCESS_BALANCE:50.00")
		wantWord(t, s.handler(t, haCall{method: http.MethodPost, key: key, params: []string{"action", "getBalance"}, form: true}).body, "ACCESS_BALANCE:50.00")
		// Other methods are the JSON API's 405.
		s.expect(t, http.MethodDelete, handlerPath, "", nil, http.StatusMethodNotAllowed)
	})

	t.Run("NumberCodeComplete", func(t *testing.T) {
		newKey(t)
		start := balance()
		c := s.handler(t, haCall{key: key, params: []string{"action", "getNumber", "service", "tg", "country", "187"}})
		m := accessNumber.FindStringSubmatch(c.body)
		if m == nil || c.header.Get("X-Price") != "0.70" {
			t.Fatalf("getNumber: %q, X-Price %q", c.body, c.header.Get("X-Price"))
		}
		id, number := m[1], "+"+m[2]
		if b := balance(); b != start-70 {
			t.Fatalf("balance %d, want %d", b, start-70)
		}
		// The same verification on the JSON API: its ref gives the activation id.
		var v map[string]any
		for _, x := range s.list(t, "/v1/verifications", s.APIKey) {
			if e164(t, str(t, x["number"])) == number {
				v = x
			}
		}
		if v == nil || v["service"] != "telegram" || activationIDOfRef(t, str(t, v["ref"])) != id {
			t.Fatalf("the JSON API's verification %v for activation %s", v, id)
		}
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "1"), "ACCESS_READY")
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_WAIT_CODE")
		wantWord(t, ha(t, "action", "getFullSms", "id", id), "STATUS_WAIT_CODE")
		wantWord(t, ha(t, "action", "getStatusV2", "id", id), `{"verificationType":0,"sms":null,"call":null}`)
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "6"), "BAD_STATUS") // no code yet
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "3"), "BAD_STATUS") // no code yet: no other

		s.sms(t, number, "Telegram", "Telegram code: 482910. Do not give this code to anyone")
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_OK:482910")
		wantWord(t, ha(t, "action", "getFullSms", "id", id), "FULL_SMS:482910")
		st := decodeJSON(t, ha(t, "action", "getStatusV2", "id", id))
		sms, _ := st["sms"].(map[string]any)
		if num(t, st["verificationType"]) != 0 || st["call"] != nil || sms == nil || sms["code"] != "482910" || sms["text"] != "482910" ||
			!regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(str(t, sms["dateTime"])) {
			t.Fatalf("getStatusV2 after the code: %v", st)
		}
		// Never the body, anywhere.
		for _, a := range []string{"getStatus", "getStatusV2", "getFullSms", "getActiveActivations"} {
			if got := ha(t, "action", a, "id", id); strings.Contains(got, "Do not give") || strings.Contains(got, "Telegram code") {
				t.Fatalf("%s hands out the message body: %s", a, got)
			}
		}
		// The same event as any purchase's.
		var ev struct {
			Data map[string]any `json:"data"`
		}
		h := rc.wait(t, "sms.received", str(t, v["id"]))
		if err := json.Unmarshal(h.Body, &ev); err != nil || ev.Data["code"] != "482910" || ev.Data["ref"] != v["ref"] {
			t.Fatalf("webhook %s", h.Body)
		}
		// Received: a cancel is refused and moves nothing; complete acknowledges.
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "BAD_STATUS")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "-1"), "BAD_STATUS")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "6"), "ACCESS_ACTIVATION")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "6"), "ACCESS_ACTIVATION")
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_OK:482910")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "1"), "ACCESS_READY") // a code faster than the tool's "ready"
		for _, bad := range []string{"2", "7", "x", ""} {
			wantWord(t, ha(t, "action", "setStatus", "id", id, "status", bad), "BAD_STATUS")
		}
		if b := balance(); b != start-70 {
			t.Fatalf("balance %d, want %d (charged once)", b, start-70)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 1 || k[0] != "purchase" {
			t.Fatalf("ledger %v", k)
		}
		// The code stays listed as active while its window runs.
		act := decodeJSON(t, ha(t, "action", "getActiveActivations"))
		found := false
		for _, x := range act["activeActivations"].([]any) {
			a := x.(map[string]any)
			if a["activationId"] == id {
				found = true
				if a["serviceCode"] != "tg" || a["phoneNumber"] != number[1:] || a["activationCost"] != "0.70" || a["activationStatus"] != "2" ||
					a["smsCode"] != "482910" || a["smsText"] != "482910" || a["countryCode"] != "187" || a["canGetAnotherSms"] != "1" {
					t.Fatalf("active activation %v", a)
				}
			}
		}
		if act["status"] != "success" || !found {
			t.Fatalf("getActiveActivations: %v", act)
		}

		// Another code on the same number (setStatus 3): free, and the last
		// code stays readable while the next is awaited.
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "3"), "ACCESS_RETRY_GET")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "3"), "ACCESS_RETRY_GET") // again while waiting: nothing moves
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_WAIT_RETRY:482910")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "BAD_STATUS") // charged for its code: no cancel
		for _, x := range decodeJSON(t, ha(t, "action", "getActiveActivations"))["activeActivations"].([]any) {
			if a := x.(map[string]any); a["activationId"] == id && (a["activationStatus"] != "3" || a["smsCode"] != "482910") {
				t.Fatalf("active activation waiting for another code %v", a)
			}
		}
		s.sms(t, number, "Telegram", "Telegram code: 517733. Do not give this code to anyone")
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_OK:517733")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "6"), "ACCESS_ACTIVATION")
		if b := balance(); b != start-70 {
			t.Fatalf("balance %d after another code, want %d (charged once)", b, start-70)
		}
		if k := kinds(s.ledgerFor(t, s.DemoSession, str(t, v["id"]))); len(k) != 1 || k[0] != "purchase" {
			t.Fatalf("ledger after another code %v", k)
		}
	})

	t.Run("NumberCancelRefund", func(t *testing.T) {
		newKey(t)
		start := balance()
		n := decodeJSON(t, ha(t, "action", "getNumberV2", "service", "wa"))
		id := fmt.Sprint(int64(n["activationId"].(float64)))
		if len(id) != 12 || !regexp.MustCompile(`^1[2-9]\d{9}$`).MatchString(str(t, n["phoneNumber"])) || n["activationCost"] != 1.4 ||
			n["countryCode"] != "187" || n["canGetAnotherSms"] != true || n["activationOperator"] != "any" {
			t.Fatalf("getNumberV2: %v", n)
		}
		t0, err1 := time.Parse(time.DateTime, str(t, n["activationTime"]))
		t1, err2 := time.Parse(time.DateTime, str(t, n["activationEndTime"]))
		if err1 != nil || err2 != nil || t1.Sub(t0) != fetchsms.VerificationWindow {
			t.Fatalf("times %v %v", n["activationTime"], n["activationEndTime"])
		}
		if b := balance(); b != start-140 {
			t.Fatalf("balance %d after getNumberV2", b)
		}
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		if b := balance(); b != start {
			t.Fatalf("balance %d after the cancel, want %d (refunded)", b, start)
		}
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_CANCEL")
		wantWord(t, ha(t, "action", "getStatusV2", "id", id), "STATUS_CANCEL")
		wantWord(t, ha(t, "action", "getFullSms", "id", id), "STATUS_CANCEL")
		// Again: the same answer, and no second refund.
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		for _, st := range []string{"1", "6"} {
			wantWord(t, ha(t, "action", "setStatus", "id", id, "status", st), "BAD_STATUS")
		}
		if b := balance(); b != start {
			t.Fatalf("balance %d after a second cancel", b)
		}
		// The older -1 cancels too.
		id2, _ := s.buyHA(t, key, "service", "tg")
		wantWord(t, ha(t, "action", "setStatus", "id", id2, "status", "-1"), "ACCESS_CANCEL")
		if b := balance(); b != start {
			t.Fatalf("balance %d after a -1 cancel", b)
		}
	})

	t.Run("GetNumberWords", func(t *testing.T) {
		newKey(t)
		start := balance()
		for _, c := range []struct {
			word   string
			params []string
		}{
			{"BAD_SERVICE", []string{"service", "zz"}},
			{"BAD_SERVICE", []string{"service", ""}},
			{"BAD_SERVICE", []string{"country", "187"}},
			{"BAD_SERVICE", []string{"service", "TG"}},
			{"NO_NUMBERS", []string{"service", "tg", "country", "0"}},
			{"NO_NUMBERS", []string{"service", "tg", "country", "usa"}},
			{"NO_NUMBERS", []string{"service", "tg", "operator", "tmobile"}},
			{"NO_NUMBERS", []string{"service", "tg", "carriers", "vz"}},
			{"NO_NUMBERS", []string{"service", "tg", "number", "13325550100"}},
			{"NO_NUMBERS", []string{"service", "tg", "ltr", "1"}},
			{"NO_NUMBERS", []string{"service", "tg", "forward", "1"}},
			{"NO_NUMBERS", []string{"service", "tg", "activationType", "1"}},
			{"NO_NUMBERS", []string{"service", "tg", "areas", "201"}},         // no number there
			{"NO_NUMBERS", []string{"service", "tg", "areas", "201,999x"}},    // not an area code
			{"NO_NUMBERS", []string{"service", "tg", "areas", "201,202,203"}}, // none there either
			{"MAX_PRICE_EXCEEDED", []string{"service", "tg", "max_price", "0.69"}},
			{"MAX_PRICE_EXCEEDED", []string{"service", "tg", "maxPrice", "0.699"}},
			{"MAX_PRICE_EXCEEDED", []string{"service", "tg", "max_price", "0.79", "areas", "212"}},
			{"WRONG_MAX_PRICE", []string{"service", "tg", "max_price", "abc"}},
			{"WRONG_MAX_PRICE", []string{"service", "tg", "maxPrice", "-1"}},
			{"WRONG_MAX_PRICE", []string{"service", "tg", "max_price", "1e3"}},
		} {
			wantWord(t, ha(t, append([]string{"action", "getNumber"}, c.params...)...), c.word)
			if strings.HasPrefix(c.word, "BAD_") || c.word == "NO_NUMBERS" {
				wantWord(t, ha(t, append([]string{"action", "getNumberV2"}, c.params...)...), c.word)
			}
		}
		if b := balance(); b != start {
			t.Fatalf("refused purchases moved the balance: %d → %d", start, b)
		}
		// At the maximum (inclusive), in the first listed area code with a number,
		// any operator.
		id, number := s.buyHA(t, key, "service", "tg", "max_price", "0.80", "areas", "201, 212,213", "operator", "any", "country", "187")
		if !strings.HasPrefix(number, "+1212") || balance() != start-80 {
			t.Fatalf("area-code purchase: %s, balance %d", number, balance())
		}
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		id, _ = s.buyHA(t, key, "service", "tg", "maxPrice", "0.7")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")

		// A disabled service is unknown; so is one without a code.
		svc := s.call(t, http.MethodPost, "/v1/admin/services", s.AdminSession, map[string]any{"slug": "ha-chat", "name": "HA Chat", "price_cents": 30, "activation_code": "hac"}, http.StatusCreated)
		path := "/v1/admin/services/" + fmt.Sprint(num(t, svc["id"]))
		id, _ = s.buyHA(t, key, "service", "hac")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		s.call(t, http.MethodPatch, path, s.AdminSession, map[string]any{"enabled": false}, http.StatusOK)
		wantWord(t, ha(t, "action", "getNumber", "service", "hac"), "BAD_SERVICE")
		wantWord(t, ha(t, "action", "getNumber", "service", "pinterest"), "BAD_SERVICE")

		// An empty wallet.
		_, poor := s.customerWithKey(t, 0)
		wantWord(t, s.haKey(t, poor, "action", "getNumber", "service", "tg"), "NO_BALANCE")
		wantWord(t, s.haKey(t, poor, "action", "getBalance"), "ACCESS_BALANCE:0.00")
		if b := balance(); b != start {
			t.Fatalf("balance %d, want %d", b, start)
		}
	})

	t.Run("NoActivation", func(t *testing.T) {
		newKey(t)
		otherSession, other := s.customerWithKey(t, 500)
		theirs, _ := s.buyHA(t, other, "service", "tg")
		for _, id := range []string{theirs, "", "abc", "123", "100000000000", "999999999999", "1000000000000", theirs + "0", " " + theirs[:11]} {
			for _, a := range []string{"getStatus", "getStatusV2", "getFullSms"} {
				wantWord(t, ha(t, "action", a, "id", id), "NO_ACTIVATION")
			}
			for _, st := range []string{"1", "6", "8"} {
				wantWord(t, ha(t, "action", "setStatus", "id", id, "status", st), "NO_ACTIVATION")
			}
		}
		// Untouched: still theirs, waiting, paid.
		wantWord(t, s.haKey(t, other, "action", "getStatus", "id", theirs), "STATUS_WAIT_CODE")
		if b := s.balance(t, otherSession); b != 430 {
			t.Fatalf("their balance %d, want 430", b)
		}
		wantWord(t, s.haKey(t, other, "action", "setStatus", "id", theirs, "status", "8"), "ACCESS_CANCEL")
	})

	t.Run("Catalog", func(t *testing.T) {
		newKey(t)
		prices := decodeJSON(t, ha(t, "action", "getPrices"))
		us, _ := prices["187"].(map[string]any)
		tg, _ := us["tg"].(map[string]any)
		if len(prices) != 1 || tg == nil || tg["cost"] != 0.7 || num(t, tg["count"]) < 100 || tg["name"] != "Telegram" {
			t.Fatalf("getPrices: tg %v", tg)
		}
		if us["pinterest"] != nil || len(us) < 60 {
			t.Fatalf("getPrices lists %d services (pinterest %v)", len(us), us["pinterest"])
		}
		wantWord(t, ha(t, "action", "getPrices", "service", "wa", "country", "187"), `{"187":{"wa":{"cost":1.40,"count":`+fmt.Sprint(num(t, us["wa"].(map[string]any)["count"]))+`,"name":"WhatsApp"}}}`)
		wantWord(t, ha(t, "action", "getPrices", "country", "0"), `{}`)
		wantWord(t, ha(t, "action", "getPrices", "service", "zz"), "BAD_SERVICE")
		byService := decodeJSON(t, ha(t, "action", "getPricesVerification", "service", "tg"))
		if v := byService["tg"].(map[string]any)["187"].(map[string]any); len(byService) != 1 || v["cost"] != 0.7 {
			t.Fatalf("getPricesVerification: %v", byService)
		}
		status := decodeJSON(t, ha(t, "action", "getNumbersStatus", "country", "187"))
		if n, err := strconv.Atoi(str(t, status["tg_0"])); err != nil || n < 100 || len(status) < 60 {
			t.Fatalf("getNumbersStatus: tg_0 %v, %d services", status["tg_0"], len(status))
		}
		wantWord(t, ha(t, "action", "getNumbersStatus", "country", "12"), `{}`)
		list := decodeJSON(t, ha(t, "action", "getServicesList"))
		found := false
		for _, x := range list["services"].([]any) {
			found = found || x.(map[string]any)["code"] == "tg" && x.(map[string]any)["name"] == "Telegram"
		}
		if list["status"] != "success" || !found {
			t.Fatalf("getServicesList: %v", list)
		}
		countries := decodeJSON(t, ha(t, "action", "getCountries"))
		if us := countries["187"].(map[string]any); len(countries) != 1 || us["eng"] != "USA" || num(t, us["id"]) != 187 || num(t, us["visible"]) != 1 || num(t, us["retry"]) != 1 {
			t.Fatalf("getCountries: %v", countries)
		}
	})

	t.Run("AdminEditsTheMapping", func(t *testing.T) {
		newKey(t)
		tg := "/v1/admin/services/4"
		s.call(t, http.MethodPatch, tg, s.AdminSession, map[string]any{"activation_code": "tgx"}, http.StatusOK)
		wantWord(t, ha(t, "action", "getNumber", "service", "tg"), "BAD_SERVICE")
		id, _ := s.buyHA(t, key, "service", "tgx")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		s.call(t, http.MethodPatch, tg, s.AdminSession, map[string]any{"activation_code": "tg"}, http.StatusOK)
		id, _ = s.buyHA(t, key, "service", "tg")
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
	})

	t.Run("ActiveActivations", func(t *testing.T) {
		newKey(t)
		_, fresh := s.customerWithKey(t, 100)
		wantWord(t, s.haKey(t, fresh, "action", "getActiveActivations"), `{"status":"error","error":"NO_ACTIVATIONS"}`)
		id, number := s.buyHA(t, fresh, "service", "tg")
		act := decodeJSON(t, s.haKey(t, fresh, "action", "getActiveActivations"))
		list := act["activeActivations"].([]any)
		a := list[0].(map[string]any)
		if len(list) != 1 || a["activationId"] != id || a["phoneNumber"] != number[1:] || a["activationStatus"] != "4" || a["smsCode"] != nil || a["serviceCode"] != "tg" {
			t.Fatalf("getActiveActivations: %v", act)
		}
		wantWord(t, s.haKey(t, fresh, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		wantWord(t, s.haKey(t, fresh, "action", "getActiveActivations"), `{"status":"error","error":"NO_ACTIVATIONS"}`)
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		newKey(t)
		start := balance()
		idem := http.Header{"Idempotency-Key": {"ha-" + randomHex(8)}}
		first := s.handler(t, haCall{key: key, params: []string{"action", "getNumber", "service", "tg"}, header: idem})
		again := s.handler(t, haCall{key: key, params: []string{"action", "getNumber", "service", "tg"}, header: idem, form: true, method: http.MethodPost})
		if !accessNumber.MatchString(first.body) || again.body != first.body || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %q then %q (%v)", first.body, again.body, again.header)
		}
		if b := balance(); b != start-70 {
			t.Fatalf("balance %d after a retried purchase, want %d (once)", b, start-70)
		}
		// The same key for another call is refused, as on the JSON API.
		wantWord(t, s.handler(t, haCall{key: key, params: []string{"action", "getNumber", "service", "wa"}, header: idem}).body, "BAD_ACTION")
		id := accessNumber.FindStringSubmatch(first.body)[1]
		cancelKey := http.Header{"Idempotency-Key": {"ha-" + randomHex(8)}}
		for range 2 {
			wantWord(t, s.handler(t, haCall{key: key, params: []string{"action", "setStatus", "id", id, "status", "8"}, header: cancelKey}).body, "ACCESS_CANCEL")
		}
		if b := balance(); b != start {
			t.Fatalf("balance %d after the cancel, want %d", b, start)
		}
		// Another code (setStatus 3) under a key: the replay answers the same.
		second := accessNumber.FindStringSubmatch(s.handler(t, haCall{key: key, params: []string{"action", "getNumber", "service", "tg"}}).body)
		if second == nil {
			t.Fatal("getNumber")
		}
		n2 := "+" + second[2]
		s.sms(t, n2, "Telegram", "Telegram code: 313131")
		retryKey := http.Header{"Idempotency-Key": {"ha-" + randomHex(8)}}
		r1 := s.handler(t, haCall{key: key, params: []string{"action", "setStatus", "id", second[1], "status", "3"}, header: retryKey})
		r2 := s.handler(t, haCall{key: key, params: []string{"action", "setStatus", "id", second[1], "status", "3"}, header: retryKey})
		if r1.body != "ACCESS_RETRY_GET" || r2.body != r1.body || r2.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("setStatus 3 and its replay: %q then %q (%v)", r1.body, r2.body, r2.header)
		}
		if b := balance(); b != start-70 {
			t.Fatalf("balance %d after another code, want %d", b, start-70)
		}
	})

	t.Run("RateLimit", func(t *testing.T) {
		newKey(t)
		_, limited := s.customerWithKey(t, 0)
		var mu sync.Mutex
		var wg sync.WaitGroup
		counts := map[string]int{}
		retryAfter := ""
		// 400 calls on 8 connections: even a slow run cannot refill 300 tokens
		// before they end.
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					st, h, raw, err := s.send(http.MethodGet, handlerPath+"?action=getBalance&api_key="+url.QueryEscape(limited), "", nil)
					mu.Lock()
					if err != nil || st != http.StatusOK {
						t.Errorf("HTTP %d %v", st, err)
					}
					counts[string(raw)]++
					if string(raw) == "RATE_LIMITED" {
						retryAfter = h.Get("Retry-After")
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if counts["ACCESS_BALANCE:0.00"] < 100 || counts["RATE_LIMITED"] == 0 || counts["ACCESS_BALANCE:0.00"]+counts["RATE_LIMITED"] != 400 {
			t.Fatalf("answers %v", counts)
		}
		if secs, err := strconv.Atoi(retryAfter); err != nil || secs < 1 {
			t.Fatalf("Retry-After %q", retryAfter)
		}
		// The key's own bucket: the demo key still answers.
		wantWord(t, ha(t, "action", "getBalance")[:15], "ACCESS_BALANCE:")
	})

	// Last: the clock jump ends every waiting verification.
	t.Run("Expiry", func(t *testing.T) {
		newKey(t)
		start := balance()
		id, _ := s.buyHA(t, key, "service", "tg")
		s.advance(t, int64(fetchsms.VerificationWindow/time.Second)+1)
		wantWord(t, ha(t, "action", "getStatus", "id", id), "STATUS_CANCEL")
		if b := balance(); b != start {
			t.Fatalf("balance %d after the expiry, want %d (refunded)", b, start)
		}
		wantWord(t, ha(t, "action", "setStatus", "id", id, "status", "8"), "ACCESS_CANCEL")
		wantWord(t, ha(t, "action", "getActiveActivations"), `{"status":"error","error":"NO_ACTIVATIONS"}`)
		if b := balance(); b != start {
			t.Fatalf("balance %d, want %d", b, start)
		}
	})
}
