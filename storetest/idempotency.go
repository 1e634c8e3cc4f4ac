package storetest

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testIdempotencyAfterCrash: a request that committed its purchase but died before
// storing its answer is answered with the purchase, never run twice; one that died
// before committing is run again.
func testIdempotencyAfterCrash(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	real := f.wall
	u := f.user(t, 1000)
	hash := []byte("request-1")

	st, err := f.db.BeginIdempotent(ctx, u.ID, "k1", hash)
	if err != nil || st != nil {
		t.Fatalf("begin: %+v %v", st, err)
	}
	v, err := f.db.CreateVerification(fetchsms.WithIdempotency(ctx, u.ID, "k1"), u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		t.Fatal(err)
	}
	// The server dies here: no FinishIdempotent. A retry at once waits for it...
	if _, err := f.db.BeginIdempotent(ctx, u.ID, "k1", hash); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("retry while running: %v", err)
	}
	// ...and later is answered with the purchase that committed.
	real.Advance(time.Minute)
	st, err = f.db.BeginIdempotent(ctx, u.ID, "k1", hash)
	if err != nil || st == nil || st.ResourceID != v.ID {
		t.Fatalf("retry after crash: %+v %v", st, err)
	}
	if _, err := f.db.BeginIdempotent(ctx, u.ID, "k1", []byte("other request")); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("key reused for another request: %v", err)
	}

	// A request that died before its transaction committed is run again.
	if st, err := f.db.BeginIdempotent(ctx, u.ID, "k2", hash); err != nil || st != nil {
		t.Fatalf("begin k2: %+v %v", st, err)
	}
	real.Advance(time.Minute)
	if st, err := f.db.BeginIdempotent(ctx, u.ID, "k2", hash); err != nil || st != nil {
		t.Fatalf("takeover k2: %+v %v", st, err)
	}
	if err := f.db.FinishIdempotent(ctx, u.ID, "k2", 201, []byte(`{"ok": true}`)); err != nil {
		t.Fatal(err)
	}
	st, err = f.db.BeginIdempotent(ctx, u.ID, "k2", hash)
	if err != nil || st == nil || !st.Replay || st.Status != 201 || string(st.Response) != `{"ok": true}` {
		t.Fatalf("replay: %+v %v", st, err)
	}
	// Keys expire after the window.
	real.Advance(fetchsms.IdempotencyWindow + time.Hour)
	if n, err := f.db.PurgeIdempotency(ctx); err != nil || n != 2 {
		t.Fatalf("purge: %d %v", n, err)
	}
}
