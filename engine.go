package fetchsms

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file is the contract between the domain (App, in this package) and a
// storage engine (sqlite/, postgres/). An engine holds SQL and transaction
// mechanics only: it decides nothing a customer could notice, and it writes no
// message a customer could read. The rules — which number, what it costs, when a
// purchase ends, who is refunded, what an SMS releases — are the App's.

// Errors an engine returns for the App to translate. Engines wrap them (with %w)
// so the driver's error stays in the chain for the logs.
var (
	// ErrNoRow: the row asked for does not exist (or is not the caller's).
	ErrNoRow = errors.New("no such row")
	// ErrDuplicate: a UNIQUE or PRIMARY KEY constraint refused the write.
	ErrDuplicate = errors.New("duplicate key")
	// ErrUnavailable: the storage has failed or cannot be reached.
	ErrUnavailable = errors.New("storage unavailable")
)

// Updater runs atomic steps. Update runs fn as one transaction and returns once it
// is durable (or failed): fn's writes all happen or none do. fn may run more than
// once (PostgreSQL retries a transaction it aborted on a deadlock or a
// serialization failure), so it must set its results afresh on each run. op names
// the step in logs.
type Updater interface {
	Update(ctx context.Context, op string, fn func(Tx) error) error
}

// Tx is what one transaction can do: the write-side roles below, each a small set
// of statements.
type Tx interface {
	CatalogTx
	NumberTx
	LedgerTx
	PurchaseTx
	InboundTx
	OutboxTx
	IdempotencyTx
	DepositTx
	WebhookTx
	SupportTx
	AccountTx
}

// NumberPick says which free number a purchase wants.
type NumberPick struct {
	// Pristine asks for a number never sold (rentals). Otherwise: one that never
	// gave ServiceID a code, numbers already used for other services first, then
	// the one released longest ago.
	Pristine  bool
	ServiceID int
	AreaCode  string // "" for any
}

// NumberTx reserves and frees pool numbers. A number has at most one holder (a
// live purchase, "v:<id>" or "r:<id>"), enforced by the schema.
type NumberTx interface {
	// PickNumber returns a free, active number as p asks; ErrNoRow when none. On
	// PostgreSQL the row stays locked to the end of the transaction.
	PickNumber(ctx context.Context, p NumberPick) (numberID, e164 string, err error)
	// HoldNumber gives the free number to holder; an error when it is not free.
	HoldNumber(ctx context.Context, numberID, holder string, now time.Time) error
	// ReleaseNumber frees the number if holder holds it.
	ReleaseNumber(ctx context.Context, numberID, holder string, now time.Time) error
	// MarkNumberUsed records that the number gave serviceID a code.
	MarkNumberUsed(ctx context.Context, numberID string, serviceID int) error
	// InboundNumber returns the pool number e164 of gatewayID and its holder ("" when
	// free); ErrNoRow when the gateway has no such number.
	InboundNumber(ctx context.Context, gatewayID, e164 string) (numberID, holder string, err error)
}

// LedgerTx moves money. The balance and its ledger change together or not at all.
type LedgerTx interface {
	// Post adds e.AmountCents to the user's balance and appends e (ID and
	// BalanceAfterCents are set), unless the balance would go below zero: then it
	// changes nothing and returns applied false and the balance as it is. ErrNoRow
	// when the user does not exist.
	Post(ctx context.Context, e *LedgerEntry) (applied bool, balance Cents, err error)
}

// VerificationUpdate moves a verification from one status to another. The move
// happens only while the row is in From (and, when UserID is set, is the user's;
// when OpenAt is set, its window is still open at OpenAt). Code and ReceivedAt
// are written with the received status.
type VerificationUpdate struct {
	ID, UserID string
	From, To   string
	OpenAt     time.Time
	Code       string
	Now        time.Time
}

// RentalUpdate moves a rental from one status to another, guarded by From. A
// non-empty LastCode is recorded; ended statuses record Now as the end.
type RentalUpdate struct {
	ID       string
	From, To string
	LastCode string
	Now      time.Time
}

// PurchaseTx writes verifications and rentals.
type PurchaseTx interface {
	// InsertVerification stores v (ID set by the caller) and sets v.Ref.
	InsertVerification(ctx context.Context, v *Verification) error
	// LockVerification reads a verification and, on PostgreSQL, locks its row to
	// the end of the transaction; ErrNoRow when none.
	LockVerification(ctx context.Context, id string) (*Verification, error)
	// UpdateVerification applies u and returns the row as it now is, or nil when
	// the guard did not match.
	UpdateVerification(ctx context.Context, u VerificationUpdate) (*Verification, error)
	// InsertRental stores r (ID set by the caller) and sets r.Ref.
	InsertRental(ctx context.Context, r *Rental) error
	// LockRental is LockVerification for rentals.
	LockRental(ctx context.Context, id string) (*Rental, error)
	// UpdateRental applies u; false when the guard did not match.
	UpdateRental(ctx context.Context, u RentalUpdate) (bool, error)
}

// InboundTx stores inbound SMS.
type InboundTx interface {
	// InboundSeen returns what an earlier message with this gateway id was routed
	// to; ErrNoRow when it is new.
	InboundSeen(ctx context.Context, gatewayID, gatewayMsgID string) (*InboundResult, error)
	// InsertMessage stores m (ID set by the caller).
	InsertMessage(ctx context.Context, m *Message) error
}

// OutboxTx queues webhook deliveries in the transaction of the change they announce.
type OutboxTx interface {
	// Subscribers returns the user's live, enabled endpoints (ID and Events), or
	// with only set that live endpoint alone, enabled or not.
	Subscribers(ctx context.Context, userID, only string) ([]*WebhookEndpoint, error)
	// Queue stores ev and a pending delivery, due at ev.CreatedAt, for each of
	// deliveries (ID and EndpointID set by the caller), and wakes the delivery
	// workers after the commit.
	Queue(ctx context.Context, ev *Event, deliveries []*Delivery) error
}

// IdempotencyTx keeps Idempotency-Keys, and records which resource a request run
// under one touched.
type IdempotencyTx interface {
	IdempotencyStore
	SetIdempotentResource(ctx context.Context, userID, key, resourceID string) error
}

// DepositTx writes deposits.
type DepositTx interface {
	InsertDeposit(ctx context.Context, d *Deposit) error
	// LockDeposit reads a deposit, locking its row on PostgreSQL; ErrNoRow when none.
	LockDeposit(ctx context.Context, id string) (*Deposit, error)
	// SetDepositCompleted marks the deposit completed with the provider's reference.
	SetDepositCompleted(ctx context.Context, id, providerRef string, now time.Time) error
}

// PurchaseReader reads purchases outside a transaction.
type PurchaseReader interface {
	// LoadVerification returns the user's verification; ErrNoRow when none.
	LoadVerification(ctx context.Context, userID, id string) (*Verification, error)
	// LoadVerifications lists the user's waiting (history false) or ended
	// verifications newest first, and the cursor of the next page.
	LoadVerifications(ctx context.Context, userID string, history bool, p Page) ([]*Verification, int64, error)
	LoadRental(ctx context.Context, userID, id string) (*Rental, error)
	// LoadRentals lists the user's live (history false) or ended rentals.
	LoadRentals(ctx context.Context, userID string, history bool, p Page) ([]*Rental, int64, error)
	// LoadRentalMessages lists the SMS routed to a rental, newest first.
	LoadRentalMessages(ctx context.Context, rentalID string, p Page) ([]*Message, int64, error)
	// CountOverdue counts the user's purchases still live at now whose time is up.
	CountOverdue(ctx context.Context, userID string, now time.Time) (int, error)
	// Overdue returns up to limit ids of verifications and of rentals still live at
	// now whose time is up, most overdue first.
	Overdue(ctx context.Context, now time.Time, limit int) (verifications, rentals []string, err error)
}

// ClassifyEngineError is for engines: it wraps a driver's error in the sentinel
// it stands for (noRows is the driver's "no rows" error; unavailable and unique
// tell its storage failures and constraint violations). *Error passes as is.
func ClassifyEngineError(err, noRows error, unavailable, unique func(error) bool) error {
	var fe *Error
	switch {
	case err == nil, errors.As(err, &fe):
		return err
	case errors.Is(err, noRows):
		return fmt.Errorf("%w: %w", ErrNoRow, err)
	case unavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case unique(err):
		return fmt.Errorf("%w: %w", ErrDuplicate, err)
	}
	return err
}

// storageError turns what an engine returned into an *Error for the caller: an
// *Error passes unchanged (a copy gains op when it has none: errors may be shared
// values, never mutated), ErrNoRow becomes ENOTFOUND with notFound as its message,
// ErrDuplicate ECONFLICT, ErrUnavailable EUNAVAILABLE, anything else EINTERNAL.
func storageError(op string, err error, notFound string) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		if fe.Op != "" {
			return err
		}
		c := *fe
		c.Op = op
		return &c
	}
	if errors.Is(err, ErrNoRow) && notFound != "" {
		return &Error{Code: ENOTFOUND, Message: notFound, Op: op, Err: err}
	}
	if code, msg := sentinelCode(err); code != "" {
		return &Error{Code: code, Message: msg, Op: op, Err: err}
	}
	return &Error{Code: EINTERNAL, Op: op, Err: err}
}

// StorageError is storageError for the packages that still call engines directly
// (the web layer's reads).
func StorageError(op string, err error, notFound string) error {
	return storageError(op, err, notFound)
}
