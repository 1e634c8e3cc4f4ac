package main

import (
	"fmt"
	"net/http"
	"testing"
)

// TestAdminEditsDetectionRules: an admin adds a service with its detection rules and
// edits them; purchases and code release follow at once.
func TestAdminEditsDetectionRules(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	svc := s.call(t, http.MethodPost, "/v1/admin/services", s.AdminSession, map[string]any{
		"slug": "acme-chat", "name": "Acme Chat", "price_cents": 45, "senders": []string{"AcmeChat"}, "keywords": []string{"acme chat"},
	}, http.StatusCreated)
	id := num(t, svc["id"])
	s.expect(t, http.MethodPost, "/v1/admin/services", s.DemoSession, map[string]any{"slug": "x", "name": "x", "price_cents": 1}, http.StatusForbidden)
	s.expect(t, http.MethodPost, "/v1/admin/services", s.AdminSession, map[string]any{"slug": "acme-chat", "name": "x", "price_cents": 1}, http.StatusConflict)

	// The new service is in the catalog and its code is released.
	found := false
	for _, c := range s.list(t, "/v1/services", "") {
		found = found || c["slug"] == "acme-chat"
	}
	if !found {
		t.Fatal("the new service is not in the catalog")
	}
	v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "acme-chat"}, http.StatusCreated)
	if num(t, v["cost_cents"]) != 45 {
		t.Fatalf("cost %v", v["cost_cents"])
	}
	s.sms(t, str(t, v["number"]), "12345", "Your Acme Chat code is 771204")
	got := s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK)
	if got["code"] != "771204" {
		t.Fatalf("code not released: %v", got)
	}

	// New keyword: a message that names the service that way now counts.
	s.call(t, http.MethodPatch, "/v1/admin/services/"+fmt.Sprint(id), s.AdminSession, map[string]any{"keywords": []string{"acme chat", "acmeapp"}, "price_cents": 50}, http.StatusOK)
	v = s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": id}, http.StatusCreated)
	if num(t, v["cost_cents"]) != 50 {
		t.Fatalf("new price not charged: %v", v["cost_cents"])
	}
	s.sms(t, str(t, v["number"]), "12345", "AcmeApp verification: 558812")
	got = s.call(t, http.MethodGet, "/v1/verifications/"+str(t, v["id"]), s.APIKey, nil, http.StatusOK)
	if got["code"] != "558812" {
		t.Fatalf("edited rule not used: %v", got)
	}

	// Disabled: gone from the catalog, cannot be bought; the admin list still has it.
	s.call(t, http.MethodPatch, "/v1/admin/services/"+fmt.Sprint(id), s.AdminSession, map[string]any{"enabled": false}, http.StatusOK)
	s.expect(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "acme-chat"}, http.StatusNotFound)
	s.expect(t, http.MethodPatch, "/v1/admin/services/99999", s.AdminSession, map[string]any{"enabled": true}, http.StatusNotFound)
	s.expect(t, http.MethodPatch, "/v1/admin/services/"+fmt.Sprint(id), s.AdminSession, map[string]any{"price_cents": -5}, http.StatusUnprocessableEntity)
	all := s.list(t, "/v1/admin/services", s.AdminSession)
	if len(all) < 100 {
		t.Fatalf("admin list has %d services", len(all))
	}
	for _, x := range all {
		if x["slug"] == "telegram" && x["activation_code"] != "tg" || x["slug"] == "acme-chat" && x["activation_code"] != nil {
			t.Errorf("activation codes in the admin list: %v", x)
		}
	}
}

// TestAdminEditsActivationCodes: an admin gives a service its SMS-Activate code,
// changes and removes it; a code names one service; bad codes are refused.
func TestAdminEditsActivationCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	svc := s.call(t, http.MethodPost, "/v1/admin/services", s.AdminSession, map[string]any{
		"slug": "acme-chat", "name": "Acme Chat", "price_cents": 45, "activation_code": "acm",
	}, http.StatusCreated)
	path := "/v1/admin/services/" + fmt.Sprint(num(t, svc["id"]))
	if svc["activation_code"] != "acm" {
		t.Fatalf("created %v", svc)
	}
	s.expect(t, http.MethodPost, "/v1/admin/services", s.AdminSession, map[string]any{"slug": "acme-two", "name": "Two", "price_cents": 1, "activation_code": "acm"}, http.StatusConflict)
	s.expect(t, http.MethodPatch, path, s.AdminSession, map[string]any{"activation_code": "tg"}, http.StatusConflict)
	s.expect(t, http.MethodPatch, path, s.AdminSession, map[string]any{"activation_code": "Not Valid"}, http.StatusUnprocessableEntity)
	s.expect(t, http.MethodPatch, path, s.AdminSession, map[string]any{"activation_code": 7}, http.StatusBadRequest)
	s.expect(t, http.MethodPatch, "/v1/admin/services/1", s.AdminSession, map[string]any{"activation_code": "ul"}, http.StatusUnprocessableEntity)
	if got := s.call(t, http.MethodPatch, path, s.AdminSession, map[string]any{"activation_code": "acx"}, http.StatusOK); got["activation_code"] != "acx" {
		t.Fatalf("changed: %v", got)
	}
	// Another field's edit keeps the code; "" removes it.
	if got := s.call(t, http.MethodPatch, path, s.AdminSession, map[string]any{"price_cents": 50}, http.StatusOK); got["activation_code"] != "acx" {
		t.Fatalf("after a price edit: %v", got)
	}
	if got := s.call(t, http.MethodPatch, path, s.AdminSession, map[string]any{"activation_code": ""}, http.StatusOK); got["activation_code"] != nil {
		t.Fatalf("removed: %v", got)
	}
}
