package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

const rentalFrom = ` FROM rentals r JOIN services s ON s.id = r.service_id`

// InsertRental stores r with a fresh random ref.
func (t *ptx) InsertRental(ctx context.Context, r *fetchsms.Rental) error {
	return insertWithRef("r_", func(ref string) error {
		err := refInserted(t.Exec(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (ref) DO NOTHING`,
			r.ID, ref, r.UserID, r.ServiceID, r.NumberID, r.Number, r.AreaCode, r.DurationDays, r.Status, r.CostCents, sqlrows.Ms(r.CreatedAt), sqlrows.Ms(r.ExpiresAt)))
		if err == nil {
			r.Ref = ref
		}
		return err
	})
}

// LockRental reads a rental and locks its row to the end of the transaction, or ErrNoRow.
func (t *ptx) LockRental(ctx context.Context, id string) (*fetchsms.Rental, error) {
	r, _, err := sqlrows.ScanRental(t.QueryRow(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
	return r, noRow(err)
}

// UpdateRental applies u, guarded by its From status.
func (t *ptx) UpdateRental(ctx context.Context, u fetchsms.RentalUpdate) (bool, error) {
	tag, err := t.Exec(ctx, `UPDATE rentals SET status = $1, last_code = COALESCE($2, last_code),
		ended_at = CASE WHEN $1 IN ('expired', 'cancelled') THEN $3 ELSE ended_at END WHERE id = $4 AND status = $5`,
		u.To, sqlrows.NullStr(u.LastCode), sqlrows.Ms(u.Now), u.ID, u.From)
	return err == nil && tag.RowsAffected() == 1, err
}

// LoadRental returns one of the user's rentals, or ErrNoRow.
func (db *DB) LoadRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, _, err := sqlrows.ScanRental(db.pool.QueryRow(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.id = $1 AND r.user_id = $2`, id, userID))
	return r, engineErr(err)
}

// LoadRentals lists the user's live (or ended) rentals newest first.
func (db *DB) LoadRentals(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
	cond := ` AND r.status IN ('waiting', 'received')`
	if history {
		cond = ` AND r.status IN ('expired', 'cancelled')`
	}
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.user_id = $1`+cond+` AND r.seq < $2 ORDER BY r.seq DESC LIMIT $3`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanRental)
	return out, next, engineErr(err)
}

// LoadRentalMessages lists the SMS routed to a rental, newest first.
func (db *DB) LoadRentalMessages(ctx context.Context, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.MessageCols+` FROM messages WHERE rental_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, rentalID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanMessage)
	return out, next, engineErr(err)
}

// ExtendRental moves a live rental's end, guarded by the end it had.
func (t *ptx) ExtendRental(ctx context.Context, x fetchsms.RentalExtension) (bool, error) {
	tag, err := t.Exec(ctx, `UPDATE rentals SET extended_days = extended_days + $1, cost_cents = cost_cents + $2, expires_at = $3, reminded_at = NULL
		WHERE id = $4 AND status IN ('waiting', 'received') AND expires_at = $5`, x.Days, x.AddCents, sqlrows.Ms(x.NewEnd), x.ID, sqlrows.Ms(x.OldEnd))
	return err == nil && tag.RowsAffected() == 1, err
}

// MarkRentalReminded notes the rental's reminder once.
func (t *ptx) MarkRentalReminded(ctx context.Context, id string, now time.Time) (bool, error) {
	tag, err := t.Exec(ctx, `UPDATE rentals SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL`, sqlrows.Ms(now), id)
	return err == nil && tag.RowsAffected() == 1, err
}

// RentalsToRemind returns the live rentals, without a reminder, that end within
// least(lead, term/divisor) of now.
func (db *DB) RentalsToRemind(ctx context.Context, now time.Time, lead time.Duration, divisor, limit int) ([]string, error) {
	at := sqlrows.Ms(now)
	rows, err := db.pool.Query(ctx, `SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at > $1 AND expires_at <= $2
		AND reminded_at IS NULL AND expires_at - LEAST($3::bigint, (expires_at - created_at) / $4::bigint) <= $1 ORDER BY expires_at LIMIT $5`,
		at, at+lead.Milliseconds(), lead.Milliseconds(), divisor, limit)
	ids, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return ids, engineErr(err)
}
