package fetchsms

import (
	"context"
	"fmt"
	"time"
)

// Store is what a storage engine provides (sqlite/ by default, postgres/ at
// scale): atomic steps through Update (engine.go lists what a transaction can
// do), and reads. The rules live in App, which embeds the Store; the methods below
// that still carry rules of their own move into App one role at a time. Errors
// are the sentinels of engine.go or *Error; the conformance suite in storetest/
// runs the App over every engine.
type Store interface {
	Close() error
	// Health is nil while the store can serve; otherwise ErrUnavailable (SQLite
	// after a failed flush, which needs a restart; PostgreSQL unreachable).
	Health(ctx context.Context) error
	Updater
	PurchaseReader

	// Accounts and credentials.
	AccountStore

	// Catalog and pool.
	CatalogStore
	// SeedCatalog inserts the services of cat the database does not have yet
	// (by id); existing rows, which admins may have edited, are left alone.
	SeedCatalog(ctx context.Context, cat []Service) error
	// ServiceByID returns a service, enabled or not; ServiceByRef the enabled
	// service whose id or slug is ref; ErrNoRow when none.
	ServiceByID(ctx context.Context, id int) (*Service, error)
	ServiceByRef(ctx context.Context, ref string) (*Service, error)
	// AllServices returns every service in display order, disabled ones included.
	AllServices(ctx context.Context) ([]*Service, error)
	CountNumbers(ctx context.Context) (int, error)
	// NumberGateway returns the gateway of a pool number; ErrNoRow when none.
	NumberGateway(ctx context.Context, e164 string) (string, error)
	// Setting reads a shared setting ("" when unset); SetSetting writes one.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// Wallet.
	Balance(ctx context.Context, userID string) (Cents, error)
	Ledger(ctx context.Context, userID string, p Page) ([]*LedgerEntry, int64, error)
	// CheckInvariants checks the money and inventory invariants at business time now.
	CheckInvariants(ctx context.Context, now time.Time) (*LedgerCheck, error)

	// Idempotency keys older than before are forgotten.
	PurgeIdempotencyBefore(ctx context.Context, before time.Time) (int64, error)

	// Webhooks (webhook.go).
	WebhookStore

	// Support tickets and the admin views (support.go).
	SupportStore
}

// IdempotencyWindow is how long an idempotency key is remembered.
const IdempotencyWindow = 48 * time.Hour

// IdempotencyAbandonedAfter is how long a request may run before a retry with its
// key may look at what it left behind (the server died, or the client went away).
const IdempotencyAbandonedAfter = 30 * time.Second

// Idempotency is the state of one key, as BeginIdempotent found it.
type Idempotency struct {
	// Replay is set when the key already has an answer: Status and Response.
	Replay   bool
	Status   int
	Response []byte
	// ResourceID is set when an earlier run of the request committed its change but
	// died before storing the answer: the caller renders the resource instead.
	ResourceID string
}

type idemKey struct{}

type idemScope struct{ userID, key string }

// WithIdempotency marks ctx so that the purchase or cancel run under it records,
// in its own transaction, the resource it touched against the key.
func WithIdempotency(ctx context.Context, userID, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, idemScope{userID, key})
}

// IdempotencyScope returns the key that ctx runs under, if any.
func IdempotencyScope(ctx context.Context) (userID, key string, ok bool) {
	sc, ok := ctx.Value(idemKey{}).(idemScope)
	return sc.userID, sc.key, ok
}

// LedgerCheck is the result of Store.CheckInvariants.
type LedgerCheck struct {
	Users              int
	BalanceMismatches  []string // users whose balance differs from their ledger sum
	NegativeBalances   []string
	DoubleRefunds      int
	DoubleHeldNumbers  int
	WaitingPastExpiry  int // waiting verifications whose window has closed (a sweep is due)
	RefundsWithoutBuys int
	ReceivedRefunded   int // verifications that both released a code and were refunded
}

// OK reports whether every invariant holds.
func (c *LedgerCheck) OK() bool {
	return len(c.BalanceMismatches) == 0 && len(c.NegativeBalances) == 0 && c.DoubleRefunds == 0 &&
		c.DoubleHeldNumbers == 0 && c.RefundsWithoutBuys == 0 && c.ReceivedRefunded == 0
}

func (c *LedgerCheck) String() string { return fmt.Sprintf("%+v", *c) }
