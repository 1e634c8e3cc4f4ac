package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// Post applies a signed amount to the user's balance and appends the ledger entry
// that records it, unless the balance would go below zero.
func (t *wtx) Post(ctx context.Context, e *fetchsms.LedgerEntry) (bool, fetchsms.Wallet, error) {
	var w fetchsms.Wallet
	err := t.QueryRowContext(ctx, `UPDATE users SET balance_cents = balance_cents + ? WHERE id = ? AND balance_cents + ? >= 0 RETURNING balance_cents, owed_cents`,
		e.AmountCents, e.UserID, e.AmountCents).Scan(&w.Balance, &w.Owed)
	if err == sql.ErrNoRows {
		err := t.QueryRowContext(ctx, `SELECT balance_cents, owed_cents FROM users WHERE id = ?`, e.UserID).Scan(&w.Balance, &w.Owed)
		return false, w, noRow(err)
	}
	if err != nil {
		return false, w, err
	}
	e.BalanceAfterCents = w.Balance
	_, err = t.ExecContext(ctx, `INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.UserID, e.Kind, e.AmountCents, e.BalanceAfterCents, sqlrows.NullStr(e.VerificationID), sqlrows.NullStr(e.RentalID), sqlrows.NullStr(e.DepositID), e.Reason, sqlrows.Ms(e.CreatedAt))
	if isUnique(err) {
		return false, w, fmt.Errorf("ledger entry %s for %s%s%s already exists: %w", e.Kind, e.VerificationID, e.RentalID, e.DepositID, err)
	}
	return err == nil, w, err
}

// Credit posts a positive entry, which always applies; ErrNoRow when the user
// does not exist.
func (t *wtx) Credit(ctx context.Context, e *fetchsms.LedgerEntry) error {
	applied, _, err := t.Post(ctx, e)
	if err == nil && !applied {
		err = fmt.Errorf("credit of %d cents to %s was refused", e.AmountCents, e.UserID)
	}
	return err
}

// Debit posts a purchase's negative entry, or fails with ErrDebitRefused when
// the balance is too low or the user owes (the writer is alone: the answer is
// known at once).
func (t *wtx) Debit(ctx context.Context, e *fetchsms.LedgerEntry) error {
	applied, w, err := t.Post(ctx, e)
	if err == nil && (!applied || w.Owed > 0) {
		err = fetchsms.ErrDebitRefused
	}
	return err
}

// Balance returns the user's balance.
func (db *DB) Balance(ctx context.Context, userID string) (fetchsms.Cents, error) {
	var b fetchsms.Cents
	err := db.rp.QueryRowContext(ctx, `SELECT balance_cents FROM users WHERE id = ?`, userID).Scan(&b)
	return b, engineErr(err)
}

// Ledger returns the user's entries newest first, and the cursor of the next page.
func (db *DB) Ledger(ctx context.Context, userID string, p fetchsms.Page) ([]*fetchsms.LedgerEntry, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.LedgerSubjectCols+` FROM `+sqlrows.LedgerSubjectJoins+`
		WHERE l.user_id = +? AND l.seq < +? ORDER BY l.seq DESC LIMIT +?`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanLedgerSubject)
	return out, next, engineErr(err)
}

// Deposits returns the user's deposits newest first.
func (db *DB) Deposits(ctx context.Context, userID string, p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, `+sqlrows.DepositCols+` FROM deposits WHERE user_id = +? AND seq < +? ORDER BY seq DESC LIMIT +?`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDepositSeq)
	return out, next, engineErr(err)
}

// SetDepositStatus moves a deposit from one status to another.
func (t *wtx) SetDepositStatus(ctx context.Context, id, from, to string) (bool, error) {
	res, err := t.ExecContext(ctx, `UPDATE deposits SET status = ? WHERE id = ? AND status = ?`, to, id, from)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// InsertPaymentEvent keeps a provider's event unless its id was seen before.
func (t *wtx) InsertPaymentEvent(ctx context.Context, ev *fetchsms.PaymentEvent) (bool, error) {
	res, err := t.ExecContext(ctx, `INSERT INTO payment_events (provider, event_id, type, deposit_id, amount_cents, currency, payload, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING`,
		ev.Provider, ev.ID, ev.Type, ev.DepositID, int64(ev.AmountCents), ev.Currency, string(ev.Payload), sqlrows.Ms(ev.ReceivedAt))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetPaymentEventResult notes what became of an event.
func (t *wtx) SetPaymentEventResult(ctx context.Context, provider, eventID, result string) error {
	_, err := t.ExecContext(ctx, `UPDATE payment_events SET result = ? WHERE provider = ? AND event_id = ?`, result, provider, eventID)
	return err
}

// Deposit reads one deposit, or ErrNoRow.
func (db *DB) Deposit(ctx context.Context, id string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE id = ?`, id))
	return d, engineErr(err)
}

// AllDeposits returns every deposit newest first.
func (db *DB) AllDeposits(ctx context.Context, p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, `+sqlrows.DepositCols+` FROM deposits WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDepositSeq)
	return out, next, engineErr(err)
}

// PaymentEvents returns the providers' events newest first, without payloads.
func (db *DB) PaymentEvents(ctx context.Context, p fetchsms.Page) ([]*fetchsms.PaymentEvent, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.PaymentEventCols+` FROM payment_events WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanPaymentEvent)
	return out, next, engineErr(err)
}

// InsertDeposit stores a deposit.
func (t *wtx) InsertDeposit(ctx context.Context, d *fetchsms.Deposit) error {
	_, err := t.ExecContext(ctx, `INSERT INTO deposits (id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.AmountCents, d.Status, d.Provider, d.ProviderRef, d.CheckoutURL, sqlrows.Ms(d.CreatedAt))
	return err
}

// LockDeposit reads a deposit inside the writer's transaction, or ErrNoRow.
func (t *wtx) LockDeposit(ctx context.Context, id string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(t.QueryRowContext(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE id = ?`, id))
	return d, noRow(err)
}

// SetDepositSucceeded marks a deposit succeeded (credited) with the provider's references.
func (t *wtx) SetDepositSucceeded(ctx context.Context, d *fetchsms.Deposit, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE deposits SET status = 'succeeded', provider_ref = ?, payment_ref = ?, completed_at = ? WHERE id = ?`,
		d.ProviderRef, d.PaymentRef, sqlrows.Ms(now), d.ID)
	return err
}

// LockDepositByPaymentRef reads the deposit of a provider's payment object, or ErrNoRow.
func (t *wtx) LockDepositByPaymentRef(ctx context.Context, provider, paymentRef string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(t.QueryRowContext(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE provider = ? AND payment_ref = ? AND payment_ref <> ''`, provider, paymentRef))
	return d, noRow(err)
}

// SetDepositClaims writes what the provider took back for a deposit and its status.
func (t *wtx) SetDepositClaims(ctx context.Context, d *fetchsms.Deposit) error {
	_, err := t.ExecContext(ctx, `UPDATE deposits SET status = ?, refunded_cents = ?, disputed_cents = ?, owed_cents = ?, forgiven_cents = ? WHERE id = ?`,
		d.Status, d.RefundedCents, d.DisputedCents, d.OwedCents, d.ForgivenCents, d.ID)
	return err
}

// AddOwed changes what the user owes by delta.
func (t *wtx) AddOwed(ctx context.Context, userID string, delta fetchsms.Cents) error {
	_, err := t.ExecContext(ctx, `UPDATE users SET owed_cents = owed_cents + ? WHERE id = ?`, delta, userID)
	return err
}

// CheckInvariants verifies the money and inventory invariants over the whole
// database: each balance equals the sum of its ledger, none is negative, no purchase
// is refunded twice, no number is held by two live purchases.
func (db *DB) CheckInvariants(ctx context.Context, now time.Time) (*fetchsms.LedgerCheck, error) {
	c, err := sqlrows.CheckInvariants(
		func(q string) (sqlrows.Rows, error) { return db.rp.QueryContext(ctx, q) },
		func(q string) sqlrows.Row { return db.rp.QueryRowContext(ctx, q) }, now)
	return c, engineErr(err)
}
