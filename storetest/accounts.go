package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

func testAccounts(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u, err := f.db.CreateUser(ctx, "Mixed.Case@example.com", "password123", "")
	if err != nil || u.Role != fetchsms.RoleCustomer {
		t.Fatalf("create: %+v %v", u, err)
	}
	if _, err := f.db.CreateUser(ctx, "mixed.case@EXAMPLE.com", "password123", ""); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("same email in another case: %v", err)
	}
	if got, err := f.db.UserByEmail(ctx, "mixed.case@example.com"); err != nil || got.ID != u.ID {
		t.Fatalf("by email: %+v %v", got, err)
	}
	if _, err := f.db.UserByID(ctx, "nobody"); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("unknown user: %v", err)
	}
	if _, _, err := f.db.Login(ctx, "mixed.case@example.com", "wrong password"); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	_, sess, err := f.db.Login(ctx, "MIXED.case@example.com", "password123")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.db.Authenticate(ctx, sess.Token); err != nil || p.User.ID != u.ID || p.Kind != fetchsms.KindSession {
		t.Fatalf("session: %+v %v", p, err)
	}
	key, err := f.db.CreateAPIKey(ctx, u.ID, "ci")
	if err != nil || !strings.HasPrefix(key.Key, key.Prefix) {
		t.Fatalf("key: %+v %v", key, err)
	}
	if p, err := f.db.Authenticate(ctx, key.Key); err != nil || p.CredentialID != key.ID {
		t.Fatalf("api key: %+v %v", p, err)
	}
	rotated, err := f.db.RotateAPIKey(ctx, u.ID, key.ID)
	if err != nil || rotated.Name != "ci" {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	if _, err := f.db.Authenticate(ctx, key.Key); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("rotated key still works: %v", err)
	}
	if _, err := f.db.RotateAPIKey(ctx, u.ID, key.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("rotate a revoked key: %v", err)
	}
	if keys, err := f.db.ListAPIKeys(ctx, u.ID); err != nil || len(keys) != 2 || keys[0].ID != rotated.ID {
		t.Fatalf("list keys: %v %v", keys, err)
	}
	if _, err := f.db.SetUserDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Authenticate(ctx, rotated.Key); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("disabled account's key works: %v", err)
	}
	if p, err := f.db.Authenticate(ctx, f.gateway.Token); err != nil || p.Gateway == nil || p.Gateway.ID != f.gateway.ID {
		t.Fatalf("gateway token: %+v %v", p, err)
	}
	g2, err := f.db.EnsureGateway(ctx, "bank")
	if err != nil || g2.ID != f.gateway.ID {
		t.Fatalf("ensure existing gateway: %+v %v", g2, err)
	}
	if _, err := f.db.Authenticate(ctx, f.gateway.Token); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("old gateway token still works after EnsureGateway: %v", err)
	}
	added, skipped, err := f.db.ImportNumbers(ctx, f.gateway.ID, fetchsms.PlainNumbers([]string{"+13325550001", "+13325550001", "+13325550002"}))
	if err != nil || added != 2 || skipped != 1 {
		t.Fatalf("import: %d %d %v", added, skipped, err)
	}
	if added, skipped, err := f.db.ImportNumbers(ctx, f.gateway.ID, fetchsms.PlainNumbers([]string{"+13325550002", "+13325550003"})); err != nil || added != 1 || skipped != 1 {
		t.Fatalf("import again: %d %d %v", added, skipped, err)
	}
	if _, _, err := f.db.ImportNumbers(ctx, f.gateway.ID, fetchsms.PlainNumbers([]string{"+13325550004", "12"})); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("bad number: %v", err)
	}
	if n, err := f.db.CountNumbers(ctx); err != nil || n != 3 {
		t.Fatalf("count: %d %v", n, err)
	}
	if v, err := f.db.Setting(ctx, "k"); err != nil || v != "" {
		t.Fatalf("unset setting: %q %v", v, err)
	}
	f.db.SetSetting(ctx, "k", "1")
	f.db.SetSetting(ctx, "k", "2")
	if v, err := f.db.Setting(ctx, "k"); err != nil || v != "2" {
		t.Fatalf("setting: %q %v", v, err)
	}
}

// testCredentialRules: sign-up and login checks, every reason a token is refused,
// key and gateway names, and that each change that ends a credential is announced
// after its commit (and nothing else is).
func testCredentialRules(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	announced := 0
	var refusedWhenAnnounced []string // tokens that must no longer work when the change is heard
	f.db.Listen(func(ctx context.Context, change any) {
		if _, ok := change.(fetchsms.CredentialsChanged); !ok {
			return
		}
		announced++
		for _, tok := range refusedWhenAnnounced {
			if _, err := f.db.Authenticate(ctx, tok); err == nil {
				t.Errorf("announced before the change is visible: %.8s… still works", tok)
			}
		}
	})
	expectAnnounced := func(want int, what string) {
		t.Helper()
		if announced != want {
			t.Fatalf("%s: %d announcements, want %d", what, announced, want)
		}
	}
	code := func(err error, want, what string) {
		t.Helper()
		if fetchsms.ErrorCode(err) != want {
			t.Fatalf("%s: %v, want %s", what, err, want)
		}
	}

	// Sign-up.
	_, err := f.db.CreateUser(ctx, "not-an-email", "password123", "")
	code(err, fetchsms.EUNPROCESSABLE, "malformed email")
	_, err = f.db.CreateUser(ctx, "short@example.com", "1234567", "")
	code(err, fetchsms.EUNPROCESSABLE, "short password")
	_, err = f.db.CreateUser(ctx, "root@example.com", "password123", "root")
	code(err, fetchsms.EUNPROCESSABLE, "unknown role")
	u, err := f.db.CreateUser(ctx, "  Spaced@Example.com ", "password123", fetchsms.RoleAdmin)
	if err != nil || u.Email != "Spaced@Example.com" || u.Role != fetchsms.RoleAdmin {
		t.Fatalf("create: %+v %v", u, err)
	}
	if got, err := f.db.UserByEmail(ctx, "spaced@example.com "); err != nil || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("by email: %+v %v (made %+v)", got, err, u)
	}
	_, err = f.db.UserByEmail(ctx, "nobody@example.com")
	code(err, fetchsms.ENOTFOUND, "unknown email")
	if users, _, err := f.db.ListUsers(ctx, fetchsms.Page{}); err != nil || len(users) != 1 || users[0].ID != u.ID {
		t.Fatalf("list users: %v %v", users, err)
	}

	// Login: an unknown email and a wrong password get the same answer.
	_, _, unknown := f.db.Login(ctx, "nobody@example.com", "password123")
	_, _, wrong := f.db.Login(ctx, "spaced@example.com", "password124")
	code(unknown, fetchsms.EUNAUTHORIZED, "unknown email")
	code(wrong, fetchsms.EUNAUTHORIZED, "wrong password")
	if fetchsms.ErrorMessage(unknown) != fetchsms.ErrorMessage(wrong) {
		t.Fatalf("an unknown email (%q) and a wrong password (%q) answer differently", fetchsms.ErrorMessage(unknown), fetchsms.ErrorMessage(wrong))
	}
	_, sess, err := f.db.Login(ctx, " SPACED@example.com", "password123")
	if err != nil || sess.UserID != u.ID || !sess.ExpiresAt.Equal(sess.CreatedAt.Add(fetchsms.SessionLifetime)) {
		t.Fatalf("login: %+v %v", sess, err)
	}

	// Tokens refused whatever they are.
	for _, tok := range []string{"", "nonsense", fetchsms.PrefixAPIKey + "unknown", fetchsms.PrefixSession + strings.Repeat("a", 100), "Bearer " + sess.Token} {
		_, err := f.db.Authenticate(ctx, tok)
		code(err, fetchsms.EUNAUTHORIZED, "token "+tok)
	}

	// API keys: names, ownership, revocation.
	for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
		_, err := f.db.CreateAPIKey(ctx, u.ID, name)
		code(err, fetchsms.EUNPROCESSABLE, "key name "+name)
	}
	key, err := f.db.CreateAPIKey(ctx, u.ID, "  ci ")
	if err != nil || key.Name != "ci" || !strings.HasPrefix(key.Key, fetchsms.PrefixAPIKey) || key.Prefix != key.Key[:12] {
		t.Fatalf("key: %+v %v", key, err)
	}
	other := f.user(t, 0)
	_, err = f.db.RotateAPIKey(ctx, other.ID, key.ID)
	code(err, fetchsms.ENOTFOUND, "rotate another user's key")
	code(f.db.RevokeAPIKey(ctx, other.ID, key.ID), fetchsms.ENOTFOUND, "revoke another user's key")
	code(f.db.RevokeAPIKey(ctx, u.ID, "no-such-key"), fetchsms.ENOTFOUND, "revoke an unknown key")
	if p, err := f.db.Authenticate(ctx, key.Key); err != nil || p.Kind != fetchsms.KindAPIKey || p.User.ID != u.ID {
		t.Fatalf("the key after others tried it: %+v %v", p, err)
	}
	expectAnnounced(0, "nothing ended yet")
	refusedWhenAnnounced = []string{key.Key}
	if err := f.db.RevokeAPIKey(ctx, u.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	expectAnnounced(1, "revoke")
	_, err = f.db.Authenticate(ctx, key.Key)
	code(err, fetchsms.EUNAUTHORIZED, "revoked key")
	f.wall.Advance(time.Minute)
	if err := f.db.RevokeAPIKey(ctx, u.ID, key.ID); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	keys, err := f.db.ListAPIKeys(ctx, u.ID)
	if err != nil || len(keys) != 1 || keys[0].Key != "" || keys[0].RevokedAt.IsZero() || f.wall.Now().Sub(keys[0].RevokedAt) < time.Minute {
		t.Fatalf("revoked twice, the key keeps its first revocation: %+v %v", keys, err)
	}

	// Sessions: logout and expiry.
	refusedWhenAnnounced = []string{sess.Token}
	if err := f.db.RevokeSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	expectAnnounced(3, "logout")
	_, err = f.db.Authenticate(ctx, sess.Token)
	code(err, fetchsms.EUNAUTHORIZED, "session after logout")
	refusedWhenAnnounced = nil
	_, sess, err = f.db.Login(ctx, "spaced@example.com", "password123")
	if err != nil {
		t.Fatal(err)
	}
	f.wall.Advance(fetchsms.SessionLifetime - time.Second)
	if _, err := f.db.Authenticate(ctx, sess.Token); err != nil {
		t.Fatalf("session a second before its expiry: %v", err)
	}
	f.wall.Advance(2 * time.Second)
	_, err = f.db.Authenticate(ctx, sess.Token)
	code(err, fetchsms.EUNAUTHORIZED, "expired session")

	// Disabling: the right password is EFORBIDDEN, credentials stop; enabling
	// brings them back.
	_, sess, err = f.db.Login(ctx, "spaced@example.com", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.db.SetUserDisabled(ctx, "no-such-user", true)
	code(err, fetchsms.ENOTFOUND, "disable an unknown user")
	expectAnnounced(3, "nothing changed")
	refusedWhenAnnounced = []string{sess.Token}
	if d, err := f.db.SetUserDisabled(ctx, u.ID, true); err != nil || !d.Disabled || d.ID != u.ID || d.Email != u.Email {
		t.Fatalf("disable: %+v %v", d, err)
	}
	expectAnnounced(4, "disable")
	refusedWhenAnnounced = nil
	_, _, err = f.db.Login(ctx, "spaced@example.com", "password123")
	code(err, fetchsms.EFORBIDDEN, "login to a disabled account")
	// The same answer to a wrong password: a 403 only for the right one would
	// confirm a guessed password (issue 19, finding 8).
	_, _, err = f.db.Login(ctx, "spaced@example.com", "password124")
	code(err, fetchsms.EFORBIDDEN, "wrong password for a disabled account")
	if d, err := f.db.SetUserDisabled(ctx, u.ID, false); err != nil || d.Disabled {
		t.Fatalf("enable: %+v %v", d, err)
	}
	expectAnnounced(5, "enable")
	if p, err := f.db.Authenticate(ctx, sess.Token); err != nil || p.User.Disabled {
		t.Fatalf("session after enabling: %+v %v", p, err)
	}

	// Gateways: names, tokens, EnsureGateway.
	for _, name := range []string{"", " ", strings.Repeat("g", 101)} {
		_, err := f.db.CreateGateway(ctx, name)
		code(err, fetchsms.EUNPROCESSABLE, "gateway name "+name)
	}
	g2, err := f.db.CreateGateway(ctx, " Second bank ")
	if err != nil || g2.Name != "Second bank" || !strings.HasPrefix(g2.Token, fetchsms.PrefixGateway) {
		t.Fatalf("gateway: %+v %v", g2, err)
	}
	if p, err := f.db.Authenticate(ctx, g2.Token); err != nil || p.Kind != fetchsms.KindGateway || p.User != nil || p.Gateway.Name != "Second bank" {
		t.Fatalf("gateway token: %+v %v", p, err)
	}
	sim, err := f.db.EnsureGateway(ctx, "sim")
	if err != nil {
		t.Fatal(err)
	}
	expectAnnounced(5, "a new gateway ends no credential")
	gws, err := f.db.ListGateways(ctx)
	if err != nil || len(gws) != 3 || gws[0].ID != sim.ID || gws[1].ID != g2.ID || gws[2].ID != f.gateway.ID || gws[0].Token != "" {
		t.Fatalf("gateways, newest first: %+v %v", gws, err)
	}
	refusedWhenAnnounced = []string{sim.Token}
	again, err := f.db.EnsureGateway(ctx, "sim")
	if err != nil || again.ID != sim.ID || !again.CreatedAt.Equal(sim.CreatedAt) || again.Token == sim.Token {
		t.Fatalf("ensure again: %+v %v (first %+v)", again, err, sim)
	}
	expectAnnounced(6, "a gateway's token replaced")
	if p, err := f.db.Authenticate(ctx, again.Token); err != nil || p.Gateway.ID != sim.ID {
		t.Fatalf("the new sim token: %+v %v", p, err)
	}
}

// testConcurrentCredentials: of two rotations of one key, one succeeds; of
// sign-ups with one email (in any case), one; servers ensuring one gateway make one.
func testConcurrentCredentials(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	u := f.user(t, 0)
	key, err := f.db.CreateAPIKey(ctx, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	race := func(fn func(i int) error) map[string]int {
		clear(codes)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := fn(i)
				mu.Lock()
				codes[fetchsms.ErrorCode(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return codes
	}
	if c := race(func(int) error { _, err := f.db.RotateAPIKey(ctx, u.ID, key.ID); return err }); c[""] != 1 || c[fetchsms.ENOTFOUND] != n-1 {
		t.Fatalf("concurrent rotations: %v", c)
	}
	if keys, err := f.db.ListAPIKeys(ctx, u.ID); err != nil || len(keys) != 2 {
		t.Fatalf("after the rotations: %d keys, %v", len(keys), err)
	}
	emails := []string{"race@example.com", "RACE@example.com", "Race@Example.com"}
	if c := race(func(i int) error {
		_, err := f.db.CreateUser(ctx, emails[i%len(emails)], "password123", "")
		return err
	}); c[""] != 1 || c[fetchsms.ECONFLICT] != n-1 {
		t.Fatalf("concurrent sign-ups with one email: %v", c)
	}
	if c := race(func(int) error { _, err := f.db.EnsureGateway(ctx, "sim"); return err }); c[""] != n {
		t.Fatalf("concurrent EnsureGateway: %v", c)
	}
	gws, err := f.db.ListGateways(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sims := 0
	for _, g := range gws {
		if g.Name == "sim" {
			sims++
		}
	}
	if sims != 1 {
		t.Fatalf("%d gateways named sim, want 1", sims)
	}
}
