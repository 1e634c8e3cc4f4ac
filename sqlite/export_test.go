package sqlite

import (
	"context"
)

// TamperLedgerForTest tries to rewrite a ledger entry, which the schema must refuse.
// It exists so tests can prove the ledger is append-only.
func (db *DB) TamperLedgerForTest(ctx context.Context, id string) error {
	return db.tx(ctx, "sqlite.TamperLedgerForTest", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ledger SET amount_cents = amount_cents + 1 WHERE id = ?`, id)
		return err
	})
}
