package sqlite

import (
	"context"
	"database/sql"
	"time"

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

// CreateRental debits the wallet and reserves a pristine (never sold) number for the
// term in one transaction. Errors as CreateVerification, plus EUNPROCESSABLE for an
// unsupported term and EINVALID for a short-term service.
func (db *DB) CreateRental(ctx context.Context, userID string, req fetchsms.RentalRequest) (*fetchsms.Rental, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := db.Clock.Now()
	var id string
	err := db.tx(ctx, "sqlite.CreateRental", func(tx *wtx) error {
		svc, err := tx.service(ctx, req.Service)
		if err != nil {
			return err
		}
		q, err := fetchsms.QuoteLong(*svc, req.Days, req.AreaCode != "")
		if err != nil {
			return err
		}
		query := `SELECT id, e164 FROM numbers INDEXED BY numbers_pristine WHERE status = 'active' AND holder IS NULL AND used_at IS NULL ORDER BY seq LIMIT 1`
		var args []any
		if req.AreaCode != "" {
			query = `SELECT id, e164 FROM numbers INDEXED BY numbers_pristine_area WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND area_code = ? ORDER BY seq LIMIT 1`
			args = append(args, req.AreaCode)
		}
		var numberID, e164 string
		if err := tx.QueryRowContext(ctx, query, args...).Scan(&numberID, &e164); err == sql.ErrNoRows {
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
			_, err := tx.ExecContext(ctx, `INSERT INTO rentals (id, ref, user_id, service_id, number_id, number, area_code, duration_days, status, cost_cents, created_at, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?)`,
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
	return db.getRental(ctx, db.rp, userID, id)
}

func (db *DB) getRental(ctx context.Context, q queryer, userID, id string) (*fetchsms.Rental, error) {
	r, _, err := scanRental(q.QueryRowContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = +? AND r.user_id = +?`, id, userID))
	if err != nil {
		return nil, wrap("sqlite.Rental", notFound(err, "rental not found"))
	}
	return r, nil
}

// Rental returns one of the user's rentals, ending its term first when it is over.
// Another user's rental is ENOTFOUND.
func (db *DB) Rental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	r, err := db.getRental(ctx, db.rp, userID, id)
	if err != nil {
		return nil, err
	}
	if live(r.Status) && !db.Clock.Now().Before(r.ExpiresAt) {
		if err := db.tx(ctx, "sqlite.Rental", func(tx *wtx) error {
			_, err := expireRental(ctx, tx, id, db.Clock.Now())
			return err
		}); err != nil {
			return nil, err
		}
		db.notify()
		return db.getRental(ctx, db.rp, userID, id)
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
	rows, err := db.rp.QueryContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.user_id = +?`+cond+` AND r.seq < +? ORDER BY r.seq DESC LIMIT +?`, userID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.ListRentals", err)
	}
	defer rows.Close()
	var out []*fetchsms.Rental
	var seqs []int64
	for rows.Next() {
		r, seq, err := scanRental(rows)
		if err != nil {
			return nil, 0, wrap("sqlite.ListRentals", err)
		}
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("sqlite.ListRentals", rows.Err())
}

// RentalMessages lists every SMS received on the rental's number during it, newest first.
func (db *DB) RentalMessages(ctx context.Context, userID, rentalID string, p fetchsms.Page) ([]*fetchsms.Message, int64, error) {
	if _, err := db.getRental(ctx, db.rp, userID, rentalID); err != nil {
		return nil, 0, err
	}
	limit, before := pageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT seq, id, sender, body, code, received_at FROM messages WHERE rental_id = +? AND seq < +? ORDER BY seq DESC LIMIT +?`, rentalID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.RentalMessages", err)
	}
	defer rows.Close()
	var out []*fetchsms.Message
	var seqs []int64
	for rows.Next() {
		m := &fetchsms.Message{RentalID: rentalID}
		var seq, received int64
		var code sql.NullString
		if err := rows.Scan(&seq, &m.ID, &m.Sender, &m.Body, &code, &received); err != nil {
			return nil, 0, wrap("sqlite.RentalMessages", err)
		}
		m.Code, m.ReceivedAt = code.String, fromMS(received)
		out = append(out, m)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("sqlite.RentalMessages", rows.Err())
}

// CancelRental cancels a rental that has not received a code and refunds it; after
// the first code, or once ended, ECONFLICT.
func (db *DB) CancelRental(ctx context.Context, userID, id string) (*fetchsms.Rental, error) {
	now := db.Clock.Now()
	var conflict error
	err := db.tx(ctx, "sqlite.CancelRental", func(tx *wtx) error {
		r, err := db.getRental(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		if live(r.Status) && !now.Before(r.ExpiresAt) {
			if _, err := expireRental(ctx, tx, id, now); err != nil {
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
	return db.getRental(ctx, db.rp, userID, id)
}

// endRental ends a live rental with status, frees its number, and refunds it when it
// never received a code. The status guard makes it happen once.
func endRental(ctx context.Context, tx *wtx, r *fetchsms.Rental, status string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE rentals SET status = ?, ended_at = ? WHERE id = ? AND status = ?`, status, ms(now), r.ID, r.Status)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
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

// expireRental ends one rental whose term is over; false when it was not due.
func expireRental(ctx context.Context, tx *wtx, id string, now time.Time) (bool, error) {
	r, _, err := scanRental(tx.QueryRowContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = +?`, id))
	if err != nil {
		return false, notFound(err, "rental not found")
	}
	if !live(r.Status) || now.Before(r.ExpiresAt) {
		return false, nil
	}
	return true, endRental(ctx, tx, r, fetchsms.StatusExpired, now)
}

// ExpireDue ends up to limit overdue verifications and rentals, each in its own
// transaction, and returns how many it ended. Safe to run from several places at
// once: the status guards let each end happen once.
func (db *DB) ExpireDue(ctx context.Context, limit int) (int, error) {
	now := db.Clock.Now()
	n := 0
	for _, k := range []struct {
		query  string
		expire func(context.Context, *wtx, string, time.Time) (bool, error)
	}{
		{`SELECT id FROM verifications WHERE status = 'waiting' AND expires_at <= +? ORDER BY expires_at LIMIT +?`, expireVerification},
		{`SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at <= +? ORDER BY expires_at LIMIT +?`, expireRental},
	} {
		rows, err := db.rp.QueryContext(ctx, k.query, ms(now), limit)
		if err != nil {
			return n, wrap("sqlite.ExpireDue", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return n, wrap("sqlite.ExpireDue", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			err := db.tx(ctx, "sqlite.ExpireDue", func(tx *wtx) error {
				done, err := k.expire(ctx, tx, id, now)
				if done {
					n++
				}
				return err
			})
			if err != nil {
				return n, err
			}
		}
	}
	if n > 0 {
		db.notify()
	}
	return n, nil
}
