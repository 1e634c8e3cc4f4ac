// Package storetest is the conformance suite every storage engine must pass: the
// money and inventory rules, lifecycles, idempotency and concurrency, expressed
// against the domain (fetchsms.App) over the engine under test. Each engine's tests call Run with a function that
// opens a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Opener opens a fresh, empty store for one test and closes it on cleanup; the
// suite runs the domain (fetchsms.App) over it.
type Opener func(t *testing.T) fetchsms.Store

// LedgerTamperer is implemented, in their test builds, by engines that let a test
// try to rewrite a ledger entry, which the schema must refuse.
type LedgerTamperer interface {
	TamperLedgerForTest(ctx context.Context, id string) error
}

// Run runs the whole suite against the engine that open makes.
func Run(t *testing.T, open Opener) {
	t.Run("VerificationLifecycle", func(t *testing.T) { t.Parallel(); testVerificationLifecycle(t, open) })
	t.Run("RentalLifecycle", func(t *testing.T) { t.Parallel(); testRentalLifecycle(t, open) })
	t.Run("LedgerIsAppendOnly", func(t *testing.T) { t.Parallel(); testLedgerIsAppendOnly(t, open) })
	t.Run("CreditNeverLost", func(t *testing.T) { t.Parallel(); testCreditNeverLost(t, open) })
	t.Run("LedgerNamesItsPurchases", func(t *testing.T) { t.Parallel(); testLedgerNamesItsPurchases(t, open) })
	t.Run("Accounts", func(t *testing.T) { t.Parallel(); testAccounts(t, open) })
	t.Run("AccountTokens", func(t *testing.T) { t.Parallel(); testAccountTokens(t, open) })
	t.Run("CredentialRules", func(t *testing.T) { t.Parallel(); testCredentialRules(t, open) })
	t.Run("ConcurrentCredentials", func(t *testing.T) { t.Parallel(); testConcurrentCredentials(t, open) })
	t.Run("IdempotencyAfterCrash", func(t *testing.T) { t.Parallel(); testIdempotencyAfterCrash(t, open) })
	t.Run("Webhooks", func(t *testing.T) { t.Parallel(); testWebhooks(t, open) })
	t.Run("EventLog", func(t *testing.T) { t.Parallel(); testEventLog(t, open) })
	t.Run("Support", func(t *testing.T) { t.Parallel(); testSupport(t, open) })
	t.Run("AdminViews", func(t *testing.T) { t.Parallel(); testAdminViews(t, open) })
	t.Run("InboundLog", func(t *testing.T) { t.Parallel(); testInboundLog(t, open) })
	t.Run("Services", func(t *testing.T) { t.Parallel(); testServices(t, open) })
	t.Run("ActivationCodes", func(t *testing.T) { t.Parallel(); testActivationCodes(t, open) })
	t.Run("VerificationByRef", func(t *testing.T) { t.Parallel(); testVerificationByRef(t, open) })
	t.Run("MaxPrice", func(t *testing.T) { t.Parallel(); testMaxPrice(t, open) })
	t.Run("OpenVerifications", func(t *testing.T) { t.Parallel(); testOpenVerifications(t, open) })
	t.Run("Deposits", func(t *testing.T) { t.Parallel(); testDeposits(t, open) })
	t.Run("PaymentEvents", func(t *testing.T) { t.Parallel(); testPaymentEvents(t, open) })
	t.Run("TakeBack", func(t *testing.T) { t.Parallel(); testTakeBack(t, open) })
	t.Run("WaitingOnGateway", func(t *testing.T) { t.Parallel(); testWaitingOnGateway(t, open) })
	t.Run("Gateways", func(t *testing.T) { t.Parallel(); testGateways(t, open) })
	t.Run("Multipart", func(t *testing.T) { t.Parallel(); testMultipart(t, open) })
	t.Run("GatewayHealth", func(t *testing.T) { t.Parallel(); testGatewayHealth(t, open) })
	t.Run("GatewayWithdrawRace", func(t *testing.T) { t.Parallel(); testGatewayWithdrawRace(t, open) })
	t.Run("SealedSecrets", func(t *testing.T) { t.Parallel(); testSealedSecrets(t, open) })
	t.Run("FairDeliveries", func(t *testing.T) { t.Parallel(); testFairDeliveries(t, open) })
	t.Run("Resend", func(t *testing.T) { t.Parallel(); testResend(t, open) })
	t.Run("Report", func(t *testing.T) { t.Parallel(); testReport(t, open) })
	t.Run("Extend", func(t *testing.T) { t.Parallel(); testExtend(t, open) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, open) })
	t.Run("ClockSteps", func(t *testing.T) { t.Parallel(); testClockSteps(t, open) })
	t.Run("Links", func(t *testing.T) { t.Parallel(); testLinks(t, open) })
	t.Run("Reliability", func(t *testing.T) { t.Parallel(); testReliability(t, open) })
	t.Run("Simulation", func(t *testing.T) { t.Parallel(); testSimulation(t, open) })
	t.Run("SimulationConcurrent", func(t *testing.T) { t.Parallel(); testSimulationConcurrent(t, open) })
}

// Clock is a movable clock for store tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db      *fetchsms.App
	store   fetchsms.Store
	clock   *Clock
	wall    *Clock // wall time: sessions, credentials, idempotency windows, leases
	gateway *fetchsms.Gateway
	numbers []string
}

var userSeq atomic.Int64

// setup opens a fresh store with the default catalog, one gateway and n numbers,
// and checks the invariants when the test ends.
func setup(t *testing.T, open Opener, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	store := open(t)
	if err := store.Health(ctx); err != nil {
		t.Fatalf("a fresh store is not healthy: %v", err)
	}
	clock := NewClock(time.Date(2026, 6, 17, 22, 14, 5, 0, time.UTC))
	wall := NewClock(time.Now())
	if err := store.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	db, err := fetchsms.New(ctx, store, fetchsms.Options{Clock: clock, WallClock: wall})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := db.CreateGateway(ctx, "bank")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, store: store, clock: clock, wall: wall, gateway: gw}
	for i := 0; i < n; i++ {
		f.numbers = append(f.numbers, fmt.Sprintf("+1332555%04d", 1000+i))
	}
	if n > 0 {
		if _, _, err := db.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(f.numbers)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { f.checkInvariants(t) })
	return f
}

func (f *fixture) user(t *testing.T, balance fetchsms.Cents) *fetchsms.User {
	t.Helper()
	ctx := context.Background()
	u, err := f.db.CreateUser(ctx, fmt.Sprintf("u%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1)), "password123", fetchsms.RoleCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := f.db.Adjust(ctx, u.ID, balance, "test credit"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func (f *fixture) checkInvariants(t *testing.T) {
	t.Helper()
	c, err := f.db.CheckInvariants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !c.OK() {
		t.Errorf("invariants broken: %+v", c)
	}
}

func (f *fixture) balance(t *testing.T, userID string) fetchsms.Cents {
	t.Helper()
	b, err := f.db.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
