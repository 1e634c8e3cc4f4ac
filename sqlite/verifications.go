package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

const verificationCols = `v.seq, v.id, v.ref, v.user_id, v.service_id, s.slug, s.name, v.number_id, v.number, v.area_code, v.status, v.code, v.cost_cents, v.created_at, v.expires_at, v.received_at`

// verificationFrom joins the service. Statements over it bind their values as +?
// (the same value, as an expression): for a join SQLite's planner otherwise peeks
// at the bound values and re-prepares the statement at nearly every new binding.
const verificationFrom = ` FROM verifications v JOIN services s ON s.id = v.service_id`

func scanVerification(row interface{ Scan(...any) error }) (*fetchsms.Verification, int64, error) {
	var v fetchsms.Verification
	var seq, created, expires int64
	var code sql.NullString
	var received sql.NullInt64
	if err := row.Scan(&seq, &v.ID, &v.Ref, &v.UserID, &v.ServiceID, &v.ServiceSlug, &v.ServiceName, &v.NumberID, &v.Number, &v.AreaCode,
		&v.Status, &code, &v.CostCents, &created, &expires, &received); err != nil {
		return nil, 0, err
	}
	v.Code, v.CreatedAt, v.ExpiresAt, v.ReceivedAt = code.String, fromMS(created), fromMS(expires), fromNullMS(received)
	return &v, seq, nil
}

// CreateVerification debits the wallet and reserves a number for the service in one
// transaction. Unknown service ENOTFOUND; the long-term product EINVALID; no free
// number ECONFLICT; balance too low EPAYMENT.
func (db *DB) CreateVerification(ctx context.Context, userID string, req fetchsms.VerificationRequest) (*fetchsms.Verification, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := fromMS(ms(db.Clock.Now())) // as stored, so the answer equals a later read
	var out *fetchsms.Verification
	err := db.tx(ctx, "sqlite.CreateVerification", func(tx *wtx) error {
		svc, err := tx.service(ctx, req.Service)
		if err != nil {
			return err
		}
		if svc.IsLongTerm() {
			return fetchsms.Errorf(fetchsms.EINVALID, "%s is the long-term rental product: buy it with POST /v1/rentals", svc.Slug)
		}
		q, err := fetchsms.QuoteShort(*svc, req.AreaCode != "")
		if err != nil {
			return err
		}
		// Prefer numbers already used for other services, keeping pristine ones for
		// rentals; among those, the one released longest ago.
		query := `SELECT id, e164 FROM numbers n INDEXED BY numbers_pick WHERE status = 'active' AND holder IS NULL
			AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)
			ORDER BY used_at IS NULL, released_at, seq LIMIT 1`
		args := []any{svc.ID}
		if req.AreaCode != "" {
			query = `SELECT id, e164 FROM numbers n INDEXED BY numbers_pick_area WHERE status = 'active' AND holder IS NULL AND area_code = ?
			AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)
			ORDER BY used_at IS NULL, released_at, seq LIMIT 1`
			args = []any{req.AreaCode, svc.ID}
		}
		var numberID, e164 string
		if err := tx.QueryRowContext(ctx, query, args...).Scan(&numberID, &e164); err == sql.ErrNoRows {
			if req.AreaCode != "" {
				return fetchsms.Errorf(fetchsms.ECONFLICT, "%s is out of stock for short-term verifications in area code %s", svc.Name, req.AreaCode)
			}
			return fetchsms.Errorf(fetchsms.ECONFLICT, "%s is out of stock for short-term verifications", svc.Name)
		} else if err != nil {
			return err
		}
		id := newID()
		if err := hold(ctx, tx, numberID, "v:"+id, now); err != nil {
			return err
		}
		if err := post(ctx, tx, &fetchsms.LedgerEntry{UserID: userID, Kind: fetchsms.LedgerPurchase, AmountCents: -q.TotalCents, VerificationID: id, CreatedAt: now}); err != nil {
			return err
		}
		v := &fetchsms.Verification{ID: id, UserID: userID, ServiceID: svc.ID, ServiceSlug: svc.Slug, ServiceName: svc.Name, NumberID: numberID,
			Number: e164, AreaCode: req.AreaCode, Status: fetchsms.StatusWaiting, CostCents: q.TotalCents, CreatedAt: now, ExpiresAt: now.Add(fetchsms.VerificationWindow)}
		seq, ref, refKey, err := tx.nextVerificationRef(ctx)
		if err != nil {
			return err
		}
		v.Ref = ref
		if _, err := tx.ExecContext(ctx, `INSERT INTO verifications (seq, id, ref_key, ref, user_id, service_id, number_id, number, area_code, status, cost_cents, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?)`,
			seq, id, refKey, ref, userID, svc.ID, numberID, e164, req.AreaCode, q.TotalCents, ms(now), ms(v.ExpiresAt)); err != nil {
			return err
		}
		out = v
		return markIdempotent(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	// The answer is what the transaction wrote: no read after the commit.
	return out, nil
}

// hold reserves a free number for a live purchase; the UNIQUE holder column and the
// holder IS NULL guard make a double reservation impossible.
func hold(ctx context.Context, tx *wtx, numberID, holder string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE numbers SET holder = ?, used_at = COALESCE(used_at, ?) WHERE id = ? AND holder IS NULL AND status = 'active'`, holder, ms(now), numberID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("number %s was taken", numberID)
	}
	return nil
}

// release frees a number held by holder.
func release(ctx context.Context, tx *wtx, numberID, holder string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE numbers SET holder = NULL, released_at = ? WHERE id = ? AND holder = ?`, ms(now), numberID, holder)
	return err
}

// refKeySetting names the setting that keeps the key of the verification refs'
// permutation (migration 0008). It is written once; changing it would let a new
// ref repeat one given since.
const refKeySetting = "verification_ref_key"

// nextVerificationRef returns the seq the verification about to be inserted takes
// (the writer is alone, and AUTOINCREMENT's counter is read inside its
// transaction), its public ref and its ref_key. The ref is the permutation of the
// seq; when a row from before migration 0008 already has that ref (old refs were
// random), the next counter reserved for this seq is tried (refStride).
func (t *wtx) nextVerificationRef(ctx context.Context) (seq int64, ref, refKey string, err error) {
	if t.refs == nil {
		var key string
		if err := t.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, refKeySetting).Scan(&key); err != nil {
			return 0, "", "", fmt.Errorf("sqlite: reading the verification ref key: %w", err)
		}
		if t.refs, err = parseRefKey(key); err != nil {
			return 0, "", "", err
		}
	}
	var last int64
	if err := t.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'verifications'`).Scan(&last); err != nil && err != sql.ErrNoRows {
		return 0, "", "", err
	}
	seq = last + 1
	if seq >= refStride {
		return 0, "", "", fmt.Errorf("sqlite: verification seq %d is past the ref space", seq)
	}
	if t.oldRefs == 0 {
		// Rows from before migration 0008 hold random refs in ref_key; once it is
		// known that none does, no new ref needs checking against them (no new
		// row gets one: ref_key is NOT NULL without a default since 0008).
		var one int
		// Every text starting with "v_" sorts in ["v_", "v`"): '`' follows '_'.
		switch err := t.QueryRowContext(ctx, `SELECT 1 FROM verifications WHERE ref_key >= ? AND ref_key < ? LIMIT 1`, "v_", "v`").Scan(&one); err {
		case sql.ErrNoRows:
			t.oldRefs = -1
		case nil:
			t.oldRefs = 1
		default:
			return 0, "", "", err
		}
	}
	for k := range refTries {
		ref, refKey = t.refs.verificationRef(uint64(seq) + uint64(k)*refStride)
		if t.oldRefs < 0 {
			return seq, ref, refKey, nil
		}
		var one int
		switch err := t.QueryRowContext(ctx, `SELECT 1 FROM verifications WHERE ref_key = ?`, ref).Scan(&one); err {
		case sql.ErrNoRows:
			return seq, ref, refKey, nil
		case nil:
		default:
			return 0, "", "", err
		}
	}
	return 0, "", "", fmt.Errorf("sqlite: no free ref for verification seq %d", seq)
}

// insertWithRef runs insert with fresh random refs until one is unique. A UNIQUE
// violation aborts only the failing statement in SQLite, so the transaction goes on.
func insertWithRef(ctx context.Context, tx *wtx, prefix string, insert func(ref string) error) error {
	for i := 0; ; i++ {
		err := insert(newRef(prefix))
		if err == nil || !isUnique(err) || i == 5 {
			return err
		}
	}
}

func (db *DB) getVerification(ctx context.Context, q queryer, userID, id string) (*fetchsms.Verification, error) {
	v, _, err := scanVerification(q.QueryRowContext(ctx, `SELECT `+verificationCols+verificationFrom+` WHERE v.id = +? AND v.user_id = +?`, id, userID))
	if err != nil {
		return nil, wrap("sqlite.Verification", notFound(err, "verification not found"))
	}
	return v, nil
}

// Verification returns one of the user's verifications. One whose window has closed
// without a code is expired and refunded first, so a read never shows "waiting" after
// expires_at. Another user's verification is ENOTFOUND.
func (db *DB) Verification(ctx context.Context, userID, id string) (*fetchsms.Verification, error) {
	var v *fetchsms.Verification
	if c, ok := db.vc.get(id); ok {
		if c.UserID != userID {
			return nil, fetchsms.Errorf(fetchsms.ENOTFOUND, "verification not found")
		}
		v = &c
	} else {
		gen := db.vc.generation()
		var err error
		if v, err = db.getVerification(ctx, db.rp, userID, id); err != nil {
			return nil, err
		}
		db.vc.put(v, gen)
	}
	if v.Status == fetchsms.StatusWaiting && !db.Clock.Now().Before(v.ExpiresAt) {
		if err := db.tx(ctx, "sqlite.Verification", func(tx *wtx) error {
			_, err := expireVerification(ctx, tx, id, db.Clock.Now())
			return err
		}); err != nil {
			return nil, err
		}
		return db.getVerification(ctx, db.rp, userID, id)
	}
	return v, nil
}

// ListVerifications returns the user's verifications newest first: tab "active" the
// waiting ones, "history" the rest.
func (db *DB) ListVerifications(ctx context.Context, userID, tab string, p fetchsms.Page) ([]*fetchsms.Verification, int64, error) {
	if err := db.expireDueFor(ctx, userID); err != nil {
		return nil, 0, err
	}
	limit, before := pageArgs(p)
	cond := ` AND v.status = 'waiting'`
	if tab == "history" {
		cond = ` AND v.status <> 'waiting'`
	}
	rows, err := db.rp.QueryContext(ctx, `SELECT `+verificationCols+verificationFrom+` WHERE v.user_id = +?`+cond+` AND v.seq < +? ORDER BY v.seq DESC LIMIT +?`, userID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.ListVerifications", err)
	}
	defer rows.Close()
	var out []*fetchsms.Verification
	var seqs []int64
	for rows.Next() {
		v, seq, err := scanVerification(rows)
		if err != nil {
			return nil, 0, wrap("sqlite.ListVerifications", err)
		}
		out = append(out, v)
		seqs = append(seqs, seq)
	}
	out, next := trim(out, seqs, limit)
	return out, next, wrap("sqlite.ListVerifications", rows.Err())
}

// expireDueFor expires the user's overdue purchases before a list is read.
func (db *DB) expireDueFor(ctx context.Context, userID string) error {
	now := ms(db.Clock.Now())
	var n int
	err := db.rp.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM verifications WHERE user_id = ? AND status = 'waiting' AND expires_at <= ?)
		+ (SELECT count(*) FROM rentals WHERE user_id = ? AND status IN ('waiting', 'received') AND expires_at <= ?)`, userID, now, userID, now).Scan(&n)
	if err != nil || n == 0 {
		return wrap("sqlite.expireDueFor", err)
	}
	_, err = db.ExpireDue(ctx, 1000)
	return err
}

// CancelVerification cancels a waiting verification and refunds it. One that has its
// code, or has already ended, is ECONFLICT. One found overdue is expired (and
// refunded) in the same transaction before the ECONFLICT is returned.
func (db *DB) CancelVerification(ctx context.Context, userID, id string) (*fetchsms.Verification, error) {
	now := db.Clock.Now()
	var conflict error
	var out *fetchsms.Verification
	err := db.tx(ctx, "sqlite.CancelVerification", func(tx *wtx) error {
		if v, err := cancelWaiting(ctx, tx, userID, id, now); err != nil || v != nil {
			out = v
			return err
		}
		// Not a waiting verification of this user within its window: read it to
		// tell why (or to expire it first).
		v, err := db.getVerification(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		out = v
		if v.Status == fetchsms.StatusWaiting && !now.Before(v.ExpiresAt) {
			if _, err := expireVerification(ctx, tx, id, now); err != nil {
				return err
			}
			v.Status = fetchsms.StatusExpired
		}
		switch v.Status {
		case fetchsms.StatusReceived:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "the code has already arrived: a verification that received its code cannot be cancelled")
		case fetchsms.StatusExpired:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "this verification has expired and was refunded; only a waiting verification can be cancelled")
		case fetchsms.StatusCancelled:
			conflict = fetchsms.Errorf(fetchsms.ECONFLICT, "this verification is already cancelled")
		default:
			if err := endVerification(ctx, tx, v, fetchsms.StatusCancelled, now); err != nil {
				return err
			}
			v.Status = fetchsms.StatusCancelled
			return markIdempotent(ctx, tx, v.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if conflict != nil {
		return nil, conflict
	}
	return out, nil
}

// cancelWaiting cancels the user's verification id if it is waiting and within its
// window, in one statement that checks and changes it, then refunds it and frees
// its number. It returns nil, nil when the verification is not in that state (or
// not the user's), for the caller to find out why.
func cancelWaiting(ctx context.Context, tx *wtx, userID, id string, now time.Time) (*fetchsms.Verification, error) {
	v := fetchsms.Verification{ID: id, UserID: userID, Status: fetchsms.StatusCancelled}
	var created, expires int64
	err := tx.QueryRowContext(ctx, `UPDATE verifications SET status = 'cancelled', ended_at = ?
		WHERE id = ? AND user_id = ? AND status = 'waiting' AND expires_at > ?
		RETURNING ref, service_id, number_id, number, area_code, cost_cents, created_at, expires_at`,
		ms(now), id, userID, ms(now)).Scan(&v.Ref, &v.ServiceID, &v.NumberID, &v.Number, &v.AreaCode, &v.CostCents, &created, &expires)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tx.touch(id)
	v.CreatedAt, v.ExpiresAt = fromMS(created), fromMS(expires)
	svc, err := tx.serviceByID(ctx, v.ServiceID)
	if err != nil {
		return nil, err
	}
	v.ServiceSlug, v.ServiceName = svc.Slug, svc.Name
	if err := release(ctx, tx, v.NumberID, "v:"+id, now); err != nil {
		return nil, err
	}
	if err := post(ctx, tx, &fetchsms.LedgerEntry{UserID: userID, Kind: fetchsms.LedgerRefund, AmountCents: v.CostCents, VerificationID: id, CreatedAt: now}); err != nil {
		return nil, err
	}
	return &v, markIdempotent(ctx, tx, id)
}

// endVerification moves a waiting verification to expired or cancelled, refunds it
// and frees its number. The status guard makes it happen once.
func endVerification(ctx context.Context, tx *wtx, v *fetchsms.Verification, status string, now time.Time) error {
	tx.touch(v.ID)
	res, err := tx.ExecContext(ctx, `UPDATE verifications SET status = ?, ended_at = ? WHERE id = ? AND status = 'waiting'`, status, ms(now), v.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fetchsms.Errorf(fetchsms.ECONFLICT, "this verification is no longer waiting")
	}
	if err := release(ctx, tx, v.NumberID, "v:"+v.ID, now); err != nil {
		return err
	}
	return post(ctx, tx, &fetchsms.LedgerEntry{UserID: v.UserID, Kind: fetchsms.LedgerRefund, AmountCents: v.CostCents, VerificationID: v.ID, CreatedAt: now})
}

// expireVerification expires one overdue waiting verification; false when it was not
// (or no longer) due.
func expireVerification(ctx context.Context, tx *wtx, id string, now time.Time) (bool, error) {
	v, _, err := scanVerification(tx.QueryRowContext(ctx, `SELECT `+verificationCols+verificationFrom+` WHERE v.id = +?`, id))
	if err != nil {
		return false, notFound(err, "verification not found")
	}
	if v.Status != fetchsms.StatusWaiting || now.Before(v.ExpiresAt) {
		return false, nil
	}
	return true, endVerification(ctx, tx, v, fetchsms.StatusExpired, now)
}
