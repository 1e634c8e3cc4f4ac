package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServiceReliability: GET /v1/services carries each service's reliability
// figures from the sandbox's own traffic — null below 20 counted verifications,
// then the share that got a code (expiries count against, a cancel inside 2
// minutes does not) and the median seconds to the code — recomputed in the
// background (here every 100 ms) and shown on the catalog page (issue 26). On
// every engine.
func TestServiceReliability(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		s := startServerOn(t, engine, "--sandbox", "--simulator=false", "--no-ip-limits", "--reliability-every", "100ms")
		figures := func(slug string) any {
			t.Helper()
			for _, svc := range s.list(t, "/v1/services", s.APIKey) {
				if svc["slug"] == slug {
					r, ok := svc["reliability"]
					if !ok {
						t.Fatalf("%s has no reliability field: %v", slug, svc)
					}
					return r
				}
			}
			t.Fatalf("no %s in the catalog", slug)
			return nil
		}
		if r := figures("telegram"); r != nil {
			t.Fatalf("figures with no traffic: %v", r)
		}
		buy := func() map[string]any {
			return s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		}
		// 15 codes, each 7 s after its purchase (the sandbox clock).
		for i := 0; i < 15; i++ {
			v := buy()
			s.advance(t, 7)
			s.sms(t, str(t, v["number"]), "Telegram", fmt.Sprintf("Telegram code: %d", 300000+i))
		}
		// 3 cancelled at once: not counted.
		for i := 0; i < 3; i++ {
			s.call(t, http.MethodPost, "/v1/verifications/"+str(t, buy()["id"])+"/cancel", s.APIKey, nil, http.StatusOK)
		}
		// 5 that expire: failures. Reading each after the window ends it.
		var waiting []string
		for i := 0; i < 5; i++ {
			waiting = append(waiting, str(t, buy()["id"]))
		}
		s.advance(t, 16*60)
		for _, id := range waiting {
			if v := s.call(t, http.MethodGet, "/v1/verifications/"+id, s.APIKey, nil, http.StatusOK); v["status"] != "expired" {
				t.Fatalf("after the window: %v", v)
			}
		}
		// The background refresh picks them up; a generous deadline, no timing.
		want := map[string]any{"success_rate": 0.75, "median_seconds": float64(7), "sample": float64(20)}
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, _ := figures("telegram").(map[string]any)
			if fmt.Sprint(r) == fmt.Sprint(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("telegram figures %v, want %v", r, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r := figures("whatsapp"); r != nil {
			t.Fatalf("whatsapp, with no traffic, has figures %v", r)
		}
		_, html := s.page(t, "GET", "/dashboard/catalog?q=telegram", s.DemoSession, nil, nil)
		if !strings.Contains(html, "75% · 7 s") || !strings.Contains(html, "20 verifications in the last 7 days") {
			t.Fatalf("the catalog page does not show the figures:\n%s", html)
		}
	})
}
