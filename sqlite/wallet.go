package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

// post applies a signed amount to the user's balance and appends the ledger entry
// that records it, inside tx. A debit the balance cannot cover is EPAYMENT and
// changes nothing.
func post(ctx context.Context, tx *wtx, e *fetchsms.LedgerEntry) error {
	var bal int64
	err := tx.QueryRowContext(ctx, `UPDATE users SET balance_cents = balance_cents + ? WHERE id = ? AND balance_cents + ? >= 0 RETURNING balance_cents`,
		e.AmountCents, e.UserID, e.AmountCents).Scan(&bal)
	if err == sql.ErrNoRows {
		var have int64
		if err := tx.QueryRowContext(ctx, `SELECT balance_cents FROM users WHERE id = ?`, e.UserID).Scan(&have); err != nil {
			return notFound(err, "user not found")
		}
		return fetchsms.Errorf(fetchsms.EPAYMENT, "insufficient balance: this costs %s and your balance is %s", dollars(-e.AmountCents), dollars(fetchsms.Cents(have)))
	}
	if err != nil {
		return err
	}
	e.ID = newID()
	e.BalanceAfterCents = fetchsms.Cents(bal)
	_, err = tx.ExecContext(ctx, `INSERT INTO ledger (id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.UserID, e.Kind, e.AmountCents, e.BalanceAfterCents, nullStr(e.VerificationID), nullStr(e.RentalID), nullStr(e.DepositID), e.Reason, ms(e.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("ledger entry %s for %s%s%s already exists: %w", e.Kind, e.VerificationID, e.RentalID, e.DepositID, err)
	}
	return err
}

func dollars(c fetchsms.Cents) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// Balance returns the user's balance.
func (db *DB) Balance(ctx context.Context, userID string) (fetchsms.Cents, error) {
	var b fetchsms.Cents
	err := db.rp.QueryRowContext(ctx, `SELECT balance_cents FROM users WHERE id = ?`, userID).Scan(&b)
	return b, wrap("sqlite.Balance", notFound(err, "user not found"))
}

// Ledger returns the user's entries newest first, and the cursor of the next page.
func (db *DB) Ledger(ctx context.Context, userID string, p fetchsms.Page) ([]*fetchsms.LedgerEntry, int64, error) {
	limit, before := pageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at
		FROM ledger WHERE user_id = +? AND seq < +? ORDER BY seq DESC LIMIT +?`, userID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.Ledger", err)
	}
	defer rows.Close()
	var out []*fetchsms.LedgerEntry
	var seqs []int64
	for rows.Next() {
		e := &fetchsms.LedgerEntry{UserID: userID}
		var seq, created int64
		var v, r, d sql.NullString
		if err := rows.Scan(&seq, &e.ID, &e.Kind, &e.AmountCents, &e.BalanceAfterCents, &v, &r, &d, &e.Reason, &created); err != nil {
			return nil, 0, wrap("sqlite.Ledger", err)
		}
		e.VerificationID, e.RentalID, e.DepositID, e.CreatedAt = v.String, r.String, d.String, fromMS(created)
		out = append(out, e)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("sqlite.Ledger", rows.Err())
}

// Adjust credits (positive) or debits (negative) a user's wallet by an admin, with a
// reason. A debit below zero is EPAYMENT.
func (db *DB) Adjust(ctx context.Context, userID string, amount fetchsms.Cents, reason string) (*fetchsms.LedgerEntry, error) {
	reason = strings.TrimSpace(reason)
	if amount == 0 {
		return nil, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "amount_cents must not be zero")
	}
	if reason == "" || len(reason) > 500 {
		return nil, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "reason is required (1–500 characters)")
	}
	e := &fetchsms.LedgerEntry{UserID: userID, Kind: fetchsms.LedgerAdjustment, AmountCents: amount, Reason: reason, CreatedAt: db.Clock.Now()}
	err := db.tx(ctx, "sqlite.Adjust", func(tx *wtx) error { return post(ctx, tx, e) })
	if err != nil {
		return nil, err
	}
	return e, nil
}

// CreateDeposit records a pending deposit from a payment provider.
func (db *DB) CreateDeposit(ctx context.Context, d *fetchsms.Deposit) error {
	d.ID = newID()
	d.Status = fetchsms.DepositPending
	d.CreatedAt = db.Clock.Now()
	return db.tx(ctx, "sqlite.CreateDeposit", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO deposits (id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.UserID, d.AmountCents, d.Status, d.Provider, d.ProviderRef, d.CheckoutURL, ms(d.CreatedAt))
		return err
	})
}

// CompleteDeposit marks a pending deposit completed and credits the wallet in one
// transaction. Completing it again is a no-op that returns the deposit.
func (db *DB) CompleteDeposit(ctx context.Context, depositID, providerRef string) (*fetchsms.Deposit, error) {
	now := db.Clock.Now()
	var d fetchsms.Deposit
	err := db.tx(ctx, "sqlite.CompleteDeposit", func(tx *wtx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at FROM deposits WHERE id = ?`, depositID).
			Scan(&d.ID, &d.UserID, &d.AmountCents, &d.Status, &d.Provider, &d.ProviderRef, &d.CheckoutURL, &created)
		if err != nil {
			return notFound(err, "deposit not found")
		}
		d.CreatedAt = fromMS(created)
		if d.Status != fetchsms.DepositPending {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deposits SET status = 'completed', provider_ref = ?, completed_at = ? WHERE id = ?`, providerRef, ms(now), d.ID); err != nil {
			return err
		}
		d.Status, d.ProviderRef = fetchsms.DepositCompleted, providerRef
		return post(ctx, tx, &fetchsms.LedgerEntry{UserID: d.UserID, Kind: fetchsms.LedgerDeposit, AmountCents: d.AmountCents, DepositID: d.ID, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// CheckInvariants verifies the money and inventory invariants over the whole
// database: each balance equals the sum of its ledger, none is negative, no purchase
// is refunded twice, no number is held by two live purchases.
func (db *DB) CheckInvariants(ctx context.Context) (*fetchsms.LedgerCheck, error) {
	c := &fetchsms.LedgerCheck{}
	q := func(query string, args ...any) (rowsIter, error) { return db.rp.QueryContext(ctx, query, args...) }
	rows, err := q(`SELECT u.id, u.balance_cents, COALESCE((SELECT sum(amount_cents) FROM ledger l WHERE l.user_id = u.id), 0) FROM users u`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		var bal, sum int64
		if err := rows.Scan(&id, &bal, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		c.Users++
		if bal != sum {
			c.BalanceMismatches = append(c.BalanceMismatches, fmt.Sprintf("%s: balance %d, ledger %d", id, bal, sum))
		}
		if bal < 0 {
			c.NegativeBalances = append(c.NegativeBalances, id)
		}
	}
	rows.Close()
	one := func(query string, dst *int) error { return db.rp.QueryRowContext(ctx, query).Scan(dst) }
	if err := one(`SELECT count(*) FROM (SELECT COALESCE(verification_id, rental_id) p FROM ledger WHERE kind = 'refund' GROUP BY p HAVING count(*) > 1)`, &c.DoubleRefunds); err != nil {
		return nil, err
	}
	if err := one(`SELECT count(*) FROM (SELECT number_id FROM (
			SELECT number_id FROM verifications WHERE status = 'waiting'
			UNION ALL SELECT number_id FROM rentals WHERE status IN ('waiting', 'received'))
		GROUP BY number_id HAVING count(*) > 1)`, &c.DoubleHeldNumbers); err != nil {
		return nil, err
	}
	if err := one(`SELECT count(*) FROM ledger r WHERE kind = 'refund' AND NOT EXISTS (
			SELECT 1 FROM ledger p WHERE p.kind = 'purchase' AND (p.verification_id = r.verification_id OR p.rental_id = r.rental_id))`, &c.RefundsWithoutBuys); err != nil {
		return nil, err
	}
	if err := one(`SELECT count(*) FROM verifications v WHERE (v.status = 'received' OR v.code IS NOT NULL) AND EXISTS (
			SELECT 1 FROM ledger l WHERE l.kind = 'refund' AND l.verification_id = v.id)`, &c.ReceivedRefunded); err != nil {
		return nil, err
	}
	now := ms(db.Clock.Now())
	if err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM verifications WHERE status = 'waiting' AND expires_at <= ?`, now).Scan(&c.WaitingPastExpiry); err != nil {
		return nil, err
	}
	return c, nil
}
