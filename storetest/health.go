package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// healthFixture is a store with a silence limit: the App under test and the
// checks the health tests repeat.
type healthFixture struct {
	*fixture
	app *fetchsms.App
}

func (h *healthFixture) withLimit(t *testing.T, limit time.Duration, operator bool) *fetchsms.App {
	t.Helper()
	app, err := fetchsms.New(context.Background(), h.store, fetchsms.Options{Clock: h.clock, WallClock: h.wall, GatewaySilence: limit, Operator: operator})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// stock is the catalog's short-term stock of Telegram (service 4).
func (h *healthFixture) stock(t *testing.T) int {
	t.Helper()
	cat, err := h.app.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat {
		if s.ID == 4 {
			return s.ShortAvailable
		}
	}
	t.Fatal("no service 4 in the catalog")
	return 0
}

// health returns one gateway's health and counts, as the fixture's App sees them.
func (h *healthFixture) health(t *testing.T, id string) *fetchsms.GatewayHealth {
	t.Helper()
	return h.healthBy(t, h.app, id)
}

// healthBy returns one gateway's health and counts as app sees them.
func (h *healthFixture) healthBy(t *testing.T, app *fetchsms.App, id string) *fetchsms.GatewayHealth {
	t.Helper()
	all, err := app.GatewaysHealth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range all {
		if g.ID == id {
			return g
		}
	}
	t.Fatalf("gateway %s not listed", id)
	return nil
}

// sweep runs the health sweep and requires it to change want gateways.
func (h *healthFixture) sweep(t *testing.T, app *fetchsms.App, want int) {
	t.Helper()
	n, err := app.SweepGatewayHealth(context.Background())
	if err != nil || n != want {
		t.Fatalf("sweep changed %d gateways (%v), want %d", n, err, want)
	}
}

// refunds counts the refunds of a purchase in the user's ledger.
func (h *healthFixture) refunds(t *testing.T, userID, purchaseID string) int {
	t.Helper()
	entries, _, err := h.app.Ledger(context.Background(), userID, fetchsms.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Kind == fetchsms.LedgerRefund && e.VerificationID+e.RentalID == purchaseID {
			n++
		}
	}
	return n
}

// consistent requires the withdrawal invariants to hold now, and no waiting
// verification left on a withdrawn number.
func (h *healthFixture) consistent(t *testing.T) {
	t.Helper()
	c, err := h.app.CheckInvariants(context.Background())
	if err != nil || !c.OK() || c.WithdrawnMismatches != 0 || c.WaitingOnWithdrawn != 0 {
		t.Fatalf("invariants: %+v %v", c, err)
	}
}

func numbersIn(area string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1%s555%04d", area, 100+i)
	}
	return out
}

// testGatewayHealth: a gateway silent past the limit has its numbers withdrawn
// at once (the stock drops) and its waiting verifications refunded once, its
// rentals running on; a message or a heartbeat lists them again at once; a
// disabled gateway is withdrawn alike and, enabled, listed again only when it
// is not silent; numbers imported into a withdrawn gateway come in withdrawn;
// the sweep run again, or on several servers at once, changes nothing more; an
// operator's command leaves the refunds to the servers' sweep.
func testGatewayHealth(t *testing.T, open Opener) {
	ctx := context.Background()
	const limit = 10 * time.Minute
	h := &healthFixture{fixture: setup(t, open, 0)}
	h.app = h.withLimit(t, limit, false)
	app := h.app

	quiet := h.gateway // made now, never heard from
	live, err := app.CreateGateway(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := app.CreateGateway(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	for g, nums := range map[string][]string{quiet.ID: numbersIn("332", 5), live.ID: numbersIn("646", 5)} {
		if _, _, err := app.ImportNumbers(ctx, g, fetchsms.PlainNumbers(nums)); err != nil {
			t.Fatal(err)
		}
	}
	if s := h.stock(t); s != 10 {
		t.Fatalf("stock %d, want 10", s)
	}
	for id, want := range map[string]string{quiet.ID: fetchsms.HealthOK, live.ID: fetchsms.HealthOK, empty.ID: fetchsms.HealthNew} {
		if got := h.health(t, id); got.Health != want || got.ForSale != got.Numbers {
			t.Fatalf("health of %s: %+v, want %s", got.Name, got, want)
		}
	}

	u := h.user(t, 5000)
	v1, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "332"})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := app.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 1, AreaCode: "332"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "646"})
	if err != nil {
		t.Fatal(err)
	}
	paid := h.balance(t, u.ID)

	// Within the limit nothing changes; past it the gateway never heard from is
	// silent, the one that sent a heartbeat is not.
	h.wall.Advance(limit - time.Minute)
	if err := app.GatewayHeartbeat(ctx, live.ID); err != nil {
		t.Fatal(err)
	}
	h.sweep(t, app, 0)
	h.wall.Advance(2 * time.Minute)
	h.sweep(t, app, 2) // quiet, and empty (no numbers to withdraw, but marked: numbers imported into it come in withdrawn)
	if s := h.stock(t); s != 4 {
		t.Fatalf("stock after the silence: %d, want live's 4 free numbers", s)
	}
	if got := h.health(t, quiet.ID); got.Health != fetchsms.HealthSilent || got.ForSale != 0 || got.Numbers != 5 || got.WithdrawnAt.IsZero() {
		t.Fatalf("the silent gateway: %+v", got)
	}
	if got := h.health(t, live.ID); got.Health != fetchsms.HealthOK || got.ForSale != 4 {
		t.Fatalf("the live gateway: %+v", got)
	}
	if got := h.health(t, empty.ID); got.Health != fetchsms.HealthNew || got.WithdrawnAt.IsZero() {
		t.Fatalf("the gateway with no numbers: %+v", got)
	}
	if got, _ := app.Verification(ctx, u.ID, v1.ID); got.Status != fetchsms.StatusExpired || h.refunds(t, u.ID, v1.ID) != 1 {
		t.Fatalf("the verification on the silent gateway: %+v, %d refunds", got, h.refunds(t, u.ID, v1.ID))
	}
	if b := h.balance(t, u.ID); b != paid+v1.CostCents {
		t.Fatalf("balance %d, want %d + the refund %d", b, paid, v1.CostCents)
	}
	if got, _ := app.Rental(ctx, u.ID, r1.ID); got.Status != fetchsms.StatusWaiting {
		t.Fatalf("a rental on the silent gateway was cut short: %+v", got)
	}
	if got, _ := app.Verification(ctx, u.ID, v2.ID); got.Status != fetchsms.StatusWaiting {
		t.Fatalf("a verification on the live gateway: %+v", got)
	}
	if _, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "332"}); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("a purchase from the silent gateway's area code: %v, want ECONFLICT", err)
	}
	if codes, _ := app.AreaCodes(ctx, "short", nil); len(codes) != 1 || codes[0] != "646" {
		t.Fatalf("area codes on sale: %v, want only 646", codes)
	}
	h.consistent(t)

	// Again, and on four servers at once: nothing more changes, nothing is
	// refunded twice.
	h.sweep(t, app, 0)
	var wg sync.WaitGroup
	for range 4 {
		server := h.withLimit(t, limit, false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := server.SweepGatewayHealth(ctx); err != nil || n != 0 {
				t.Errorf("a concurrent sweep changed %d (%v)", n, err)
			}
		}()
	}
	wg.Wait()
	if b := h.balance(t, u.ID); b != paid+v1.CostCents || h.refunds(t, u.ID, v1.ID) != 1 {
		t.Fatalf("after more sweeps: balance %d, %d refunds", b, h.refunds(t, u.ID, v1.ID))
	}

	// A number imported into the silent gateway comes in withdrawn.
	if added, _, err := app.ImportNumbers(ctx, quiet.ID, fetchsms.PlainNumbers([]string{"+13325550999"})); err != nil || added != 1 {
		t.Fatalf("import: %d %v", added, err)
	}
	if s := h.stock(t); s != 4 {
		t.Fatalf("stock after an import into the silent gateway: %d, want 4", s)
	}
	h.consistent(t)

	// A message lists its numbers again at once, with no sweep, and reaches
	// the rental; the customer can buy from it again.
	res, err := app.ReceiveSMS(ctx, quiet.ID, fetchsms.InboundSMS{ID: "back-1", To: r1.Number, From: "Telegram", Body: "Telegram code: 55555"})
	if err != nil || res.RentalID != r1.ID {
		t.Fatalf("a message on the rental: %+v %v", res, err)
	}
	if s := h.stock(t); s != 9 {
		t.Fatalf("stock after the gateway spoke: %d, want 9 (5 of its 6 numbers, 4 of live's)", s)
	}
	if got := h.health(t, quiet.ID); got.Health != fetchsms.HealthOK || got.ForSale != 5 || got.Messages != 1 || !got.WithdrawnAt.IsZero() {
		t.Fatalf("the gateway back: %+v", got)
	}
	again, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "332"})
	if err != nil {
		t.Fatalf("buying again from the returned gateway: %v", err)
	}
	if _, err := app.CancelVerification(ctx, u.ID, again.ID); err != nil {
		t.Fatal(err)
	}
	h.consistent(t)

	// Disabling withdraws at once and refunds what waits; enabling a gateway
	// heard from lately lists it again at once.
	d, err := app.SetGatewayDisabled(ctx, live.ID, true)
	if err != nil || !d.Disabled || d.WithdrawnAt.IsZero() {
		t.Fatalf("disable: %+v %v", d, err)
	}
	if s := h.stock(t); s != 5 {
		t.Fatalf("stock with live disabled: %d, want 5", s)
	}
	if got := h.health(t, live.ID); got.Health != fetchsms.HealthDisabled || got.ForSale != 0 {
		t.Fatalf("the disabled gateway: %+v", got)
	}
	if got, _ := app.Verification(ctx, u.ID, v2.ID); got.Status != fetchsms.StatusExpired || h.refunds(t, u.ID, v2.ID) != 1 {
		t.Fatalf("the verification on the disabled gateway: %+v", got)
	}
	h.consistent(t)
	h.sweep(t, app, 0)
	if _, err := app.SetGatewayDisabled(ctx, live.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := h.health(t, live.ID); got.Health != fetchsms.HealthOK || got.ForSale != 5 {
		t.Fatalf("the gateway enabled again: %+v", got)
	}
	if _, err := app.SetGatewayDisabled(ctx, fetchsms.NewID(), true); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("disabling an unknown gateway: %v", err)
	}
	if err := app.GatewayHeartbeat(ctx, fetchsms.NewID()); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
		t.Fatalf("a heartbeat of an unknown gateway: %v", err)
	}

	// Both fall silent; the business clock is not what counts (a rental's day
	// passing does not make a gateway silent, and silence does not end it).
	h.clock.Advance(2 * time.Hour)
	h.sweep(t, app, 0)
	h.wall.Advance(limit + time.Second)
	h.sweep(t, app, 2)
	if s := h.stock(t); s != 0 {
		t.Fatalf("stock with every gateway silent: %d", s)
	}
	if got, _ := app.Rental(ctx, u.ID, r1.ID); got.Status != fetchsms.StatusReceived {
		t.Fatalf("the rental after its gateway fell silent again: %+v", got)
	}
	// Enabling a silent gateway does not list it; its heartbeat does.
	if _, err := app.SetGatewayDisabled(ctx, live.ID, true); err != nil {
		t.Fatal(err)
	}
	if e, err := app.SetGatewayDisabled(ctx, live.ID, false); err != nil || e.WithdrawnAt.IsZero() {
		t.Fatalf("enabling a silent gateway listed it: %+v %v", e, err)
	}
	if got := h.health(t, live.ID); got.Health != fetchsms.HealthSilent {
		t.Fatalf("a silent gateway enabled: %+v", got)
	}
	if err := app.GatewayHeartbeat(ctx, live.ID); err != nil {
		t.Fatal(err)
	}
	if s := h.stock(t); s != 5 {
		t.Fatalf("stock after live's heartbeat: %d, want 5", s)
	}

	// An operator's command disables without ending purchases; the next sweep
	// of a server ends and refunds them.
	v3, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4", AreaCode: "646"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.withLimit(t, limit, true).SetGatewayDisabled(ctx, live.ID, true); err != nil {
		t.Fatal(err)
	}
	if c, _ := app.CheckInvariants(ctx); !c.OK() || c.WaitingOnWithdrawn != 1 {
		t.Fatalf("after an operator's disable: %+v", c)
	}
	h.sweep(t, app, 0)
	if got, _ := app.Verification(ctx, u.ID, v3.ID); got.Status != fetchsms.StatusExpired || h.refunds(t, u.ID, v3.ID) != 1 {
		t.Fatalf("the verification the operator's disable left: %+v", got)
	}
	h.consistent(t)

	// With the limit off, a server's sweep lists the silent gateways again
	// (quiet, and empty); the disabled one stays withdrawn.
	off := h.withLimit(t, 0, false)
	h.sweep(t, off, 2)
	if got := h.healthBy(t, off, quiet.ID); got.Health != fetchsms.HealthOK || !got.WithdrawnAt.IsZero() || got.ForSale != 5 {
		t.Fatalf("the silent gateway under a server without a limit: %+v", got)
	}
	if got := h.healthBy(t, off, live.ID); got.Health != fetchsms.HealthDisabled || got.ForSale != 0 {
		t.Fatalf("the disabled gateway under a server without a limit: %+v", got)
	}
	h.sweep(t, off, 0)
	h.consistent(t)
}

// testGatewayWithdrawRace races purchases from a gateway against its
// withdrawal: every verification that got one of its numbers is refunded, and
// none is left waiting on a withdrawn number.
func testGatewayWithdrawRace(t *testing.T, open Opener) {
	ctx := context.Background()
	h := &healthFixture{fixture: setup(t, open, 0)}
	h.app = h.withLimit(t, 10*time.Minute, false)
	if _, _, err := h.app.ImportNumbers(ctx, h.gateway.ID, fetchsms.PlainNumbers(numbersIn("415", 24))); err != nil {
		t.Fatal(err)
	}
	u := h.user(t, 100*24)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bought []*fetchsms.Verification
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 12 {
				if _, err := h.app.SetGatewayDisabled(ctx, h.gateway.ID, true); err != nil {
					t.Errorf("disable: %v", err)
				}
				return
			}
			v, err := h.app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
			switch fetchsms.ErrorCode(err) {
			case "":
				mu.Lock()
				bought = append(bought, v)
				mu.Unlock()
			case fetchsms.ECONFLICT:
			default:
				t.Errorf("purchase: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, v := range bought {
		if got, _ := h.app.Verification(ctx, u.ID, v.ID); got.Status != fetchsms.StatusExpired || h.refunds(t, u.ID, v.ID) != 1 {
			t.Fatalf("a verification bought during the withdrawal: %+v", got)
		}
	}
	if b := h.balance(t, u.ID); b != 100*24 {
		t.Fatalf("balance %d after every purchase was refunded, want %d", b, 100*24)
	}
	h.consistent(t)
	t.Logf("%d purchases before the withdrawal, all refunded", len(bought))
}
