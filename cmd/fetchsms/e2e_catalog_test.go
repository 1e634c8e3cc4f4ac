package main

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQuickstart walks the seed's quickstart against a default sandbox (simulator
// on): list services, buy a Telegram verification with the demo API key, poll it
// until the simulated SIM bank delivers the code.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testQuickstart)
}

func testQuickstart(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox")

	services := decodeServices(t, s)
	found := false
	for _, svc := range services {
		if num(t, svc["id"]) == 4 && svc["slug"] == "telegram" {
			found = true
		}
	}
	if !found {
		t.Fatalf("GET /v1/services has no id 4 telegram")
	}

	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
	if v["status"] != "waiting" || v["code"] != nil || num(t, v["cost_cents"]) != 70 {
		t.Fatalf("new verification = %v, want status waiting, code null, cost_cents 70", v)
	}
	if v["service"] != "telegram" || v["service_name"] != "Telegram" {
		t.Errorf("service = %v / %v, want telegram / Telegram", v["service"], v["service_name"])
	}
	if !displayNumber.MatchString(str(t, v["number"])) {
		t.Errorf("number %q, want (ddd) ddd-dddd", v["number"])
	}
	if !strings.HasPrefix(str(t, v["ref"]), "v_") {
		t.Errorf("ref %q, want v_…", v["ref"])
	}
	created, expires := parseTS(t, v["created_at"]), parseTS(t, v["expires_at"])
	if d := expires.Sub(created); d != 15*time.Minute {
		t.Errorf("expires_at - created_at = %v, want 15m", d)
	}

	id := str(t, v["id"])
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.call(t, http.MethodGet, "/v1/verifications/"+id, s.APIKey, nil, http.StatusOK)
		if got["code"] != nil {
			if got["status"] != "received" {
				t.Fatalf("code arrived but status is %v", got["status"])
			}
			if !regexp.MustCompile(`^\d{6}$`).MatchString(str(t, got["code"])) {
				t.Errorf("code %q, want 6 digits", got["code"])
			}
			if _, ok := got["body"]; ok {
				t.Errorf("verification shows the message body: %v", got)
			}
			break
		}
		if got["status"] != "waiting" {
			t.Fatalf("status %v while polling, want waiting until the code arrives", got["status"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("no code within 10s: %v", got)
		}
		time.Sleep(250 * time.Millisecond)
	}

	t.Run("SlugAccepted", func(t *testing.T) {
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		if v["service"] != "telegram" || num(t, v["cost_cents"]) != 70 || v["status"] != "waiting" {
			t.Errorf("slug purchase = %v", v)
		}
	})
}

func decodeServices(t *testing.T, s *testServer) []map[string]any {
	t.Helper()
	return s.list(t, "/v1/services", "")
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	status, _, raw := s.do(t, http.MethodGet, "/v1/services", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/services: %d %s", status, raw)
	}
	services := decode[[]map[string]any](t, raw)

	t.Run("AtLeast50Services", func(t *testing.T) {
		if len(services) < 50 {
			t.Errorf("%d services, want at least 50", len(services))
		}
		ids := map[int64]bool{}
		for _, svc := range services {
			id := num(t, svc["id"])
			if ids[id] {
				t.Errorf("duplicate id %d", id)
			}
			ids[id] = true
			for _, k := range []string{"id", "slug", "name", "price_cents", "long_prices", "short_available", "long_available", "category", "aliases", "reliability"} {
				if _, ok := svc[k]; !ok {
					t.Errorf("service %d has no %q", id, k)
				}
			}
			if len(svc) != 10 {
				t.Errorf("service %d has fields %v, want exactly the ten documented ones", id, svc)
			}
		}
	})

	byID := map[int64]map[string]any{}
	for _, svc := range services {
		byID[num(t, svc["id"])] = svc
	}
	t.Run("StableIDs", func(t *testing.T) {
		for _, want := range []struct {
			id    int64
			slug  string
			price int64
		}{{1, "unlimited-services", 300}, {2, "whatsapp", 140}, {4, "telegram", 70}} {
			svc := byID[want.id]
			if svc == nil {
				t.Fatalf("no service %d", want.id)
			}
			if svc["slug"] != want.slug || num(t, svc["price_cents"]) != want.price {
				t.Errorf("service %d = %v, want %s at %d", want.id, svc, want.slug, want.price)
			}
		}
	})
	t.Run("LongPricesOnlyOnUnlimited", func(t *testing.T) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(compact.String(), `"id":1,"slug":"unlimited-services","name":"Unlimited Services","price_cents":300,"long_prices":{"1":300,"7":600,"30":1200,"90":2500,"365":9000}`) {
			t.Errorf("unlimited-services long_prices not {\"1\":300,\"7\":600,\"30\":1200,\"90\":2500,\"365\":9000} in that order: %s", compact.String()[:min(400, compact.Len())])
		}
		for id, svc := range byID {
			lp, ok := svc["long_prices"].(map[string]any)
			if !ok {
				t.Errorf("service %d long_prices = %v, want an object", id, svc["long_prices"])
				continue
			}
			if id != 1 && len(lp) != 0 {
				t.Errorf("service %d long_prices = %v, want {}", id, lp)
			}
		}
	})
	t.Run("Stock", func(t *testing.T) {
		if n := num(t, byID[4]["short_available"]); n <= 0 {
			t.Errorf("telegram short_available = %d, want > 0 in the seeded sandbox", n)
		}
		if n := num(t, byID[1]["long_available"]); n <= 0 {
			t.Errorf("unlimited long_available = %d, want > 0", n)
		}
	})
	t.Run("StockTracksPurchases", func(t *testing.T) {
		stock := func(t *testing.T) (telegram, whatsapp, long int64) {
			t.Helper()
			for _, svc := range decodeServices(t, s) {
				switch num(t, svc["id"]) {
				case 4:
					telegram = num(t, svc["short_available"])
				case 2:
					whatsapp = num(t, svc["short_available"])
				case 1:
					long = num(t, svc["long_available"])
				}
			}
			return
		}
		tg0, wa0, long0 := stock(t)
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": 4}, http.StatusCreated)
		if tg, wa, long := stock(t); tg != tg0-1 || wa != wa0-1 || long != long0-1 {
			t.Errorf("while held: telegram %d→%d, whatsapp %d→%d, long %d→%d; want each one less", tg0, tg, wa0, wa, long0, long)
		}
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 135790")
		// Released: free again for WhatsApp, spent for Telegram, no longer pristine.
		if tg, wa, long := stock(t); tg != tg0-1 || wa != wa0 || long != long0-1 {
			t.Errorf("after the code: telegram %d→%d (want %d), whatsapp %d→%d (want %d), long %d→%d (want %d)",
				tg0, tg, tg0-1, wa0, wa, wa0, long0, long, long0-1)
		}
	})
}

// The seed's two quote examples, exactly as the document prints them.
const (
	seedQuoteShort = `{
  "service": "telegram",
  "mode": "short",
  "days": null,
  "base_daily_cents": 70,
  "discount_pct": 0,
  "per_day_cents": null,
  "surcharge_cents": 10,
  "total_cents": 80
}
`
	seedQuoteLong = `{
  "service": "unlimited-services",
  "mode": "long",
  "days": 30,
  "base_daily_cents": 300,
  "discount_pct": 87,
  "per_day_cents": 40,
  "surcharge_cents": 0,
  "total_cents": 1200
}
`
)

func TestQuote(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")

	t.Run("SeedExamplesByteForByte", func(t *testing.T) {
		for path, want := range map[string]string{
			"/v1/services/quote?service=4&mode=short&custom_area_code=true": seedQuoteShort,
			"/v1/services/quote?service=1&mode=long&days=30":                seedQuoteLong,
		} {
			status, hdr, raw := s.do(t, http.MethodGet, path, "", nil)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, raw)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: Content-Type %q", path, hdr.Get("Content-Type"))
			}
			if string(raw) != want {
				t.Errorf("GET %s:\n got %q\nwant %q", path, raw, want)
			}
		}
	})
	t.Run("SlugAccepted", func(t *testing.T) {
		q := s.call(t, http.MethodGet, "/v1/services/quote?service=telegram&mode=short", "", nil, http.StatusOK)
		if num(t, q["total_cents"]) != 70 || num(t, q["surcharge_cents"]) != 0 {
			t.Errorf("telegram short quote = %v, want total 70", q)
		}
	})
	prices := map[int]int64{1: 300, 7: 600, 30: 1200, 90: 2500, 365: 9000}
	for _, days := range []int{1, 7, 30, 90, 365} {
		t.Run("Term"+strconv.Itoa(days), func(t *testing.T) {
			q := s.call(t, http.MethodGet, "/v1/services/quote?service=1&mode=long&days="+strconv.Itoa(days), "", nil, http.StatusOK)
			total := prices[days]
			wantPerDay := int64(math.Round(float64(total) / float64(days)))
			wantDiscount := int64(math.Round(100 * (1 - float64(total)/float64(300*days))))
			if q["service"] != "unlimited-services" || q["mode"] != "long" || num(t, q["days"]) != int64(days) ||
				num(t, q["base_daily_cents"]) != 300 || num(t, q["total_cents"]) != total || num(t, q["surcharge_cents"]) != 0 ||
				num(t, q["per_day_cents"]) != wantPerDay || num(t, q["discount_pct"]) != wantDiscount {
				t.Errorf("quote %d days = %v, want total %d per_day %d discount %d", days, q, total, wantPerDay, wantDiscount)
			}
			sq := s.call(t, http.MethodGet, "/v1/services/quote?service=1&mode=long&custom_area_code=true&days="+strconv.Itoa(days), "", nil, http.StatusOK)
			if num(t, sq["surcharge_cents"]) != 10 || num(t, sq["total_cents"]) != total+10 {
				t.Errorf("quote %d days with area code = %v, want surcharge 10 total %d", days, sq, total+10)
			}
		})
	}
	t.Run("UnknownService", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/quote?service=999&mode=short", "", nil, http.StatusNotFound)
		s.expect(t, http.MethodGet, "/v1/services/quote?service=no-such-thing&mode=short", "", nil, http.StatusNotFound)
	})
	t.Run("UnsupportedDays", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/quote?service=1&mode=long&days=45", "", nil, http.StatusUnprocessableEntity)
	})
	t.Run("MissingMode", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/quote?service=4", "", nil, http.StatusBadRequest)
	})
	t.Run("BogusMode", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/quote?service=4&mode=bogus", "", nil, http.StatusUnprocessableEntity)
	})
}

func TestAreaCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	three := regexp.MustCompile(`^[2-9]\d\d$`)
	for _, path := range []string{
		"/v1/services/area-codes?mode=short&service=2",
		"/v1/services/area-codes?mode=long",
		"/v1/services/area-codes",
	} {
		t.Run("List "+path, func(t *testing.T) {
			status, _, raw := s.do(t, http.MethodGet, path, "", nil)
			if status != http.StatusOK {
				t.Fatalf("%d %s", status, raw)
			}
			codes := decode[[]string](t, raw)
			if len(codes) == 0 {
				t.Fatalf("no area codes in the seeded sandbox")
			}
			for _, c := range codes {
				if !three.MatchString(c) {
					t.Errorf("area code %q is not 3 digits", c)
				}
			}
			if !contains(codes, "332") {
				t.Errorf("area codes %v lack 332 of the sandbox pool", codes)
			}
		})
	}
	t.Run("BogusMode", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/area-codes?mode=bogus", "", nil, http.StatusUnprocessableEntity)
	})
	t.Run("UnknownService", func(t *testing.T) {
		s.expect(t, http.MethodGet, "/v1/services/area-codes?service=999", "", nil, http.StatusNotFound)
	})
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestSimulatorAnswersEveryService buys one verification of every short-term
// service in a default sandbox: the simulated SIM bank's realistic SMS must come
// through the real inbound path and release the code for each of them, so the
// quickstart works whatever service a newcomer picks.
func TestSimulatorAnswersEveryService(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox")
	sess, uid := s.signup(t)
	s.fund(t, uid, 100_000)
	// The sandbox pool holds 300 numbers and a verification holds one until its
	// code comes, so the catalog's services are bought 100 at a time.
	var all []map[string]any
	for _, svc := range decodeServices(t, s) {
		if num(t, svc["id"]) != 1 {
			all = append(all, svc)
		}
	}
	var missing []string
	for len(all) > 0 {
		batch := all[:min(100, len(all))]
		all = all[len(batch):]
		pending := map[string]string{} // verification id → slug
		for _, svc := range batch {
			v := s.call(t, http.MethodPost, "/v1/verifications", sess, map[string]any{"service": num(t, svc["id"])}, http.StatusCreated)
			pending[str(t, v["id"])] = str(t, svc["slug"])
		}
		deadline := time.Now().Add(12 * time.Second)
		for len(pending) > 0 && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			for id := range pending {
				v := s.call(t, http.MethodGet, "/v1/verifications/"+id, sess, nil, http.StatusOK)
				if v["status"] == "received" && v["code"] != nil {
					delete(pending, id)
				}
			}
		}
		for _, slug := range pending {
			missing = append(missing, slug)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no code released within 12s for %d services: %v", len(missing), missing)
	}
}
