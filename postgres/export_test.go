package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// TamperLedgerForTest tries to rewrite a ledger entry, which the schema must refuse.
// It exists so tests can prove the ledger is append-only.
func (db *DB) TamperLedgerForTest(ctx context.Context, id string) error {
	return db.run(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE ledger SET amount_cents = amount_cents + 1 WHERE id = $1`, id)
		return err
	})
}

// ForgetActivationCodesForTest unsets every service's activation code, as in a
// database from before codes (storetest.CodeForgetter).
func (db *DB) ForgetActivationCodesForTest(ctx context.Context) error {
	return db.run(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE services SET activation_code = NULL`)
		return err
	})
}
