package sqlite

import (
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
)

const rentalCols = `r.seq, r.id, r.ref, r.user_id, r.service_id, s.slug, s.name, r.number_id, r.number, r.area_code, r.duration_days, r.status, r.last_code, r.cost_cents, r.created_at, r.expires_at`

// rentalFrom joins the service; bind as +? (see verificationFrom).
const rentalFrom = ` FROM rentals r JOIN services s ON s.id = r.service_id`

func scanRental(row interface{ Scan(...any) error }) (*fetchsms.Rental, int64, error) {
	var r fetchsms.Rental
	var seq, created, expires int64
	var code sql.NullString
	if err := row.Scan(&seq, &r.ID, &r.Ref, &r.UserID, &r.ServiceID, &r.ServiceSlug, &r.ServiceName, &r.NumberID, &r.Number, &r.AreaCode,
		&r.DurationDays, &r.Status, &code, &r.CostCents, &created, &expires); err != nil {
		return nil, 0, err
	}
	r.LastCode, r.CreatedAt, r.ExpiresAt = code.String, fromMS(created), fromMS(expires)
	return &r, seq, nil
}

// InsertRental stores r with a fresh random ref.
func (t *wtx) InsertRental(ctx context.Context, r *fetchsms.Rental) error {
	return insertWithRef(ctx, t, "r_", func(ref string) error {
		_, err := t.ExecContext(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, ref, r.UserID, r.ServiceID, r.NumberID, r.Number, r.AreaCode, r.DurationDays, r.Status, r.CostCents, ms(r.CreatedAt), ms(r.ExpiresAt))
		if err == nil {
			r.Ref = ref
		}
		return err
	})
}

// LockRental reads a rental inside the writer's transaction, or ErrNoRow.
func (t *wtx) LockRental(ctx context.Context, id string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(t.QueryRowContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = +?`, id))
	return r, noRow(err)
}

// UpdateRental applies u, guarded by its From status.
func (t *wtx) UpdateRental(ctx context.Context, u fetchsms.RentalUpdate) (bool, error) {
	res, err := t.ExecContext(ctx, `UPDATE rentals SET status = ?, last_code = COALESCE(?, last_code),
		ended_at = CASE WHEN ? IN ('expired', 'cancelled') THEN ? ELSE ended_at END WHERE id = ? AND status = ?`,
		u.To, nullStr(u.LastCode), u.To, ms(u.Now), u.ID, u.From)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LoadRental returns one of the user's rentals, or ErrNoRow.
func (db *DB) LoadRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(db.rp.QueryRowContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = +? AND r.user_id = +?`, id, userID))
	return r, engineErr(err)
}

// LoadRentals lists the user's live (or ended) rentals newest first.
func (db *DB) LoadRentals(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
	cond := ` AND r.status IN ('waiting', 'received')`
	if history {
		cond = ` AND r.status IN ('expired', 'cancelled')`
	}
	return list(ctx, db.rp, scanRental, `SELECT `+rentalCols+rentalFrom+` WHERE r.user_id = +?`+cond+` AND r.seq < +? ORDER BY r.seq DESC LIMIT +?`, userID, p)
}

// LoadRentalMessages lists the SMS routed to a rental, newest first.
func (db *DB) LoadRentalMessages(ctx context.Context, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	scan := func(row interface{ Scan(...any) error }) (*fetchsms.Message, int64, error) {
		m := &fetchsms.Message{RentalID: rentalID}
		var seq, received int64
		var code sql.NullString
		if err := row.Scan(&seq, &m.ID, &m.Sender, &m.Body, &code, &received); err != nil {
			return nil, 0, err
		}
		m.Code, m.ReceivedAt = code.String, fromMS(received)
		return m, seq, nil
	}
	return list(ctx, db.rp, scan, `SELECT seq, id, sender, body, code, received_at FROM messages WHERE rental_id = +? AND seq < +? ORDER BY seq DESC LIMIT +?`, rentalID, p)
}
