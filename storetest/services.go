package storetest

import (
	"context"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testServices: admins add services and edit prices, state and detection rules;
// a disabled service cannot be bought and leaves the public catalog.
func testServices(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	s, err := f.db.CreateService(ctx, fetchsms.Service{Slug: "acme-chat", Name: "Acme Chat", PriceCents: 55, Enabled: true,
		Senders: []string{"AcmeChat"}, Keywords: []string{"acme chat"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID <= 4 || s.Slug != "acme-chat" || s.PriceCents != 55 || len(s.Senders) != 1 {
		t.Fatalf("created %+v", s)
	}
	if _, err := f.db.CreateService(ctx, fetchsms.Service{Slug: "acme-chat", Name: "Again", PriceCents: 1, Enabled: true}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("duplicate slug: %v", err)
	}
	if _, err := f.db.CreateService(ctx, fetchsms.Service{Slug: "Bad Slug", Name: "x", PriceCents: 1}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("bad slug: %v", err)
	}
	price := fetchsms.Cents(65)
	kw := []string{"acme chat", "acmechat"}
	got, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{PriceCents: &price, Keywords: &kw})
	if err != nil || got.PriceCents != 65 || len(got.Keywords) != 2 || got.Name != "Acme Chat" {
		t.Fatalf("update: %+v %v", got, err)
	}
	bad := fetchsms.Cents(-1)
	if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{PriceCents: &bad}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("negative price: %v", err)
	}
	if _, err := f.db.UpdateService(ctx, 99999, fetchsms.ServiceUpdate{PriceCents: &price}); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("unknown id: %v", err)
	}
	u := f.user(t, 1000)
	v, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "acme-chat"})
	if err != nil || v.CostCents != 65 {
		t.Fatalf("buy the new service: %+v %v", v, err)
	}
	off := false
	if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "acme-chat"}); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("buy a disabled service: %v", err)
	}
	cat, err := f.db.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat {
		if c.ID == s.ID {
			t.Fatal("a disabled service is in the public catalog")
		}
	}
	if d, err := f.db.ServiceByID(ctx, s.ID); err != nil || d.Enabled {
		t.Fatalf("admin read of a disabled service: %+v %v", d, err)
	}
}
