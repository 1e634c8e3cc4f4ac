package postgres_test

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/postgres/pgtest"
)

// TestVerificationCacheAcrossServers: two servers (two stores, two Apps) on one
// database, each serving verification reads from its cache. A server reads its
// own change at once; the other drops its copy when the change's notification
// arrives (entries here never expire by age, so nothing else could make it
// read again); a service renamed on one drops every copy on the other.
func TestVerificationCacheAcrossServers(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	dbA, dbB := openCached(t, url), openCached(t, url)
	appA, appB := newApp(t, dbA), newApp(t, dbB)
	u := stock(t, appA, "cache@example.com", 10_000, "+13325551000", "+13325551001")
	v, err := appA.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(app *fetchsms.App) *fetchsms.Verification {
		t.Helper()
		got, err := app.Verification(ctx, u.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// eventually waits, with a generous deadline, for a read on app to satisfy ok.
	eventually := func(app *fetchsms.App, what string, ok func(*fetchsms.Verification) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok(read(app)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: never seen (read %+v)", what, read(app))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Both servers hold the waiting verification; a change made behind their
	// backs (no notification) is not seen: the reads are the caches'.
	if a, b := read(appA), read(appB); a.Status != fetchsms.StatusWaiting || b.Status != fetchsms.StatusWaiting {
		t.Fatalf("statuses %q, %q; want waiting", a.Status, b.Status)
	}
	if err := dbA.SetVerificationCodeQuietlyForTest(ctx, v.ID, "999999"); err != nil {
		t.Fatal(err)
	}
	if a, b := read(appA), read(appB); a.Code != "" || b.Code != "" {
		t.Fatalf("codes %q, %q read past the caches", a.Code, b.Code)
	}
	if err := dbA.SetVerificationCodeQuietlyForTest(ctx, v.ID, ""); err != nil {
		t.Fatal(err)
	}

	// A cancels: A reads it cancelled at once, B once the notification arrives.
	if _, err := appA.CancelVerification(ctx, u.ID, v.ID); err != nil {
		t.Fatal(err)
	}
	if got := read(appA); got.Status != fetchsms.StatusCancelled {
		t.Fatalf("A reads its own cancel as %q", got.Status)
	}
	eventually(appB, "B reads A's cancel", func(v *fetchsms.Verification) bool { return v.Status == fetchsms.StatusCancelled })

	// Another user never reads it from the cache.
	other, err := appA.CreateUser(ctx, "other@example.com", "password123", fetchsms.RoleCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appB.Verification(ctx, other.ID, v.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("another user's read: %v, want not found", err)
	}

	// A service renamed on B: A drops what it holds.
	name := "Telegram Renamed"
	if _, err := appB.UpdateService(ctx, v.ServiceID, fetchsms.ServiceUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got := read(appB); got.ServiceName != name {
		t.Fatalf("B reads its own rename as %q", got.ServiceName)
	}
	eventually(appA, "A reads B's rename", func(v *fetchsms.Verification) bool { return v.ServiceName == name })
}

// TestServiceCacheAcrossServers: a purchase reads its service from the
// server's cache (a price changed behind the caches is not seen), and a
// service disabled on one server is refused on the other once the change's
// notification arrives (entries never expire by age here).
func TestServiceCacheAcrossServers(t *testing.T) {
	t.Parallel()
	pgtest.Available(t)
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	dbA := openCached(t, url)
	appA, appB := newApp(t, dbA), newApp(t, openCached(t, url))
	u := stock(t, appA, "svc-cache@example.com", 100_000, "+13325552000", "+13325552001")
	buy := func(app *fetchsms.App) (*fetchsms.Verification, error) {
		v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
		if err == nil {
			if _, err := app.CancelVerification(ctx, u.ID, v.ID); err != nil {
				t.Fatal(err)
			}
		}
		return v, err
	}
	first, err := buy(appB)
	if err != nil {
		t.Fatal(err)
	}
	if err := dbA.SetServicePriceQuietlyForTest(ctx, first.ServiceID, int64(first.CostCents)+500); err != nil {
		t.Fatal(err)
	}
	again, err := buy(appB)
	if err != nil {
		t.Fatal(err)
	}
	if again.CostCents != first.CostCents {
		t.Fatalf("B charged %d after a quiet price change, want its cached %d", again.CostCents, first.CostCents)
	}

	off := false
	if _, err := appA.UpdateService(ctx, first.ServiceID, fetchsms.ServiceUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := buy(appB)
		if fetchsms.ErrorCode(err) == fetchsms.ENOTFOUND {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("B still sells the service A disabled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
