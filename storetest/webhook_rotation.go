package storetest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testWebhookSecretRotation: an endpoint's secret rotated with an overlap keeps
// the previous one (sealed like the secret) signing beside the new one until the
// overlap ends by the wall clock, then the new one alone; a rotation without an
// overlap, or a second rotation, drops the older secret at once; refused
// rotations change nothing; a server key rotation seals the previous secret
// again too; concurrent rotations leave one secret and its previous, both among
// those handed out (issue 22).
func testWebhookSecretRotation(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	k1, k2 := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{8}, 32)
	app := f.withKeys(t, k1)
	u, other := f.user(t, 0), f.user(t, 0)
	ep, err := app.CreateEndpoint(ctx, u.ID, "https://example.com/rotating", nil)
	if err != nil {
		t.Fatal(err)
	}
	s1 := ep.Secret

	// signers sends a test event and returns the secrets the claimed delivery is
	// signed with: the secret, and the previous one ("" when none).
	signers := func(a *fetchsms.App) (string, string) {
		t.Helper()
		if _, err := a.SendTestEvent(ctx, u.ID, ep.ID); err != nil {
			t.Fatal(err)
		}
		ds, err := a.ClaimDeliveries(ctx, 10, time.Second, nil)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %d deliveries, %v", len(ds), err)
		}
		if err := a.RecordAttempt(ctx, ds[0], fetchsms.DeliveryAttempt{At: f.wall.Now(), StatusCode: 200}); err != nil {
			t.Fatal(err)
		}
		return ds[0].Secret, ds[0].PreviousSecret
	}
	shown := func(wantUntil time.Time) {
		t.Helper()
		e, err := app.Endpoint(ctx, u.ID, ep.ID)
		if err != nil || !e.PreviousUntil.Equal(wantUntil) {
			t.Fatalf("Endpoint's PreviousUntil %v (%v), want %v", e.PreviousUntil, err, wantUntil)
		}
		list, err := app.Endpoints(ctx, u.ID)
		if err != nil || len(list) != 1 || !list[0].PreviousUntil.Equal(wantUntil) {
			t.Fatalf("Endpoints: %+v %v, want PreviousUntil %v", list, err, wantUntil)
		}
	}
	storedPrevious := func() (string, bool) {
		t.Helper()
		all, err := f.store.StoredSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			if s.ID == ep.ID && s.Kind == fetchsms.SecretWebhookPrevious {
				return s.Value, true
			}
		}
		return "", false
	}

	shown(time.Time{})
	if sec, prev := signers(app); sec != s1 || prev != "" {
		t.Fatalf("before any rotation: signed with %q and %q", sec, prev)
	}
	if _, ok := storedPrevious(); ok {
		t.Fatal("a previous secret is listed before any rotation")
	}

	// A rotation with an hour's overlap: both sign, the previous one sealed.
	start := f.wall.Now()
	r, until, err := app.RotateEndpointSecret(ctx, u.ID, ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s2 := r.Secret
	if s2 == s1 || !strings.HasPrefix(s2, "whsec_") || until.Sub(start) < time.Hour-time.Millisecond || until.Sub(start) > time.Hour {
		t.Fatalf("rotation: secret %q (was %q), overlap until %v from %v", s2, s1, until, start)
	}
	if !r.PreviousUntil.Equal(until) {
		t.Fatalf("the rotated endpoint's PreviousUntil %v, want %v", r.PreviousUntil, until)
	}
	shown(until)
	if v, ok := storedPrevious(); !ok || !strings.HasPrefix(v, "v1.") || strings.Contains(v, strings.TrimPrefix(s1, "whsec_")) {
		t.Fatalf("the previous secret is not stored sealed: %q", v)
	}
	if sec, prev := signers(app); sec != s2 || prev != s1 {
		t.Fatalf("during the overlap: signed with %q and %q, want %q and %q", sec, prev, s2, s1)
	}

	// A server key rotation seals the previous secret again too: the old key
	// gone, both still sign.
	rotating := f.withKeys(t, k2, k1)
	if changed, stuck, err := rotating.SealStoredSecrets(ctx); err != nil || changed != 2 || stuck != 0 {
		t.Fatalf("after a key rotation: %d changed, %d stuck, %v; want 2 (the secret and the previous one)", changed, stuck, err)
	}
	app = f.withKeys(t, k2)
	if sec, prev := signers(app); sec != s2 || prev != s1 {
		t.Fatalf("with the new key alone: signed with %q and %q, want %q and %q", sec, prev, s2, s1)
	}

	// The overlap ends by the wall clock (the business clock does not end it).
	f.clock.Advance(2 * time.Hour)
	if sec, prev := signers(app); sec != s2 || prev != s1 {
		t.Fatalf("business time moved, wall time not: signed with %q and %q", sec, prev)
	}
	f.wall.Advance(until.Sub(f.wall.Now()) + time.Millisecond)
	shown(time.Time{})
	if sec, prev := signers(app); sec != s2 || prev != "" {
		t.Fatalf("after the overlap: signed with %q and %q, want %q alone", sec, prev, s2)
	}

	// Refused rotations change nothing.
	for _, bad := range []struct {
		user    string
		id      string
		overlap time.Duration
		code    string
	}{
		{u.ID, ep.ID, -time.Second, fetchsms.EUNPROCESSABLE},
		{u.ID, ep.ID, fetchsms.MaxSecretOverlap + time.Second, fetchsms.EUNPROCESSABLE},
		{other.ID, ep.ID, time.Hour, fetchsms.ENOTFOUND},
		{u.ID, fetchsms.NewID(), time.Hour, fetchsms.ENOTFOUND},
	} {
		if _, _, err := app.RotateEndpointSecret(ctx, bad.user, bad.id, bad.overlap); fetchsms.ErrorCode(err) != bad.code {
			t.Fatalf("rotating %+v: %v, want %s", bad, err, bad.code)
		}
	}
	if sec, prev := signers(app); sec != s2 || prev != "" {
		t.Fatalf("after refused rotations: signed with %q and %q, want %q alone", sec, prev, s2)
	}

	// No overlap: the new secret alone at once.
	r, _, err = app.RotateEndpointSecret(ctx, u.ID, ep.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	s3 := r.Secret
	shown(time.Time{})
	if sec, prev := signers(app); sec != s3 || prev != "" {
		t.Fatalf("after a rotation without overlap: signed with %q and %q, want %q alone", sec, prev, s3)
	}

	// A second rotation within an overlap: the newest and the one it replaced;
	// the oldest stops at once.
	r, _, err = app.RotateEndpointSecret(ctx, u.ID, ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s4 := r.Secret
	r, until, err = app.RotateEndpointSecret(ctx, u.ID, ep.ID, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s5 := r.Secret
	shown(until)
	if sec, prev := signers(app); sec != s5 || prev != s4 {
		t.Fatalf("after two rotations: signed with %q and %q, want %q and %q (not %q)", sec, prev, s5, s4, s3)
	}

	// Concurrent rotations: one secret and its previous, both among those handed out.
	var mu sync.Mutex
	handed := map[string]bool{s5: true}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := app.RotateEndpointSecret(ctx, u.ID, ep.ID, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			handed[r.Secret] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sec, prev := signers(app)
	if sec == prev || !handed[sec] || !handed[prev] || sec == s5 {
		t.Fatalf("after concurrent rotations: signed with %q and %q; handed out %v", sec, prev, handed)
	}

	// A deleted endpoint cannot be rotated.
	if err := app.DeleteEndpoint(ctx, u.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.RotateEndpointSecret(ctx, u.ID, ep.ID, time.Hour); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("rotating a deleted endpoint: %v", err)
	}
}
