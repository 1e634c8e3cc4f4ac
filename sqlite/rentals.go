package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// rentalFrom joins the service; bind as +? (see verificationFrom).
const rentalFrom = ` FROM rentals r JOIN services s ON s.id = r.service_id`

// InsertRental stores r with a fresh random ref.
func (t *wtx) InsertRental(ctx context.Context, r *fetchsms.Rental) error {
	return insertWithRef(ctx, t, "r_", func(ref string) error {
		_, err := t.ExecContext(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, ref, r.UserID, r.ServiceID, r.NumberID, r.Number, r.AreaCode, r.DurationDays, r.Status, r.CostCents, sqlrows.Ms(r.CreatedAt), sqlrows.Ms(r.ExpiresAt))
		if err == nil {
			r.Ref = ref
		}
		return err
	})
}

// LockRental reads a rental inside the writer's transaction, or ErrNoRow.
func (t *wtx) LockRental(ctx context.Context, id string) (*fetchsms.Rental, error) {
	r, _, err := sqlrows.ScanRental(t.QueryRowContext(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.id = +?`, id))
	return r, noRow(err)
}

// UpdateRental applies u, guarded by its From status.
func (t *wtx) UpdateRental(ctx context.Context, u fetchsms.RentalUpdate) (bool, error) {
	res, err := t.ExecContext(ctx, `UPDATE rentals SET status = ?, last_code = COALESCE(?, last_code),
		ended_at = CASE WHEN ? IN ('expired', 'cancelled') THEN ? ELSE ended_at END WHERE id = ? AND status = ?`,
		u.To, sqlrows.NullStr(u.LastCode), u.To, sqlrows.Ms(u.Now), u.ID, u.From)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LoadRental returns one of the user's rentals, or ErrNoRow.
func (db *DB) LoadRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, _, err := sqlrows.ScanRental(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.id = +? AND r.user_id = +?`, id, userID))
	return r, engineErr(err)
}

// LoadRentals lists the user's live (or ended) rentals newest first.
func (db *DB) LoadRentals(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
	cond := ` AND r.status IN ('waiting', 'received')`
	if history {
		cond = ` AND r.status IN ('expired', 'cancelled')`
	}
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+` WHERE r.user_id = +?`+cond+` AND r.seq < +? ORDER BY r.seq DESC LIMIT +?`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanRental)
	return out, next, engineErr(err)
}

// LoadRentalMessages lists the SMS routed to a rental, newest first.
func (db *DB) LoadRentalMessages(ctx context.Context, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.MessageCols+` FROM messages WHERE rental_id = +? AND seq < +? ORDER BY seq DESC LIMIT +?`, rentalID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanMessage)
	return out, next, engineErr(err)
}

// ExtendRental moves a live rental's end, guarded by the end it had.
func (t *wtx) ExtendRental(ctx context.Context, x fetchsms.RentalExtension) (bool, error) {
	return changed(t.ExecContext(ctx, `UPDATE rentals SET extended_days = extended_days + ?, cost_cents = cost_cents + ?, expires_at = ?, reminded_at = NULL
		WHERE id = ? AND status IN ('waiting', 'received') AND expires_at = ?`, x.Days, x.AddCents, sqlrows.Ms(x.NewEnd), x.ID, sqlrows.Ms(x.OldEnd)))
}

// MarkRentalReminded notes the rental's reminder once.
func (t *wtx) MarkRentalReminded(ctx context.Context, id string, now time.Time) (bool, error) {
	return changed(t.ExecContext(ctx, `UPDATE rentals SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL`, sqlrows.Ms(now), id))
}

// RentalsToRemind returns the live rentals, without a reminder, that end within
// min(lead, term/divisor) of now.
func (db *DB) RentalsToRemind(ctx context.Context, now time.Time, lead time.Duration, divisor, limit int) ([]string, error) {
	at := sqlrows.Ms(now)
	rows, err := db.rp.QueryContext(ctx, `SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at > +? AND expires_at <= +?
		AND reminded_at IS NULL AND expires_at - min(+?, (expires_at - created_at) / +?) <= +? ORDER BY expires_at LIMIT +?`,
		at, at+lead.Milliseconds(), lead.Milliseconds(), divisor, at, limit)
	ids, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return ids, engineErr(err)
}
