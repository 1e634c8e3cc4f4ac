package storetest

import (
	"context"
	"strings"
	"testing"

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
	added, skipped, err := f.db.ImportNumbers(ctx, f.gateway.ID, []string{"+13325550001", "+13325550001", "+13325550002"})
	if err != nil || added != 2 || skipped != 1 {
		t.Fatalf("import: %d %d %v", added, skipped, err)
	}
	if added, skipped, err := f.db.ImportNumbers(ctx, f.gateway.ID, []string{"+13325550002", "+13325550003"}); err != nil || added != 1 || skipped != 1 {
		t.Fatalf("import again: %d %d %v", added, skipped, err)
	}
	if _, _, err := f.db.ImportNumbers(ctx, f.gateway.ID, []string{"+13325550004", "12"}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
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
