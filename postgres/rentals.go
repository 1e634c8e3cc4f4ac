package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

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

// CreateRental debits the wallet and reserves a pristine (never sold) number for the
// term in one transaction. Errors as CreateVerification, plus EUNPROCESSABLE for an
// unsupported term and EINVALID for a short-term service.
func (db *DB) CreateRental(ctx context.Context, userID string, req fetchsms.RentalRequest) (*fetchsms.Rental, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := db.Clock.Now()
	var id string
	err := db.tx(ctx, "postgres.CreateRental", func(tx pgx.Tx) error {
		svc, err := serviceByRef(ctx, tx, req.Service)
		if err != nil {
			return err
		}
		q, err := fetchsms.QuoteLong(*svc, req.Days, req.AreaCode != "")
		if err != nil {
			return err
		}
		query := `SELECT id, e164 FROM numbers WHERE status = 'active' AND holder IS NULL AND used_at IS NULL`
		var args []any
		if req.AreaCode != "" {
			query += ` AND area_code = $1`
			args = append(args, req.AreaCode)
		}
		query += ` ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`
		var numberID, e164 string
		if err := tx.QueryRow(ctx, query, args...).Scan(&numberID, &e164); errors.Is(err, pgx.ErrNoRows) {
			if req.AreaCode != "" {
				return fetchsms.Errorf(fetchsms.ECONFLICT, "no number is available for long-term rental in area code %s", req.AreaCode)
			}
			return fetchsms.Errorf(fetchsms.ECONFLICT, "no number is available for long-term rental right now")
		} else if err != nil {
			return err
		}
		id = newID()
		if err := hold(ctx, tx, numberID, "r:"+id, now); err != nil {
			return err
		}
		if err := post(ctx, tx, &fetchsms.LedgerEntry{UserID: userID, Kind: fetchsms.LedgerPurchase, AmountCents: -q.TotalCents, RentalID: id, CreatedAt: now}); err != nil {
			return err
		}
		err = insertWithRef(ctx, tx, "r_", func(ref string) error {
			_, err := tx.Exec(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $9, $10, $11)`,
				id, ref, userID, svc.ID, numberID, e164, req.AreaCode, req.Days, q.TotalCents, ms(now), ms(now.AddDate(0, 0, req.Days)))
			return err
		})
		if err != nil {
			return err
		}
		return markIdempotent(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return db.getRental(ctx, db.pool, userID, id, "")
}

// getRental reads one of the user's rentals; lock " FOR UPDATE OF r" holds its row
// to the end of the transaction.
func (db *DB) getRental(ctx context.Context, q querier, userID, id, lock string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(q.QueryRow(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = $1 AND r.user_id = $2`+lock, id, userID))
	if err != nil {
		return nil, wrap("postgres.Rental", notFound(err, "rental not found"))
	}
	return r, nil
}

// Rental returns one of the user's rentals, ending its term first when it is over.
// Another user's rental is ENOTFOUND.
func (db *DB) Rental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, err := db.getRental(ctx, db.pool, userID, id, "")
	if err != nil {
		return nil, err
	}
	if live(r.Status) && !db.Clock.Now().Before(r.ExpiresAt) {
		if err := db.tx(ctx, "postgres.Rental", func(tx pgx.Tx) error {
			_, err := expireRental(ctx, tx, id, db.Clock.Now())
			return err
		}); err != nil {
			return nil, err
		}
		db.notify()
		return db.getRental(ctx, db.pool, userID, id, "")
	}
	return r, nil
}

func live(status string) bool {
	return status == fetchsms.StatusWaiting || status == fetchsms.StatusReceived
}

// ListRentals returns the user's rentals newest first: tab "active" those whose term
// runs, "history" the ended ones.
func (db *DB) ListRentals(ctx context.Context, userID, tab string, p fetchsms.Page) ([]*fetchsms.Rental, int64, error) {
	if err := db.expireDueFor(ctx, userID); err != nil {
		return nil, 0, err
	}
	limit, before := pageArgs(p)
	cond := ` AND r.status IN ('waiting', 'received')`
	if tab == "history" {
		cond = ` AND r.status IN ('expired', 'cancelled')`
	}
	rows, err := db.pool.Query(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.user_id = $1`+cond+` AND r.seq < $2 ORDER BY r.seq DESC LIMIT $3`, userID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.ListRentals", err)
	}
	defer rows.Close()
	var out []*fetchsms.Rental
	var seqs []int64
	for rows.Next() {
		r, seq, err := scanRental(rows)
		if err != nil {
			return nil, 0, wrap("postgres.ListRentals", err)
		}
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("postgres.ListRentals", rows.Err())
}

// RentalMessages lists every SMS received on the rental's number during it, newest first.
func (db *DB) RentalMessages(ctx context.Context, userID, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	if _, err := db.getRental(ctx, db.pool, userID, rentalID, ""); err != nil {
		return nil, 0, err
	}
	limit, before := pageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT seq, id, sender, body, code, received_at FROM messages WHERE rental_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, rentalID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.RentalMessages", err)
	}
	defer rows.Close()
	var out []*fetchsms.Message
	var seqs []int64
	for rows.Next() {
		m := &fetchsms.Message{RentalID: rentalID}
		var seq, received int64
		var code sql.NullString
		if err := rows.Scan(&seq, &m.ID, &m.Sender, &m.Body, &code, &received); err != nil {
			return nil, 0, wrap("postgres.RentalMessages", err)
		}
		m.Code, m.ReceivedAt = code.String, fromMS(received)
		out = append(out, m)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("postgres.RentalMessages", rows.Err())
}

// CancelRental cancels a rental that has not received a code and refunds it; after
// the first code, or once ended, ECONFLICT.
func (db *DB) CancelRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	now := db.Clock.Now()
	var conflict error
	err := db.tx(ctx, "postgres.CancelRental", func(tx pgx.Tx) error {
		conflict = nil
		r, err := db.getRental(ctx, tx, userID, id, ` FOR UPDATE OF r`)
		if err != nil {
			return err
		}
		if live(r.Status) && !now.Before(r.ExpiresAt) {
			if err := endRental(ctx, tx, r, fetchsms.StatusExpired, now); err != nil {
				return err
			}
			r.Status = fetchsms.StatusExpired
		}
		switch r.Status {
		case fetchsms.StatusReceived:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "this rental has already received a code and cannot be cancelled")
		case fetchsms.StatusExpired:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "this rental's term has ended")
		case fetchsms.StatusCancelled:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "this rental is already cancelled")
		default:
			if err := endRental(ctx, tx, r, fetchsms.StatusCancelled, now); err != nil {
				return err
			}
			return markIdempotent(ctx, tx, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if conflict != nil {
		db.notify()
		return nil, conflict
	}
	return db.getRental(ctx, db.pool, userID, id, "")
}

// endRental ends a live rental with status, frees its number, and refunds it when it
// never received a code. The status guard makes it happen once.
func endRental(ctx context.Context, tx pgx.Tx, r *fetchsms.Rental, status string, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE rentals SET status = $1, ended_at = $2 WHERE id = $3 AND status = $4`, status, ms(now), r.ID, r.Status)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fetchsms.Errorf(fetchsms.ECONFLICT, "this rental changed meanwhile; try again")
	}
	if err := release(ctx, tx, r.NumberID, "r:"+r.ID, now); err != nil {
		return err
	}
	if r.Status == fetchsms.StatusWaiting {
		if err := post(ctx, tx, &fetchsms.LedgerEntry{UserID: r.UserID, Kind: fetchsms.LedgerRefund, AmountCents: r.CostCents, RentalID: r.ID, CreatedAt: now}); err != nil {
			return err
		}
	}
	if status == fetchsms.StatusExpired {
		return enqueue(ctx, tx, fetchsms.RentalExpiredEvent(r, now), "")
	}
	return nil
}

// expireRental ends one rental whose term is over, locking its row first; false
// when it was not due.
func expireRental(ctx context.Context, tx pgx.Tx, id string, now time.Time) (bool, error) {
	r, _, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
	if err != nil {
		return false, notFound(err, "rental not found")
	}
	if !live(r.Status) || now.Before(r.ExpiresAt) {
		return false, nil
	}
	return true, endRental(ctx, tx, r, fetchsms.StatusExpired, now)
}

// ExpireDue ends up to limit overdue verifications and rentals, each in its own
// transaction, and returns how many it ended. Several servers sweep at once safely:
// each row is locked (FOR UPDATE) and its status re-checked before it ends, so each
// end, and its refund, happens once.
func (db *DB) ExpireDue(ctx context.Context, limit int) (int, error) {
	now := db.Clock.Now()
	n := 0
	for _, k := range []struct {
		query  string
		expire func(context.Context, pgx.Tx, string, time.Time) (bool, error)
	}{
		{`SELECT id FROM verifications WHERE status = 'waiting' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, expireVerification},
		{`SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, expireRental},
	} {
		rows, err := db.pool.Query(ctx, k.query, ms(now), limit)
		if err != nil {
			return n, wrap("postgres.ExpireDue", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return n, wrap("postgres.ExpireDue", err)
		}
		for _, id := range ids {
			done := false
			err := db.tx(ctx, "postgres.ExpireDue", func(tx pgx.Tx) error {
				var err error
				done, err = k.expire(ctx, tx, id, now)
				return err
			})
			if err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
	}
	if n > 0 {
		db.notify()
	}
	return n, nil
}
