package postgres

import (
	"context"
	"time"

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

// SetVCacheTTLForTest sets how long the verification cache keeps an entry, so a
// test sees a change only through the notifications (vcache.go).
func (db *DB) SetVCacheTTLForTest(d time.Duration) { db.vc.ttl.Store(int64(d)) }

// SetVerificationCodeQuietlyForTest changes a verification's code without the
// notification a real change sends: what a server's cache then shows is
// what it holds.
func (db *DB) SetVerificationCodeQuietlyForTest(ctx context.Context, id, code string) error {
	_, err := db.pool.Exec(ctx, `UPDATE verifications SET code = NULLIF($1, '') WHERE id = $2`, code, id)
	return err
}

// SetServicePriceQuietlyForTest changes a service's price without the
// notification a real change sends.
func (db *DB) SetServicePriceQuietlyForTest(ctx context.Context, id int, cents int64) error {
	_, err := db.pool.Exec(ctx, `UPDATE services SET price_cents = $1 WHERE id = $2`, cents, id)
	return err
}

// SetNewRefForTest replaces the random refs of new verifications (set it
// before the store is used).
func (db *DB) SetNewRefForTest(f func(prefix string) string) { db.newRef = f }
