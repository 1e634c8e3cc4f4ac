package sqlite

import (
	"context"
)

// TamperLedgerForTest tries to rewrite a ledger entry, which the schema must refuse.
// It exists so tests can prove the ledger is append-only.
func (db *DB) TamperLedgerForTest(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ledger SET amount_cents = amount_cents + 1 WHERE id = ?`, id)
		return err
	})
}

// BulkVerificationsForTest inserts n received verifications for the user in one
// transaction, for list benchmarks over large tables. It bypasses the purchase rules
// (no ledger, one number reused) and must only serve benchmarks.
func (db *DB) BulkVerificationsForTest(ctx context.Context, userID, numberID string, n int) error {
	return db.write(ctx, func(tx *wtx) error {
		for i := 0; i < n; i++ {
			id := newID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO verifications (id, ref_key, ref, user_id, service_id, number_id, number, status, code, cost_cents, created_at, expires_at)
				VALUES (?, ?, ?, ?, 4, ?, '+13325550184', 'received', '123456', 70, ?, ?)`, id, "b_"+id, "b_"+id, userID, numberID, i, i+900000); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetBeforeSyncForTest runs f in the syncer before each flush of the WAL: a test
// holds a flush there to look at the database between a commit and its flush, or
// makes the flush fail by returning an error.
func (db *DB) SetBeforeSyncForTest(f func() error) { db.dur.beforeSync = f }

// ForgetActivationCodesForTest unsets every service's activation code, as in a
// database from before codes (storetest.CodeForgetter).
func (db *DB) ForgetActivationCodesForTest(ctx context.Context) error {
	return db.write(ctx, func(tx *wtx) error {
		tx.servicesChanged()
		_, err := tx.ExecContext(ctx, `UPDATE services SET activation_code = NULL`)
		return err
	})
}
