package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sealbox"
)

// testSealedSecrets: with a secret key, webhook secrets are stored sealed and
// opened only to sign deliveries; SealStoredSecrets seals those stored plain and,
// after a key rotation, seals everything again under the new key; a delivery
// whose secret no key opens fails visibly instead of going out unsigned (issue
// 19, finding 10).
func testSealedSecrets(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	k1, k2, k3 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	withKeys := func(keys ...[]byte) *fetchsms.App { t.Helper(); return f.withKeys(t, keys...) }
	stored := func() map[string]string {
		t.Helper()
		all, err := f.store.StoredSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range all {
			m[s.ID] = s.Value
		}
		return m
	}
	u := f.user(t, 0)
	plain, err := f.db.CreateEndpoint(ctx, u.ID, "https://example.com/a", nil) // a server without a key
	if err != nil {
		t.Fatal(err)
	}
	one := withKeys(k1)
	sealedEP, err := one.CreateEndpoint(ctx, u.ID, "https://example.com/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := one.CreateGateway(ctx, "sealed bank")
	if err != nil {
		t.Fatal(err)
	}
	s := stored()
	if s[plain.ID] != plain.Secret || !strings.HasPrefix(s[sealedEP.ID], "v1.") || strings.Contains(s[sealedEP.ID], sealedEP.Secret) || !strings.HasPrefix(s[gw.ID], "v1.") {
		t.Fatalf("stored secrets: %v", s)
	}

	// Sealing what is stored plain.
	if changed, stuck, err := one.SealStoredSecrets(ctx); err != nil || changed != 1 || stuck != 0 {
		t.Fatalf("SealStoredSecrets: %d changed, %d stuck, %v; want 1, 0", changed, stuck, err)
	}
	if v := stored()[plain.ID]; !strings.HasPrefix(v, "v1.") {
		t.Fatalf("a plain secret after sealing: %q", v)
	}
	if changed, _, _ := one.SealStoredSecrets(ctx); changed != 0 {
		t.Fatalf("a second pass changed %d", changed)
	}

	// Deliveries are signed with the secrets as created.
	claimSecrets := func(a *fetchsms.App) map[string]string {
		t.Helper()
		for _, ep := range []*fetchsms.WebhookEndpoint{plain, sealedEP} {
			if _, err := a.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := a.ClaimDeliveries(ctx, 10, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.wall.Advance(time.Minute)
		m := map[string]string{}
		for _, d := range ds {
			m[d.EndpointID] = d.Secret
			if err := a.RecordAttempt(ctx, d, fetchsms.DeliveryAttempt{At: f.wall.Now(), StatusCode: 200}); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	if got := claimSecrets(one); got[plain.ID] != plain.Secret || got[sealedEP.ID] != sealedEP.Secret {
		t.Fatalf("secrets handed to the sender: %v", got)
	}

	// Rotation: the new key first, the old one kept; one pass seals all again.
	rotating := withKeys(k2, k1)
	if changed, stuck, err := rotating.SealStoredSecrets(ctx); err != nil || changed != 3 || stuck != 0 {
		t.Fatalf("after a rotation: %d changed, %d stuck, %v; want 3 (two endpoints, one gateway)", changed, stuck, err)
	}
	rotated := withKeys(k2)
	if got := claimSecrets(rotated); got[plain.ID] != plain.Secret || got[sealedEP.ID] != sealedEP.Secret {
		t.Fatalf("secrets after the rotation, old key gone: %v", got)
	}
	if k, err := rotated.GatewaySigningKey(ctx, gw.ID); err != nil || string(k) != gw.Token {
		t.Fatalf("the gateway's token after the rotation: %v", err)
	}

	// A server with the wrong key sends nothing unsigned: the attempts fail.
	wrong := withKeys(k3)
	if changed, stuck, _ := wrong.SealStoredSecrets(ctx); changed != 0 || stuck != 3 {
		t.Fatalf("a wrong key: %d changed, %d stuck; want 0, 3", changed, stuck)
	}
	for _, ep := range []*fetchsms.WebhookEndpoint{plain, sealedEP} {
		if _, err := wrong.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
			t.Fatal(err)
		}
	}
	if ds, err := wrong.ClaimDeliveries(ctx, 10, time.Second, nil); err != nil || len(ds) != 0 {
		t.Fatalf("a server with the wrong key claimed %d deliveries (%v)", len(ds), err)
	}
	ds, _, err := f.db.EndpointDeliveries(ctx, u.ID, sealedEP.ID, fetchsms.Page{})
	if err != nil || len(ds) == 0 || len(ds[0].History) == 0 || !strings.Contains(ds[0].History[0].Error, "cannot be opened") {
		t.Fatalf("the failed attempt is not visible: %+v %v", ds, err)
	}
}

// withKeys returns an App on the fixture's store and clocks that seals secrets
// with keys, the first current.
func (f *fixture) withKeys(t *testing.T, keys ...[]byte) *fetchsms.App {
	t.Helper()
	box, err := sealbox.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := fetchsms.New(context.Background(), f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
