package postgres

import (
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/jackc/pgx/v5"
)

const rentalCols = `r.seq, r.id, r.ref, r.user_id, r.service_id, s.slug, s.name, r.number_id, r.number, r.area_code, r.duration_days, r.status, r.last_code, r.cost_cents, r.created_at, r.expires_at`

const rentalFrom = ` FROM rentals r JOIN services s ON s.id = r.service_id`

func scanRental(row pgx.Row) (*fetchsms.Rental, int64, error) {
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
func (t *ptx) InsertRental(ctx context.Context, r *fetchsms.Rental) error {
	return insertWithRef(ctx, t, "r_", func(ref string) error {
		_, err := t.Exec(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.ID, ref, r.UserID, r.ServiceID, r.NumberID, r.Number, r.AreaCode, r.DurationDays, r.Status, r.CostCents, ms(r.CreatedAt), ms(r.ExpiresAt))
		if err == nil {
			r.Ref = ref
		}
		return err
	})
}

// LockRental reads a rental and locks its row to the end of the transaction, or ErrNoRow.
func (t *ptx) LockRental(ctx context.Context, id string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(t.QueryRow(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
	return r, noRow(err)
}

// UpdateRental applies u, guarded by its From status.
func (t *ptx) UpdateRental(ctx context.Context, u fetchsms.RentalUpdate) (bool, error) {
	tag, err := t.Exec(ctx, `UPDATE rentals SET status = $1, last_code = COALESCE($2, last_code),
		ended_at = CASE WHEN $1 IN ('expired', 'cancelled') THEN $3 ELSE ended_at END WHERE id = $4 AND status = $5`,
		u.To, nullStr(u.LastCode), ms(u.Now), u.ID, u.From)
	return err == nil && tag.RowsAffected() == 1, err
}

// LoadRental returns one of the user's rentals, or ErrNoRow.
func (db *DB) LoadRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(db.pool.QueryRow(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = $1 AND r.user_id = $2`, id, userID))
	return r, engineErr(err)
}

// LoadRentals lists the user's live (or ended) rentals newest first.
func (db *DB) LoadRentals(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
	cond := ` AND r.status IN ('waiting', 'received')`
	if history {
		cond = ` AND r.status IN ('expired', 'cancelled')`
	}
	return list(ctx, db.pool, scanRental, `SELECT `+rentalCols+rentalFrom+` WHERE r.user_id = $1`+cond+` AND r.seq < $2 ORDER BY r.seq DESC LIMIT $3`, userID, p)
}

// LoadRentalMessages lists the SMS routed to a rental, newest first.
func (db *DB) LoadRentalMessages(ctx context.Context, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	scan := func(row pgx.Row) (*fetchsms.Message, int64, error) {
		m := &fetchsms.Message{RentalID: rentalID}
		var seq, received int64
		var code sql.NullString
		if err := row.Scan(&seq, &m.ID, &m.Sender, &m.Body, &code, &received); err != nil {
			return nil, 0, err
		}
		m.Code, m.ReceivedAt = code.String, fromMS(received)
		return m, seq, nil
	}
	return list(ctx, db.pool, scan, `SELECT seq, id, sender, body, code, received_at FROM messages WHERE rental_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, rentalID, p)
}
