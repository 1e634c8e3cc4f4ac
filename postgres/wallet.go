package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Post applies a signed amount to the user's balance and appends the ledger entry
// that records it, unless the balance would go below zero. The conditional UPDATE
// … RETURNING is the whole check: under READ COMMITTED a concurrent debit of the
// same wallet waits for this row and re-evaluates the condition on the new balance.
// The UPDATE and the ledger's INSERT are one statement (one round trip while the
// wallet's row is locked): the INSERT takes its row from the UPDATE's, so it
// inserts nothing when the UPDATE changed nothing.
func (t *ptx) Post(ctx context.Context, e *fetchsms.LedgerEntry) (bool, fetchsms.Wallet, error) {
	var w fetchsms.Wallet
	err := t.QueryRow(ctx, `WITH u AS (UPDATE users SET balance_cents = balance_cents + $1 WHERE id = $2 AND balance_cents + $1 >= 0 RETURNING balance_cents, owed_cents),
		l AS (INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at)
			SELECT $3, $2, $4, $1, u.balance_cents, $5, $6, $7, $8, $9 FROM u)
		SELECT balance_cents, owed_cents FROM u`,
		int64(e.AmountCents), e.UserID, e.ID, e.Kind, sqlrows.NullStr(e.VerificationID), sqlrows.NullStr(e.RentalID), sqlrows.NullStr(e.DepositID), e.Reason, sqlrows.Ms(e.CreatedAt)).Scan(&w.Balance, &w.Owed)
	if errors.Is(err, pgx.ErrNoRows) {
		err := t.QueryRow(ctx, `SELECT balance_cents, owed_cents FROM users WHERE id = $1`, e.UserID).Scan(&w.Balance, &w.Owed)
		return false, w, noRow(err)
	}
	if err == nil {
		e.BalanceAfterCents = w.Balance
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && strings.HasPrefix(pe.ConstraintName, "ledger_") {
		return false, w, fmt.Errorf("ledger entry %s for %s%s%s already exists: %w", e.Kind, e.VerificationID, e.RentalID, e.DepositID, err)
	}
	return err == nil, w, err
}

// walletAfter is the balance a deferred post's UPDATE (u) left, as one row:
// NULL when it updated no row, so the ledger's INSERT fails (NOT NULL) instead
// of inserting nothing. OFFSET 0 keeps it a step of its own, run before the
// INSERT draws the entry's seq: the seq is drawn once the wallet's row is
// locked, so the ledger's order is the order its balances were written in (a
// seq drawn before the lock let two purchases' entries cross).
const walletAfter = `(SELECT (SELECT balance_cents FROM u) AS balance OFFSET 0) w`

// Credit posts a positive entry, which always applies. It is deferred
// (pipetx.go): it travels with the transaction's next statement or its commit.
// A credit that updates no row fails (walletAfter), failing the statement it
// travels with and the transaction: a credit can never be lost silently.
func (t *ptx) Credit(ctx context.Context, e *fetchsms.LedgerEntry) error {
	if e.AmountCents <= 0 {
		return fmt.Errorf("credit of %d cents", e.AmountCents)
	}
	t.Defer(`WITH u AS (UPDATE users SET balance_cents = balance_cents + $1 WHERE id = $2 RETURNING balance_cents)
		INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at)
		SELECT $3, $2, $4, $1, w.balance, $5, $6, $7, $8, $9 FROM `+walletAfter,
		int64(e.AmountCents), e.UserID, e.ID, e.Kind, sqlrows.NullStr(e.VerificationID), sqlrows.NullStr(e.RentalID), sqlrows.NullStr(e.DepositID), e.Reason, sqlrows.Ms(e.CreatedAt))
	return nil
}

// Debit posts a purchase's negative entry. It is deferred (pipetx.go): the
// purchase's last step, it travels with the commit, so the wallet's row is
// locked for the commit's round trip alone. A refusal is an error of the
// statement, which fails the commit: a balance that would go below zero breaks
// users_balance_cents_check, and a user who owes updates no row, so the
// ledger's balance is NULL (not_null_violation). Update turns either into
// ErrDebitRefused (refused).
func (t *ptx) Debit(ctx context.Context, e *fetchsms.LedgerEntry) error {
	if e.AmountCents >= 0 {
		return fmt.Errorf("debit of %d cents", e.AmountCents)
	}
	t.debits = true
	t.Defer(`WITH u AS (UPDATE users SET balance_cents = balance_cents + $1 WHERE id = $2 AND owed_cents = 0 RETURNING balance_cents)
		INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at)
		SELECT $3, $2, $4, $1, w.balance, $5, $6, $7, $8, $9 FROM `+walletAfter,
		int64(e.AmountCents), e.UserID, e.ID, e.Kind, sqlrows.NullStr(e.VerificationID), sqlrows.NullStr(e.RentalID), sqlrows.NullStr(e.DepositID), e.Reason, sqlrows.Ms(e.CreatedAt))
	return nil
}

// refused tells a Debit's refusal (above) from other errors.
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23514" && pe.ConstraintName == "users_balance_cents_check" ||
		pe.Code == "23502" && pe.TableName == "ledger" && pe.ColumnName == "balance_after_cents")
}

// Balance returns the user's balance, or ENOTFOUND.
func (db *DB) Balance(ctx context.Context, userID string) (fetchsms.Cents, error) {
	var b int64
	err := db.pool.QueryRow(ctx, `SELECT balance_cents FROM users WHERE id = $1`, userID).Scan(&b)
	return fetchsms.Cents(b), engineErr(err)
}

// Ledger returns the user's entries newest first, and the cursor of the next page.
func (db *DB) Ledger(ctx context.Context, userID string, p fetchsms.Page) ([]*fetchsms.LedgerEntry, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.LedgerSubjectCols+` FROM `+sqlrows.LedgerSubjectJoins+`
		WHERE l.user_id = $1 AND l.seq < $2 ORDER BY l.seq DESC LIMIT $3`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanLedgerSubject)
	return out, next, engineErr(err)
}

// Deposits returns the user's deposits newest first.
func (db *DB) Deposits(ctx context.Context, userID string, p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT seq, `+sqlrows.DepositCols+` FROM deposits WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDepositSeq)
	return out, next, engineErr(err)
}

// SetDepositStatus moves a deposit from one status to another.
func (t *ptx) SetDepositStatus(ctx context.Context, id, from, to string) (bool, error) {
	res, err := t.Exec(ctx, `UPDATE deposits SET status = $1 WHERE id = $2 AND status = $3`, to, id, from)
	if err != nil {
		return false, err
	}
	n := res.RowsAffected()
	return n == 1, nil
}

// InsertPaymentEvent keeps a provider's event unless its id was seen before.
func (t *ptx) InsertPaymentEvent(ctx context.Context, ev *fetchsms.PaymentEvent) (bool, error) {
	res, err := t.Exec(ctx, `INSERT INTO payment_events (provider, event_id, type, deposit_id, amount_cents, currency, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (provider, event_id) DO NOTHING`,
		ev.Provider, ev.ID, ev.Type, ev.DepositID, int64(ev.AmountCents), ev.Currency, string(ev.Payload), sqlrows.Ms(ev.ReceivedAt))
	if err != nil {
		return false, err
	}
	n := res.RowsAffected()
	return n == 1, nil
}

// SetPaymentEventResult notes what became of an event.
func (t *ptx) SetPaymentEventResult(ctx context.Context, provider, eventID, result string) error {
	_, err := t.Exec(ctx, `UPDATE payment_events SET result = $1 WHERE provider = $2 AND event_id = $3`, result, provider, eventID)
	return err
}

// Deposit reads one deposit, or ErrNoRow.
func (db *DB) Deposit(ctx context.Context, id string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(db.pool.QueryRow(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE id = $1`, id))
	return d, engineErr(err)
}

// AllDeposits returns every deposit newest first.
func (db *DB) AllDeposits(ctx context.Context, p fetchsms.Page) ([]*fetchsms.Deposit, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT seq, `+sqlrows.DepositCols+` FROM deposits WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDepositSeq)
	return out, next, engineErr(err)
}

// PaymentEvents returns the providers' events newest first, without payloads.
func (db *DB) PaymentEvents(ctx context.Context, p fetchsms.Page) ([]*fetchsms.PaymentEvent, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.PaymentEventCols+` FROM payment_events WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanPaymentEvent)
	return out, next, engineErr(err)
}

// InsertDeposit stores a deposit.
func (t *ptx) InsertDeposit(ctx context.Context, d *fetchsms.Deposit) error {
	_, err := t.Exec(ctx, `INSERT INTO deposits (id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		d.ID, d.UserID, int64(d.AmountCents), d.Status, d.Provider, d.ProviderRef, d.CheckoutURL, sqlrows.Ms(d.CreatedAt))
	return err
}

// LockDeposit reads a deposit and locks its row (a second completion, on any
// server, waits and then sees it completed), or ErrNoRow.
func (t *ptx) LockDeposit(ctx context.Context, id string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(t.QueryRow(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE id = $1 FOR UPDATE`, id))
	return d, noRow(err)
}

// SetDepositSucceeded marks a deposit succeeded (credited) with the provider's references.
func (t *ptx) SetDepositSucceeded(ctx context.Context, d *fetchsms.Deposit, now time.Time) error {
	_, err := t.Exec(ctx, `UPDATE deposits SET status = 'succeeded', provider_ref = $1, payment_ref = $2, completed_at = $3 WHERE id = $4`,
		d.ProviderRef, d.PaymentRef, sqlrows.Ms(now), d.ID)
	return err
}

// LockDepositByPaymentRef reads the deposit of a provider's payment object and locks its row, or ErrNoRow.
func (t *ptx) LockDepositByPaymentRef(ctx context.Context, provider, paymentRef string) (*fetchsms.Deposit, error) {
	d, err := sqlrows.ScanDeposit(t.QueryRow(ctx, `SELECT `+sqlrows.DepositCols+` FROM deposits WHERE provider = $1 AND payment_ref = $2 AND payment_ref <> '' FOR UPDATE`, provider, paymentRef))
	return d, noRow(err)
}

// SetDepositClaims writes what the provider took back for a deposit and its status.
func (t *ptx) SetDepositClaims(ctx context.Context, d *fetchsms.Deposit) error {
	_, err := t.Exec(ctx, `UPDATE deposits SET status = $1, refunded_cents = $2, disputed_cents = $3, owed_cents = $4, forgiven_cents = $5 WHERE id = $6`,
		d.Status, int64(d.RefundedCents), int64(d.DisputedCents), int64(d.OwedCents), int64(d.ForgivenCents), d.ID)
	return err
}

// AddOwed changes what the user owes by delta.
func (t *ptx) AddOwed(ctx context.Context, userID string, delta fetchsms.Cents) error {
	_, err := t.Exec(ctx, `UPDATE users SET owed_cents = owed_cents + $1 WHERE id = $2`, int64(delta), userID)
	return err
}

// CheckInvariants verifies the money and inventory invariants over the whole
// database: each balance equals the sum of its ledger, none is negative, no purchase
// is refunded twice, no number is held by two live purchases. It reads one snapshot
// (REPEATABLE READ, read only), so it is exact while servers run.
func (db *DB) CheckInvariants(ctx context.Context, now time.Time) (*fetchsms.LedgerCheck, error) {
	var c *fetchsms.LedgerCheck
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		c, err = sqlrows.CheckInvariants(
			func(q string) (sqlrows.Rows, error) { return tx.Query(ctx, q) },
			func(q string) sqlrows.Row { return tx.QueryRow(ctx, q) }, now)
		return err
	})
	return c, engineErr(err)
}
