package fetchsms

import (
	"context"
	"errors"
	"fmt"
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
	// ErrNumberTaken: HoldNumber found the number held, disabled or withdrawn.
	ErrNumberTaken = errors.New("number not free")
	// ErrDebitRefused: a Debit found the balance too low or the account owing.
	ErrDebitRefused = errors.New("debit refused")
	// ErrStorageFull: the disk is full, so nothing can be written; reads work.
	// It is an ErrUnavailable.
	ErrStorageFull = fmt.Errorf("%w: the disk is full", ErrUnavailable)
	// ErrReadOnly: the storage was made read-only under the server; reads work.
	// It is an ErrUnavailable.
	ErrReadOnly = fmt.Errorf("%w: the storage is read-only", ErrUnavailable)
)

// Store is what a storage engine provides: atomic steps through Update, and the
// reads of each role. It is one interface for wiring; each role is declared beside
// its rules.
type Store interface {
	Close() error
	// Health is nil while the store can serve; otherwise ErrUnavailable (SQLite
	// after a failed flush, which needs a restart; PostgreSQL unreachable).
	Health(ctx context.Context) error
	Updater

	AccountStore     // credential.go
	CatalogStore     // catalog.go
	PurchaseStore    // purchase.go
	WalletStore      // ledger.go
	IdempotencyStore // idempotency.go
	WebhookStore     // webhook.go
	EventStore       // events.go
	SupportStore     // support.go
	PartStore        // multipart.go
	GatewayStore     // health.go
	ReportStore      // report.go
	RentalTermStore  // extend.go
	ReliabilityStore // reliability.go
	SettingsStore
}

// SettingsStore keeps shared settings (the sandbox clock's offset).
type SettingsStore interface {
	// Setting reads a shared setting ("" when unset); SetSetting writes one.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// Updater runs atomic steps. Update runs fn as one transaction and returns once it
// is durable (or failed): fn's writes all happen or none do. fn may run more than
// once (PostgreSQL retries a transaction it aborted on a deadlock or a
// serialization failure), so it must set its results afresh on each run. op names
// the step in logs.
type Updater interface {
	Update(ctx context.Context, op string, fn func(Tx) error) error
}

// Tx is what one transaction can do: the write-side roles, each a small set of
// statements, declared beside their rules.
type Tx interface {
	AccountTx     // credential.go
	CatalogTx     // catalog.go
	NumberTx      // purchase.go
	PurchaseTx    // purchase.go
	LedgerTx      // ledger.go
	DepositTx     // ledger.go
	InboundTx     // inbound.go
	PartTx        // multipart.go
	OutboxTx      // webhook.go
	WebhookTx     // webhook.go
	IdempotencyTx // idempotency.go
	SupportTx     // support.go
	GatewayTx     // health.go
	ReportTx      // report.go
	RentalTermTx  // extend.go
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
