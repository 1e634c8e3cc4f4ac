package fetchsms

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// App is the domain: every business rule of Fetch SMS, written once above the
// storage engine. The web layer, the workers and the command line call it; it
// runs each atomic step (a purchase, a cancel, an inbound SMS, a deposit) as one
// engine transaction, and after the commit tells its listeners what changed.
//
// Where a file holds the rules:
//
//	purchase.go     verifications and rentals: buy, read, cancel, expire
//	inbound.go      the inbound SMS pipeline: dedupe, route, release codes, events
//	ledger.go       the ledger rules, admin adjustments, deposits
//	reversal.go     money a provider takes back: refunds, disputes, what is owed
//	idempotency.go  Idempotency-Key claims and answers
//	catalog.go      the public catalog's stock, area codes, services, number imports
//	webhook.go      webhook endpoints and deliveries: leases, retries, disabling
//	support.go      support tickets, the sales figures, the admins' pool switch
//	credential.go   accounts and credentials: sign-up, login, sessions, API keys,
//	                gateway tokens, authentication
//	gateway.go      gateway tokens kept sealed, rotated, disabled and enabled
//	health.go       gateway health: silent gateways' numbers withdrawn and relisted
//
// Reads and operations that carry no rule pass through to the engine (Store is
// embedded).
type App struct {
	Store
	clock    Clock // business time: expiries, terms, times shown
	wall     Clock // wall time: sessions, credentials, idempotency, leases
	detector atomic.Pointer[detectorBox]
	// reliability holds the figures RefreshReliability computed last
	// (reliability.go): service id → figures, services below the sample absent.
	reliability atomic.Pointer[map[int]Reliability]
	reloadMu    sync.Mutex
	payments    []PaymentProvider // the first is the default; none: deposits are not configured
	secrets     Sealer            // nil: secrets that must be read back are not kept
	partsWait   time.Duration     // how long the parts of a long SMS wait for the rest
	silence     time.Duration     // a gateway not heard from for longer is silent (health.go); 0: off
	operator    bool              // an operator's command: changes no purchase (Options.Operator)
	mailer      Mailer            // nil: no account mails
	logger      *slog.Logger

	instance string // this server among those sharing the store (broadcast.go)
	usage    atomic.Pointer[func(string, map[string]int)]
	usageSeq atomic.Uint64

	mu        sync.Mutex
	listeners []func(context.Context, any)
}

type detectorBox struct{ d Detector }

// Options configure New.
type Options struct {
	// Clock is business time (the sandbox's movable clock); a SteadyClock when
	// nil, which steps of the system clock do not move.
	Clock Clock
	// WallClock is wall time for sessions, credentials, idempotency windows and
	// leases, which the sandbox clock must not move; a SteadyClock when nil.
	WallClock Clock
	// Detector recognises inbound SMS; when nil, New builds one from the
	// services in the store.
	Detector Detector
	// Payments take customers' money into their wallets; the first is the
	// default of a deposit that names none. None leaves deposits off.
	Payments []PaymentProvider
	// Secrets seals the secrets the server must read back (a gateway's token,
	// which signs what the gateway sends); nil keeps none, and gateway
	// software that signs its requests cannot be checked.
	Secrets Sealer
	// PartsWait is how long the parts of a long SMS wait for the rest before
	// what arrived is delivered (multipart.go); DefaultPartsWait when zero.
	PartsWait time.Duration
	// GatewaySilence is how long a gateway may go unheard (no message, no
	// heartbeat) before its numbers are withdrawn from sale (health.go); 0
	// turns the limit off. Every server sharing a database should have the same.
	GatewaySilence time.Duration
	// Operator marks an operator's command (cmd/fetchsms user, gateway …),
	// which may run beside a serving process on the same database: it changes
	// no purchase, since a serving SQLite process caches the verifications it
	// alone writes. What its change leaves for them (the verifications waiting
	// on a gateway it disabled) the servers' health sweep does.
	Operator bool
	// Mailer sends the account mails (password resets, email changes); nil
	// turns those off (account_settings.go).
	Mailer Mailer
	// Logger records what no answer can carry (a reset mail that could not be
	// sent); slog's default when nil.
	Logger *slog.Logger
}

// New returns the domain over an opened store.
func New(ctx context.Context, store Store, o Options) (*App, error) {
	a := &App{Store: store, instance: NewID(), clock: o.Clock, wall: o.WallClock, payments: o.Payments, secrets: o.Secrets, partsWait: o.PartsWait,
		silence: max(o.GatewaySilence, 0), operator: o.Operator, mailer: o.Mailer, logger: o.Logger}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.partsWait <= 0 {
		a.partsWait = DefaultPartsWait
	}
	if a.clock == nil {
		a.clock = NewSteadyClock()
	}
	if a.wall == nil {
		a.wall = NewSteadyClock()
	}
	if o.Detector != nil {
		a.detector.Store(&detectorBox{o.Detector})
	} else if err := a.ReloadRules(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Health is nil while the store can serve, else EUNAVAILABLE.
func (a *App) Health(ctx context.Context) error {
	return storageError("Health", a.Store.Health(ctx), "")
}

// Clock returns the business clock.
func (a *App) Clock() Clock { return a.clock }

// now is business time as stored (milliseconds), so an answer built from it
// equals a later read of the same row.
func (a *App) now() time.Time { return a.clock.Now().Truncate(time.Millisecond).UTC() }

// Until is how long, by the business clock, until t (0 when it has passed): a
// waiting request's longest sleep before a purchase's time is up.
func (a *App) Until(t time.Time) time.Duration {
	if d := t.Sub(a.clock.Now()); d > 0 {
		return d
	}
	return 0
}

// ReloadRules rebuilds the inbound detector from the services' detection rules.
// Admins' edits call it; every server also runs it periodically, since several
// may share a database. Reloads run one at a time, so an older read never
// replaces a newer one.
func (a *App) ReloadRules(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	services, err := a.Store.AllServices(ctx)
	if err != nil {
		return storageError("ReloadRules", err, "")
	}
	a.detector.Store(&detectorBox{NewDetector(services)})
	return nil
}

func (a *App) detect(sender, body string) Detection {
	if b := a.detector.Load(); b != nil && b.d != nil {
		return b.d.Detect(sender, body)
	}
	return Detection{}
}

// Changes the App announces after a commit. Listeners must not block.
type (
	// PurchaseMade: a verification or a rental was bought (one of the two is set).
	PurchaseMade struct {
		Verification *Verification
		Rental       *Rental
	}
	// CodeRequested: a received verification waits again for another code on
	// its number (a resend); the sandbox's SIM bank answers it as a purchase.
	CodeRequested struct{ Verification *Verification }
	// StockChanged: numbers were taken or freed (purchases ended, SMS routed,
	// numbers imported or disabled).
	StockChanged struct{}
	// CredentialsChanged: a credential ended or changed (a logout, an API key
	// rotated or revoked, an account disabled or enabled, a gateway's token
	// replaced). Caches of resolved credentials drop what they hold.
	CredentialsChanged struct{}
	// PurchaseChanged: a verification or rental changed (a code or message
	// arrived, it was cancelled or ended), and UserID's event log may have
	// grown; both ids "" when several may have (an expiry sweep): waiters
	// re-read what they wait for. Remote: announced by another server sharing
	// the database (Broadcaster), not to be passed on again.
	PurchaseChanged struct {
		VerificationID, RentalID, UserID string
		Remote                           bool
	}
	// CodeDelivered: an SMS released a code to a waiting verification, Wait
	// after it was bought.
	CodeDelivered struct {
		VerificationID string
		ServiceSlug    string
		Wait           time.Duration
	}
	// LedgerPosted: a committed transaction posted these ledger entries
	// (purchases, refunds, deposits, adjustments).
	LedgerPosted struct{ Entries []LedgerEntry }
	// StorageUpdate: one engine transaction (Op names the App step) ended after
	// Duration, with Err (nil when it committed). Every update announces it,
	// committed or not.
	StorageUpdate struct {
		Op       string
		Duration time.Duration
		Err      error
	}
	// DeliveryAttempted: a webhook delivery attempt was recorded; GaveUp when
	// it was the last one the retry schedule allows.
	DeliveryAttempted struct {
		OK     bool
		GaveUp bool
	}
)

// Listen registers fn to hear every change, in commit order as seen by this
// server, before the request that caused it is answered.
func (a *App) Listen(fn func(ctx context.Context, change any)) {
	a.mu.Lock()
	a.listeners = append(a.listeners, fn)
	a.mu.Unlock()
}

func (a *App) publish(ctx context.Context, changes ...any) {
	a.mu.Lock()
	ls := a.listeners
	a.mu.Unlock()
	for _, c := range changes {
		if pc, ok := c.(PurchaseChanged); ok {
			a.broadcast(pc)
		}
		for _, fn := range ls {
			fn(ctx, c)
		}
	}
}

// update runs fn as one engine transaction and translates its error. It
// announces how long the transaction took (StorageUpdate) and, once it has
// committed, the ledger entries it posted (LedgerPosted).
func (a *App) update(ctx context.Context, op string, fn func(Tx) error) error {
	var posted []LedgerEntry
	var debited *LedgerEntry
	start := time.Now()
	err := a.Store.Update(ctx, op, func(tx Tx) error {
		posted, debited = posted[:0], nil // an engine may run fn again after a conflict
		return fn(postNoter{Tx: tx, posted: &posted, debited: &debited})
	})
	if errors.Is(err, ErrDebitRefused) && debited != nil {
		err = a.refused(ctx, debited)
	}
	err = storageError(op, err, "")
	a.publish(ctx, StorageUpdate{Op: op, Duration: time.Since(start), Err: err})
	if err == nil && len(posted) > 0 {
		a.publish(ctx, LedgerPosted{Entries: posted})
	}
	return err
}

// refused answers a purchase whose Debit was refused, from the wallet as it is
// now (the transaction that was refused changed nothing).
func (a *App) refused(ctx context.Context, e *LedgerEntry) error {
	var w Wallet
	err := a.Store.Update(ctx, "WalletOf", func(tx Tx) error {
		var err error
		w, err = tx.WalletOf(ctx, e.UserID)
		return err
	})
	if err != nil {
		return err
	}
	return refusal(e, w)
}

// postNoter is the Tx an update's fn sees: it notes the ledger entries that
// were applied, to be announced once the transaction commits, and the debit
// whose refusal it may have to answer.
type postNoter struct {
	Tx
	posted  *[]LedgerEntry
	debited **LedgerEntry
}

func (t postNoter) Post(ctx context.Context, e *LedgerEntry) (bool, Wallet, error) {
	applied, w, err := t.Tx.Post(ctx, e)
	if err == nil && applied {
		*t.posted = append(*t.posted, *e)
	}
	return applied, w, err
}

func (t postNoter) Credit(ctx context.Context, e *LedgerEntry) error {
	err := t.Tx.Credit(ctx, e)
	if err == nil {
		*t.posted = append(*t.posted, *e)
	}
	return err
}

func (t postNoter) Debit(ctx context.Context, e *LedgerEntry) error {
	*t.debited = e
	err := t.Tx.Debit(ctx, e)
	if err == nil {
		*t.posted = append(*t.posted, *e)
	}
	return err
}

// NewID returns a new row id: a time-ordered UUID (version 7), so that new rows
// land at the end of the id indexes instead of on random pages.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
