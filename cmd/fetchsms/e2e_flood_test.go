package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestInboundFlood storms the inbound route far above what the server takes at
// once (its gate is made small: 2 handled, 4 waiting): 300 distinct SMS for a
// rented number, each posted 4 times at once by 150 concurrent senders, as a
// gateway retrying in a panic would. The server must answer every request 202
// or 503 `unavailable` with Retry-After (nothing else: no 500, no hang), store
// exactly the messages it accepted, each once however often it was accepted,
// and keep answering a customer meanwhile. Then the refused messages are sent
// again, as a gateway does after Retry-After, until each is accepted: the rental
// then holds all 300, each once. Nothing is asserted on timing.
func TestInboundFlood(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--inbound-concurrency", "2", "--inbound-queue", "4")
		gw := s.call(t, http.MethodPost, "/v1/admin/gateways", s.AdminSession, map[string]any{"name": "flooding bank"}, http.StatusCreated)
		gwToken := str(t, gw["token"])
		s.call(t, http.MethodPost, "/v1/admin/numbers", s.AdminSession,
			map[string]any{"gateway_id": str(t, gw["id"]), "numbers": []string{"+17075550190"}}, http.StatusCreated)
		rental := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7, "area_code": "707"}, http.StatusCreated)
		rid, to := str(t, rental["id"]), e164(t, str(t, rental["number"]))
		if to != "+17075550190" {
			t.Fatalf("rental got %s, want the flooding bank's number", to)
		}

		const messages, repeats, senders = 300, 4, 150
		post := func(i int) (int, http.Header, []byte, error) {
			return s.send(http.MethodPost, "/v1/inbound/sms", gwToken, map[string]any{
				"id": fmt.Sprintf("flood-%d", i), "to": to, "from": "+15550001111", "body": fmt.Sprintf("flood message %d", i)})
		}

		// A customer reads its balance and the catalog all through the flood.
		stop := make(chan struct{})
		var customer sync.WaitGroup
		var customerReqs, customerBad int
		var customerSlowest time.Duration
		customer.Add(1)
		go func() {
			defer customer.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond): // 40 requests a second: under the per-key limit
				}
				for _, p := range []string{"/v1/balance", "/v1/services"} {
					began := time.Now()
					status, _, _, err := s.send(http.MethodGet, p, s.APIKey, nil)
					customerReqs++
					customerSlowest = max(customerSlowest, time.Since(began))
					if err != nil || status != http.StatusOK {
						customerBad++
					}
				}
			}
		}()

		jobs := make(chan int)
		var mu sync.Mutex
		accepted := map[int]int{} // message → 202 answers
		statuses := map[int]int{}
		var badRefusal string
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					status, hdr, raw, err := post(i)
					mu.Lock()
					switch {
					case err != nil:
						statuses[-1]++
					case status == http.StatusAccepted:
						accepted[i]++
					case status == http.StatusServiceUnavailable:
						if badRefusal == "" && (hdr.Get("Retry-After") != "1" || errorCodeOf(raw) != "unavailable") {
							badRefusal = fmt.Sprintf("Retry-After %q: %s", hdr.Get("Retry-After"), raw)
						}
					}
					statuses[status]++
					mu.Unlock()
				}
			}()
		}
		for r := range repeats {
			_ = r
			for i := range messages {
				jobs <- i
			}
		}
		close(jobs)
		wg.Wait()
		close(stop)
		customer.Wait()

		t.Logf("%s: flood of %d requests answered %v; %d messages accepted; customer: %d requests, %d not 200, slowest %v",
			engine, messages*repeats, statuses, len(accepted), customerReqs, customerBad, customerSlowest)
		for st := range statuses {
			if st != http.StatusAccepted && st != http.StatusServiceUnavailable {
				t.Errorf("the flood was answered %d (%d times): only 202 and 503 are right", st, statuses[st])
			}
		}
		if statuses[http.StatusServiceUnavailable] == 0 {
			t.Errorf("no request was refused: the flood did not exceed the gate (2 + 4) with %d concurrent senders", senders)
		}
		if badRefusal != "" {
			t.Errorf("a refusal is not 503 unavailable with Retry-After: 1: %s", badRefusal)
		}
		if customerBad > 0 {
			t.Errorf("%d of the customer's %d requests during the flood were not answered 200", customerBad, customerReqs)
		}

		stored := func() map[string]int {
			t.Helper()
			got := map[string]int{}
			cursor := ""
			for {
				path := "/v1/rentals/" + rid + "/messages?limit=200"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				status, hdr, raw := s.do(t, http.MethodGet, path, s.APIKey, nil)
				if status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, status, raw)
				}
				for _, m := range decode[[]map[string]any](t, raw) {
					got[str(t, m["body"])]++
				}
				if cursor = hdr.Get("X-Next-Cursor"); cursor == "" {
					return got
				}
			}
		}
		got := stored()
		for body, n := range got {
			var i int
			if _, err := fmt.Sscanf(body, "flood message %d", &i); err != nil || n != 1 || accepted[i] == 0 {
				t.Errorf("stored %q %d times (accepted %d times): every stored message must be one that was accepted, once", body, n, accepted[i])
			}
		}
		for i := range accepted {
			if got[fmt.Sprintf("flood message %d", i)] != 1 {
				t.Errorf("message %d was accepted but is not stored", i)
			}
		}

		// The gateway sends again what was refused, after Retry-After.
		for i := range messages {
			if accepted[i] > 0 {
				continue
			}
			for attempt := 0; ; attempt++ {
				status, hdr, raw, err := post(i)
				if err == nil && status == http.StatusAccepted {
					break
				}
				if attempt == 30 || err == nil && status != http.StatusServiceUnavailable {
					t.Fatalf("message %d, sent again: %d %v %s", i, status, err, raw)
				}
				time.Sleep(time.Duration(max(1, atoiOr(hdr.Get("Retry-After"), 1))) * time.Second)
			}
		}
		got = stored()
		for i := range messages {
			if n := got[fmt.Sprintf("flood message %d", i)]; n != 1 {
				t.Errorf("after the retries, message %d is stored %d times, want once", i, n)
			}
		}
		if len(got) != messages {
			t.Errorf("the rental holds %d messages, want %d", len(got), messages)
		}
	})
}

func errorCodeOf(raw []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	json.Unmarshal(raw, &e)
	return e.Code
}

func atoiOr(s string, def int) int {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		return def
	}
	return n
}
