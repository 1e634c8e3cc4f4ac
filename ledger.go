package fetchsms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LedgerTx moves money. The balance and its ledger change together or not at all.
type LedgerTx interface {
	// Post adds e.AmountCents to the user's balance and appends e (ID and
	// BalanceAfterCents are set), unless the balance would go below zero: then it
	// changes nothing and returns applied false. It returns the wallet as it is
	// then. ErrNoRow when the user does not exist.
	Post(ctx context.Context, e *LedgerEntry) (applied bool, w Wallet, err error)
	// Credit adds the positive e.AmountCents to the user's balance and appends e
	// (ID set), which always applies. Its outcome is no step's to read: on
	// PostgreSQL it travels with the transaction's next statement or its
	// commit, and a failure (no such user) fails that statement and so the
	// whole transaction. e.BalanceAfterCents is not set.
	Credit(ctx context.Context, e *LedgerEntry) error
	// Debit subtracts a purchase's price (negative e.AmountCents) from the
	// user's balance and appends e (ID set), unless the balance would go below
	// zero or the user owes (Wallet.Owed > 0): then the transaction fails with
	// ErrDebitRefused. Its outcome is no step's to read: on PostgreSQL it travels
	// with the commit, so a purchase's debit is its last step and its wallet
	// row is locked for the commit alone. e.BalanceAfterCents is not set.
	Debit(ctx context.Context, e *LedgerEntry) error
}

// Wallet is a user's balance, and what they owe for deposits the provider took
// back after they spent them.
type Wallet struct{ Balance, Owed Cents }

// DepositTx writes deposits.
type DepositTx interface {
	InsertDeposit(ctx context.Context, d *Deposit) error
	// LockDeposit reads a deposit, locking its row on PostgreSQL; ErrNoRow when none.
	LockDeposit(ctx context.Context, id string) (*Deposit, error)
	// SetDepositSucceeded marks the deposit succeeded (credited) with its
	// ProviderRef and PaymentRef.
	SetDepositSucceeded(ctx context.Context, d *Deposit, now time.Time) error
	// LockDepositByPaymentRef reads (locking, on PostgreSQL) the deposit of a
	// provider's payment object; ErrNoRow when none.
	LockDepositByPaymentRef(ctx context.Context, provider, paymentRef string) (*Deposit, error)
	// SetDepositClaims writes the deposit's Status, RefundedCents,
	// DisputedCents, OwedCents and ForgivenCents.
	SetDepositClaims(ctx context.Context, d *Deposit) error
	// AddOwed changes what the user owes by delta (users' sum of OwedCents).
	AddOwed(ctx context.Context, userID string, delta Cents) error
	// SetDepositStatus moves the deposit from one status to another; false when
	// it was not in from.
	SetDepositStatus(ctx context.Context, id, from, to string) (bool, error)
	// InsertPaymentEvent keeps a provider's event; false when the provider sent
	// this event id before (it is then not stored again).
	InsertPaymentEvent(ctx context.Context, ev *PaymentEvent) (bool, error)
	// SetPaymentEventResult notes what became of the event.
	SetPaymentEventResult(ctx context.Context, provider, eventID, result string) error
}

// The ledger rules. Every balance change is a ledger entry written in the same
// transaction as its cause (a purchase, a refund, a deposit, an admin's
// adjustment); a balance never goes below zero; entries are never changed (the
// schema refuses it).

// WalletStore reads wallets.
type WalletStore interface {
	// Balance returns the user's balance; ErrNoRow when there is no such user.
	Balance(ctx context.Context, userID string) (Cents, error)
	// Ledger returns the user's entries newest first, and the next page's cursor;
	// an entry of a verification or rental carries its service's name and its
	// number (ServiceName, Number).
	Ledger(ctx context.Context, userID string, p Page) ([]*LedgerEntry, int64, error)
	// Deposits returns the user's deposits newest first, and the next page's cursor.
	Deposits(ctx context.Context, userID string, p Page) ([]*Deposit, int64, error)
	// Deposit reads one deposit; ErrNoRow when there is none.
	Deposit(ctx context.Context, id string) (*Deposit, error)
	// AllDeposits returns every customer's deposits newest first (admins).
	AllDeposits(ctx context.Context, p Page) ([]*Deposit, int64, error)
	// PaymentEvents returns the providers' events newest first, with what became
	// of each, without their payloads (admins).
	PaymentEvents(ctx context.Context, p Page) ([]*PaymentEvent, int64, error)
	// CheckInvariants checks the money and inventory invariants over the whole
	// store at business time now.
	CheckInvariants(ctx context.Context, now time.Time) (*LedgerCheck, error)
}

// debit posts a negative entry, or EPAYMENT when the balance cannot cover it,
// or when it is a purchase by an account that owes money (the caller's
// transaction then rolls back).
func debit(ctx context.Context, tx LedgerTx, e *LedgerEntry) error {
	applied, w, err := post(ctx, tx, e)
	if err != nil {
		return err
	}
	if (e.Kind == LedgerPurchase && w.Owed > 0) || !applied {
		return refusal(e, w)
	}
	return nil
}

// refusal is the customer's answer to a debit refused, from the wallet as it was.
func refusal(e *LedgerEntry, w Wallet) error {
	if e.Kind == LedgerPurchase && w.Owed > 0 {
		return Reasonf(EPAYMENT, ReasonPaymentPaused, "purchases are paused: a payment of yours was refunded or disputed after you spent it, and %s of it is still owed; contact support to settle it", Dollars(w.Owed))
	}
	return Errorf(EPAYMENT, "insufficient balance: this costs %s and your balance is %s", Dollars(-e.AmountCents), Dollars(w.Balance))
}

// payLast debits a purchase's price as the last step of its transaction
// (Debit); a refusal is answered by the App once the transaction has failed
// (update, refused).
func payLast(ctx context.Context, tx LedgerTx, e *LedgerEntry) error {
	e.ID = NewID()
	return tx.Debit(ctx, e)
}

// credit posts a positive entry: a refund or a deposit, which always applies.
func credit(ctx context.Context, tx LedgerTx, e *LedgerEntry) error {
	if e.AmountCents <= 0 {
		return fmt.Errorf("credit of %d cents", e.AmountCents)
	}
	e.ID = NewID()
	err := tx.Credit(ctx, e)
	if errors.Is(err, ErrNoRow) {
		return Errorf(ENOTFOUND, "user not found")
	}
	return err
}

func post(ctx context.Context, tx LedgerTx, e *LedgerEntry) (bool, Wallet, error) {
	e.ID = NewID()
	applied, w, err := tx.Post(ctx, e)
	if errors.Is(err, ErrNoRow) {
		return false, w, Errorf(ENOTFOUND, "user not found")
	}
	return applied, w, err
}

// Dollars formats cents for a customer: "$0.70", "-$1.05".
func Dollars(c Cents) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// Balance returns the user's balance, or ENOTFOUND.
func (a *App) Balance(ctx context.Context, userID string) (Cents, error) {
	b, err := a.Store.Balance(ctx, userID)
	return b, storageError("Balance", err, "user not found")
}

// Adjust credits (positive) or debits (negative) a user's wallet by an admin,
// with a reason. A debit below zero is EPAYMENT.
func (a *App) Adjust(ctx context.Context, userID string, amount Cents, reason string) (*LedgerEntry, error) {
	reason = strings.TrimSpace(reason)
	if amount == 0 {
		return nil, Errorf(EUNPROCESSABLE, "amount_cents must not be zero")
	}
	if reason == "" || len(reason) > 500 {
		return nil, Errorf(EUNPROCESSABLE, "reason is required (1–500 characters)")
	}
	var out *LedgerEntry
	err := a.update(ctx, "Adjust", func(tx Tx) error {
		e := &LedgerEntry{UserID: userID, Kind: LedgerAdjustment, AmountCents: amount, Reason: reason, CreatedAt: a.now()}
		out = e
		if amount < 0 {
			return debit(ctx, tx, e)
		}
		// Posted, not deferred as a credit may be: the answer shows the balance after it.
		applied, _, err := post(ctx, tx, e)
		if err == nil && !applied {
			err = fmt.Errorf("credit of %d cents to %s was refused", e.AmountCents, e.UserID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deposits are bounded per request: at least $1.00, at most $10,000.00.
const (
	MinDeposit Cents = 100
	MaxDeposit Cents = 1_000_000
)

// Deposit starts a top-up of the user's wallet through a payment provider (by
// name; "" is the server's default). The provider is asked first (with the
// deposit's id as its reference), so a provider that fails leaves nothing
// behind; then the deposit is stored, pending, with the provider's reference and
// checkout URL. A provider that takes the money at once (the sandbox) has it
// credited before the answer. An amount out of bounds or an unknown provider is
// EUNPROCESSABLE; a server without providers ECONFLICT.
func (a *App) Deposit(ctx context.Context, userID, provider string, amount Cents, returnURL string) (*Deposit, error) {
	if amount < MinDeposit || amount > MaxDeposit {
		return nil, Errorf(EUNPROCESSABLE, "amount_cents must be from %d to %d", MinDeposit, MaxDeposit)
	}
	if len(a.payments) == 0 {
		return nil, Errorf(ECONFLICT, "deposits are not configured on this server")
	}
	p := a.payments[0]
	if provider != "" {
		if p = a.PaymentProvider(provider); p == nil {
			return nil, Errorf(EUNPROCESSABLE, "provider must be one of: %s", strings.Join(a.PaymentProviders(), ", "))
		}
	}
	d := &Deposit{ID: NewID(), UserID: userID, AmountCents: amount, Status: DepositPending, Provider: p.Name(), CreatedAt: a.now(), ReturnURL: returnURL}
	ref, url, completed, err := p.Begin(ctx, d)
	if err != nil {
		return nil, err
	}
	d.ProviderRef, d.CheckoutURL = ref, url
	if err := a.update(ctx, "Deposit", func(tx Tx) error { return tx.InsertDeposit(ctx, d) }); err != nil {
		return nil, err
	}
	if !completed {
		return d, nil
	}
	done, err := a.CompleteDeposit(ctx, d.ID, ref)
	if err != nil {
		return nil, err
	}
	done.CheckoutURL = url
	return done, nil
}

// UserDeposit returns the user's deposit; ENOTFOUND when it is not theirs.
func (a *App) UserDeposit(ctx context.Context, userID, id string) (*Deposit, error) {
	d, err := a.Store.Deposit(ctx, id)
	if err == nil && d.UserID != userID {
		err = ErrNoRow
	}
	return d, storageError("UserDeposit", err, "deposit not found")
}

// PaymentProviders names the server's payment providers, the default first;
// none when deposits are not configured.
func (a *App) PaymentProviders() []string {
	names := make([]string, len(a.payments))
	for i, p := range a.payments {
		names[i] = p.Name()
	}
	return names
}

// PaymentProvider returns the provider of that name, nil when the server has
// none of that name.
func (a *App) PaymentProvider(name string) PaymentProvider {
	for _, p := range a.payments {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// CompleteDeposit marks a pending deposit succeeded and credits the wallet with
// the amount it was created with, in one transaction. Completing it again is a
// no-op that returns the deposit.
func (a *App) CompleteDeposit(ctx context.Context, depositID, providerRef string) (*Deposit, error) {
	now := a.now()
	var out *Deposit
	err := a.update(ctx, "CompleteDeposit", func(tx Tx) error {
		d, err := tx.LockDeposit(ctx, depositID)
		if errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "deposit not found")
		} else if err != nil {
			return err
		}
		out = d
		return creditDeposit(ctx, tx, d, providerRef, "", now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// creditDeposit credits a pending deposit, once; any other status is left alone.
func creditDeposit(ctx context.Context, tx Tx, d *Deposit, providerRef, paymentRef string, now time.Time) error {
	if d.Status != DepositPending {
		return nil
	}
	d.Status, d.ProviderRef, d.PaymentRef = DepositSucceeded, providerRef, paymentRef
	if err := tx.SetDepositSucceeded(ctx, d, now); err != nil {
		return err
	}
	return credit(ctx, tx, &LedgerEntry{UserID: d.UserID, Kind: LedgerDeposit, AmountCents: d.AmountCents, DepositID: d.ID, CreatedAt: now})
}

// PaymentEvent is what a payment provider told us, once its signature checked out.
type PaymentEvent struct {
	Provider    string
	ID          string // the provider's event id: a repeat is recognised by it
	Type        string // the provider's event type, as sent
	DepositID   string // our deposit, as the provider echoes it ("" when none)
	ProviderRef string // the provider's checkout object (Stripe's Checkout Session)
	PaymentRef  string // the provider's payment object (Stripe's PaymentIntent); names the deposit when DepositID is ""
	AmountCents Cents  // what the provider says was paid; for PaymentRefunded, all it has refunded so far; for PaymentDisputed, the amount in dispute
	Currency    string // lower-case ISO 4217 ("usd")
	Outcome     string // one of the Payment… outcomes, or "" when it changes nothing here
	Payload     []byte // the raw event, kept for audit
	ReceivedAt  time.Time
	Result      string // what became of it, once handled
}

// Outcomes of a payment event.
const (
	PaymentPaid        = "paid"
	PaymentFailed      = "failed"
	PaymentRefunded    = "refunded"     // the provider refunded (part of) a payment
	PaymentDisputed    = "disputed"     // the payer disputed it: the provider took the money back
	PaymentDisputeWon  = "dispute won"  // the dispute ended for us: the money is back
	PaymentDisputeLost = "dispute lost" // the dispute ended for the payer
)

// HandlePaymentEvent keeps a provider's event and applies it, in one transaction:
// a payment credits a pending deposit with the amount it was created with, and
// only when the provider paid exactly that amount in dollars; a failure marks a
// pending deposit failed. Whatever the order, repetition or concurrency of the
// provider's events, a deposit is credited once. It returns what became of the
// event ("credited", "duplicate", "amount mismatch: …", …), which is also kept.
func (a *App) HandlePaymentEvent(ctx context.Context, ev PaymentEvent) (string, error) {
	now := a.now()
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	var result string
	err := a.update(ctx, "HandlePaymentEvent", func(tx Tx) error {
		fresh, err := tx.InsertPaymentEvent(ctx, &ev)
		if err != nil {
			return err
		}
		if !fresh {
			result = "duplicate"
			return nil
		}
		result, err = applyPaymentEvent(ctx, tx, &ev, now)
		if err != nil {
			return err
		}
		return tx.SetPaymentEventResult(ctx, ev.Provider, ev.ID, result)
	})
	return result, err
}

func applyPaymentEvent(ctx context.Context, tx Tx, ev *PaymentEvent, now time.Time) (string, error) {
	if ev.Outcome == "" {
		return "ignored", nil
	}
	var d *Deposit
	var err error
	if ev.DepositID != "" {
		d, err = tx.LockDeposit(ctx, ev.DepositID)
	} else if ev.PaymentRef != "" {
		d, err = tx.LockDepositByPaymentRef(ctx, ev.Provider, ev.PaymentRef)
	} else {
		err = ErrNoRow
	}
	if errors.Is(err, ErrNoRow) || (err == nil && d.Provider != ev.Provider) {
		return "unknown deposit", nil
	} else if err != nil {
		return "", err
	}
	switch ev.Outcome {
	case PaymentPaid:
		if ev.AmountCents != d.AmountCents || ev.Currency != "usd" {
			return fmt.Sprintf("amount mismatch: paid %d %s for a deposit of %d usd; not credited", ev.AmountCents, ev.Currency, d.AmountCents), nil
		}
		if d.Status != DepositPending {
			return "already " + d.Status, nil
		}
		return "credited", creditDeposit(ctx, tx, d, ev.ProviderRef, ev.PaymentRef, now)
	case PaymentFailed:
		ok, err := tx.SetDepositStatus(ctx, d.ID, DepositPending, DepositFailed)
		if err != nil || !ok {
			return "already " + d.Status, err
		}
		return "failed", nil
	case PaymentRefunded, PaymentDisputed, PaymentDisputeWon, PaymentDisputeLost:
		return takeBack(ctx, tx, d, ev, now)
	}
	return "ignored", nil
}

// CheckInvariants checks the money and inventory invariants over the whole store.
func (a *App) CheckInvariants(ctx context.Context) (*LedgerCheck, error) {
	c, err := a.Store.CheckInvariants(ctx, a.now())
	return c, storageError("CheckInvariants", err, "")
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
	DepositMismatches  int // deposits whose ledger entries differ from their credit less what was taken back
	OwedMismatches     int // users whose owed_cents differs from their deposits'
	// WithdrawnMismatches counts numbers whose withdrawn flag differs from their
	// gateway's mark (withdrawn_at set): the two change in one transaction.
	WithdrawnMismatches int
	// WaitingOnWithdrawn counts waiting verifications on withdrawn numbers: a
	// health sweep is due (an operator's command left them to the servers).
	WaitingOnWithdrawn int
	// LedgerBreaks counts entries whose balance after is not the balance after
	// the user's previous entry (in the ledger's order) plus their amount: a
	// customer reads the ledger as a running balance.
	LedgerBreaks int
}

// OK reports whether every invariant holds.
func (c *LedgerCheck) OK() bool {
	return len(c.BalanceMismatches) == 0 && len(c.NegativeBalances) == 0 && c.DoubleRefunds == 0 &&
		c.DoubleHeldNumbers == 0 && c.RefundsWithoutBuys == 0 && c.ReceivedRefunded == 0 &&
		c.DepositMismatches == 0 && c.OwedMismatches == 0 && c.WithdrawnMismatches == 0 && c.LedgerBreaks == 0
}

func (c *LedgerCheck) String() string { return fmt.Sprintf("%+v", *c) }
