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

// CodeForgetter is implemented, in their test builds, by engines that let a test
// make every service's activation code unset, as in a database from before codes.
type CodeForgetter interface {
	ForgetActivationCodesForTest(ctx context.Context) error
}

// testActivationCodes: the default catalog carries the SMS-Activate protocol's
// codes; a code names one service on sale; admins set, change and clear codes; a
// database from before codes gets the defaults once, never over an admin's edit.
func testActivationCodes(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 1)
	// A customer's reference that is no service's, even as bytes no store
	// keeps, is an unknown service.
	for _, ref := range []string{"no-such-service", "telegram\x00", "\xfftelegram", "999999"} {
		if _, err := f.db.ServiceByRef(ctx, ref); fetchsms.ErrorReason(err) != fetchsms.ReasonUnknownService {
			t.Errorf("service %q: %v, want unknown_service", ref, err)
		}
	}
	tg, err := f.db.ServiceByActivationCode(ctx, "tg")
	if err != nil || tg.Slug != "telegram" || tg.ActivationCode != "tg" {
		t.Fatalf("tg: %+v %v", tg, err)
	}
	for _, code := range []string{"", "zz9", "TG", "t\x00g", "\xff"} {
		if _, err := f.db.ServiceByActivationCode(ctx, code); fetchsms.ErrorReason(err) != fetchsms.ReasonUnknownService {
			t.Errorf("code %q: %v, want unknown_service", code, err)
		}
	}
	s, err := f.db.CreateService(ctx, fetchsms.Service{Slug: "acme-chat", Name: "Acme Chat", PriceCents: 55, Enabled: true, ActivationCode: "acm1"})
	if err != nil || s.ActivationCode != "acm1" {
		t.Fatalf("create with a code: %+v %v", s, err)
	}
	wantError(t, "create with a taken code", func() error {
		_, err := f.db.CreateService(ctx, fetchsms.Service{Slug: "acme-two", Name: "Acme Two", PriceCents: 55, Enabled: true, ActivationCode: "tg"})
		return err
	}(), fetchsms.ECONFLICT, `activation code "tg" is already Telegram's; free it there first`)
	for _, bad := range []string{"Tg", "t g", "waytoolongcode", "tg!"} {
		if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{ActivationCode: &bad}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
			t.Errorf("code %q: %v, want unprocessable", bad, err)
		}
	}
	tgCode := "tg"
	if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{ActivationCode: &tgCode}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Errorf("another service's code: %v", err)
	}
	if _, err := f.db.UpdateService(ctx, fetchsms.UnlimitedServiceID, fetchsms.ServiceUpdate{ActivationCode: &tgCode}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Errorf("a code on the long-term product: %v", err)
	}
	// Telegram's code moves to "tgx"; "tg" is free, then the new service takes it.
	tgx, none := "tgx", ""
	if got, err := f.db.UpdateService(ctx, tg.ID, fetchsms.ServiceUpdate{ActivationCode: &tgx}); err != nil || got.ActivationCode != "tgx" || got.Name != "Telegram" {
		t.Fatalf("change telegram's code: %+v %v", got, err)
	}
	if got, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{ActivationCode: &tgCode}); err != nil || got.ActivationCode != "tg" {
		t.Fatalf("take the freed code: %+v %v", got, err)
	}
	if got, err := f.db.ServiceByActivationCode(ctx, "tg"); err != nil || got.ID != s.ID {
		t.Fatalf("tg now: %+v %v", got, err)
	}
	// Saving a service keeps its own code (no conflict with itself).
	name := "Acme Chat 2"
	if got, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{Name: &name}); err != nil || got.ActivationCode != "tg" {
		t.Fatalf("rename: %+v %v", got, err)
	}
	// A disabled service is unknown to the protocol; cleared, its code names nothing.
	off := false
	if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ServiceByActivationCode(ctx, "tg"); fetchsms.ErrorReason(err) != fetchsms.ReasonUnknownService {
		t.Errorf("a disabled service's code: %v", err)
	}
	if got, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{ActivationCode: &none}); err != nil || got.ActivationCode != "" {
		t.Fatalf("clear: %+v %v", got, err)
	}
	wa := f.service(t, "whatsapp")
	if _, err := f.db.UpdateService(ctx, wa.ID, fetchsms.ServiceUpdate{ActivationCode: &none}); err != nil {
		t.Fatal(err)
	}

	// Seeding again changes no code an admin set or cleared.
	if err := f.store.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	if got := f.service(t, "telegram"); got.ActivationCode != "tgx" {
		t.Errorf("seed over an admin's code: telegram has %q", got.ActivationCode)
	}
	if got := f.service(t, "whatsapp"); got.ActivationCode != "" {
		t.Errorf("seed over an admin's clearing: whatsapp has %q", got.ActivationCode)
	}
	forget, ok := f.store.(CodeForgetter)
	if !ok {
		return
	}
	// A database from before codes: every default service gets its code, except
	// one another service already holds.
	if err := forget.ForgetActivationCodesForTest(ctx); err != nil {
		t.Fatal(err)
	}
	ds := "ds"
	if _, err := f.db.UpdateService(ctx, s.ID, fetchsms.ServiceUpdate{ActivationCode: &ds}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	for _, def := range fetchsms.DefaultCatalog() {
		want := def.ActivationCode
		if def.Slug == "discord" {
			want = ""
		}
		if got := f.service(t, def.Slug); got.ActivationCode != want {
			t.Errorf("after the seed, %s has code %q, want %q", def.Slug, got.ActivationCode, want)
		}
	}
}

// service returns the service with the slug, enabled or not.
func (f *fixture) service(t *testing.T, slug string) *fetchsms.Service {
	t.Helper()
	all, err := f.db.AllServices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Slug == slug {
			return s
		}
	}
	t.Fatalf("no service %q", slug)
	return nil
}
