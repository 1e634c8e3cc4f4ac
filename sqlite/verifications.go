package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// verificationFrom joins the service. Statements over it bind their values as +?
// (the same value, as an expression): for a join SQLite's planner otherwise peeks
// at the bound values and re-prepares the statement at nearly every new binding.
const verificationFrom = ` FROM verifications v JOIN services s ON s.id = v.service_id`

// TakeNumber picks a free, active number as p asks and holds it for holder, or
// ErrNoRow when none is free. The writer is alone: the number picked is free
// when it is held.
func (t *wtx) TakeNumber(ctx context.Context, p fetchsms.NumberPick, holder string, now time.Time) (string, string, error) {
	id, e164, err := t.pickNumber(ctx, p)
	if err != nil {
		return "", "", err
	}
	return id, e164, t.HoldNumber(ctx, id, holder, now)
}

// pickNumber returns a free, active number as p asks, or ErrNoRow.
func (t *wtx) pickNumber(ctx context.Context, p fetchsms.NumberPick) (string, string, error) {
	var query string
	var args []any
	switch {
	case p.Pristine && p.AreaCode == "":
		query = `SELECT id, e164 FROM numbers INDEXED BY numbers_pristine WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND withdrawn = 0 ORDER BY seq LIMIT 1`
	case p.Pristine:
		query = `SELECT id, e164 FROM numbers INDEXED BY numbers_pristine_area WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND withdrawn = 0 AND area_code = ? ORDER BY seq LIMIT 1`
		args = []any{p.AreaCode}
	case p.AreaCode == "":
		query = `SELECT id, e164 FROM numbers n INDEXED BY numbers_pick WHERE status = 'active' AND holder IS NULL AND withdrawn = 0
			AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)
			ORDER BY used_at IS NULL, released_at, seq LIMIT 1`
		args = []any{p.ServiceID}
	default:
		query = `SELECT id, e164 FROM numbers n INDEXED BY numbers_pick_area WHERE status = 'active' AND holder IS NULL AND withdrawn = 0 AND area_code = ?
			AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)
			ORDER BY used_at IS NULL, released_at, seq LIMIT 1`
		args = []any{p.AreaCode, p.ServiceID}
	}
	var id, e164 string
	err := t.QueryRowContext(ctx, query, args...).Scan(&id, &e164)
	return id, e164, noRow(err)
}

// HoldNumber reserves a free number; the UNIQUE holder column and the holder IS
// NULL guard make a double reservation impossible.
func (t *wtx) HoldNumber(ctx context.Context, numberID, holder string, now time.Time) error {
	res, err := t.ExecContext(ctx, `UPDATE numbers SET holder = ?, used_at = COALESCE(used_at, ?) WHERE id = ? AND holder IS NULL AND status = 'active' AND withdrawn = 0`, holder, sqlrows.Ms(now), numberID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("number %s: %w", numberID, fetchsms.ErrNumberTaken)
	}
	return nil
}

// ReleaseNumber frees a number held by holder.
func (t *wtx) ReleaseNumber(ctx context.Context, numberID, holder string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE numbers SET holder = NULL, released_at = ? WHERE id = ? AND holder = ?`, sqlrows.Ms(now), numberID, holder)
	return err
}

// MarkNumberUsed records that the number gave the service a code.
func (t *wtx) MarkNumberUsed(ctx context.Context, numberID string, serviceID int) error {
	_, err := t.ExecContext(ctx, `INSERT INTO number_services_used (number_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, numberID, serviceID)
	return err
}

// InsertVerification stores v with the next seq and its ref.
func (t *wtx) InsertVerification(ctx context.Context, v *fetchsms.Verification) error {
	seq, ref, refKey, err := t.nextVerificationRef(ctx)
	if err != nil {
		return err
	}
	v.Ref = ref
	_, err = t.ExecContext(ctx, `INSERT INTO verifications (seq, id, ref_key, ref, user_id, service_id, number_id, number, area_code, status, cost_cents, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, v.ID, refKey, ref, v.UserID, v.ServiceID, v.NumberID, v.Number, v.AreaCode, v.Status, v.CostCents, sqlrows.Ms(v.CreatedAt), sqlrows.Ms(v.ExpiresAt))
	return err
}

// LockVerification reads a verification inside the writer's transaction (which
// no other writer can interleave with), or ErrNoRow.
func (t *wtx) LockVerification(ctx context.Context, id string) (*fetchsms.Verification, error) {
	t.touch(id)
	v, _, err := sqlrows.ScanVerification(t.QueryRowContext(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.id = +?`, id))
	return v, noRow(err)
}

// UpdateVerification applies u in one statement that checks and changes the row.
func (t *wtx) UpdateVerification(ctx context.Context, u fetchsms.VerificationUpdate) (*fetchsms.Verification, error) {
	t.touch(u.ID)
	set := `status = ?, ended_at = ?`
	args := []any{u.To, sqlrows.Ms(u.Now)}
	switch u.To {
	case fetchsms.StatusReceived:
		if u.Code == "" && u.Link == "" {
			break // a resend's wait ended without another code: the codes stay
		}
		set += `, link = ?, received_at = ?`
		args = append(args, sqlrows.NullStr(u.Link), sqlrows.Ms(u.Now))
		if u.Code != "" {
			set += `, code = ?, codes = CASE WHEN codes IS NULL OR codes = '' THEN ? ELSE codes || char(10) || ? END`
			args = append(args, u.Code, u.Code, u.Code)
		}
	case fetchsms.StatusWaiting:
		set = `status = ?, ended_at = NULL`
		args = args[:1]
	}
	where := ` WHERE id = ? AND status = ?`
	args = append(args, u.ID, u.From)
	if u.UserID != "" {
		where += ` AND user_id = ?`
		args = append(args, u.UserID)
	}
	if !u.OpenAt.IsZero() {
		where += ` AND expires_at > ?`
		args = append(args, sqlrows.Ms(u.OpenAt))
	}
	if u.Uncharged {
		where += ` AND code IS NULL AND link IS NULL`
	}
	v := fetchsms.Verification{ID: u.ID}
	var created, expires int64
	var code, codes, link sql.NullString
	var received sql.NullInt64
	err := t.QueryRowContext(ctx, `UPDATE verifications SET `+set+where+`
		RETURNING ref, user_id, service_id, number_id, number, area_code, status, code, cost_cents, created_at, expires_at, received_at, codes, link`, args...).
		Scan(&v.Ref, &v.UserID, &v.ServiceID, &v.NumberID, &v.Number, &v.AreaCode, &v.Status, &code, &v.CostCents, &created, &expires, &received, &codes, &link)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v.Code, v.CreatedAt, v.ExpiresAt, v.ReceivedAt = code.String, sqlrows.FromMS(created), sqlrows.FromMS(expires), sqlrows.FromNullMS(received)
	v.Codes, v.Link = sqlrows.SplitCodes(codes.String), link.String
	svc, err := t.serviceByID(ctx, v.ServiceID)
	if err != nil {
		return nil, err
	}
	v.ServiceSlug, v.ServiceName = svc.Slug, svc.Name
	return &v, nil
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
		err := insert(sqlrows.NewRef(prefix))
		if err == nil || !isUnique(err) || i == 5 {
			return err
		}
	}
}

// LoadVerification returns one of the user's verifications, from the read cache
// when it holds it; ErrNoRow when there is none.
func (db *DB) LoadVerification(ctx context.Context, userID, id string) (*fetchsms.Verification, error) {
	if c, ok := db.vc.get(id); ok {
		if c.UserID != userID {
			return nil, fetchsms.ErrNoRow
		}
		return &c, nil
	}
	gen := db.vc.generation()
	v, _, err := sqlrows.ScanVerification(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.id = +? AND v.user_id = +?`, id, userID))
	if err != nil {
		return nil, engineErr(err)
	}
	db.vc.put(v, gen)
	return v, nil
}

// LoadVerificationByRef returns the user's verification whose ref is ref, or
// ErrNoRow. The ref's row is found through the UNIQUE index on ref_key, which
// holds a row's own ref when the row is from before migration 0008, and
// otherwise the counter that the refs' permutation maps to its ref: the
// permutation's inverse finds it from the ref.
func (db *DB) LoadVerificationByRef(ctx context.Context, userID, ref string) (*fetchsms.Verification, error) {
	perm, err := db.refPermForRead(ctx)
	if err != nil {
		return nil, err
	}
	key, ok := perm.refKeyOf(ref)
	if !ok {
		return nil, fetchsms.ErrNoRow
	}
	v, _, err := sqlrows.ScanVerification(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+
		` WHERE v.ref_key IN (+?, +?) AND v.ref = +? AND v.user_id = +?`, ref, key, ref, userID))
	return v, engineErr(err)
}

// refPermForRead returns a permutation of its own (refPerm is not safe for
// concurrent use) under the refs' key, which it reads from settings once.
func (db *DB) refPermForRead(ctx context.Context) (*refPerm, error) {
	key := db.refKey.Load()
	if key == nil {
		var k string
		if err := db.rp.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, refKeySetting).Scan(&k); err != nil {
			return nil, engineErr(fmt.Errorf("sqlite: reading the verification ref key: %w", err))
		}
		db.refKey.Store(&k)
		key = &k
	}
	return parseRefKey(*key)
}

// LoadVerifications lists the user's waiting (or ended) verifications newest first.
func (db *DB) LoadVerifications(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Verification, int64, error) {
	cond := ` AND v.status = 'waiting'`
	if history {
		cond = ` AND v.status <> 'waiting'`
	}
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.user_id = +?`+cond+` AND v.seq < +? ORDER BY v.seq DESC LIMIT +?`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanVerification)
	return out, next, engineErr(err)
}

// CountOverdue counts the user's live purchases whose time is up at now.
func (db *DB) CountOverdue(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := db.rp.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM verifications WHERE user_id = ? AND status = 'waiting' AND expires_at <= ?)
		+ (SELECT count(*) FROM rentals WHERE user_id = ? AND status IN ('waiting', 'received') AND expires_at <= ?)`, userID, sqlrows.Ms(now), userID, sqlrows.Ms(now)).Scan(&n)
	return n, engineErr(err)
}

// Overdue returns the ids of live purchases whose time is up at now, most overdue first.
func (db *DB) Overdue(ctx context.Context, now time.Time, limit int) (verifications, rentals []string, err error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT id FROM verifications WHERE status = 'waiting' AND expires_at <= +? ORDER BY expires_at LIMIT +?`, sqlrows.Ms(now), limit)
	if verifications, err = sqlrows.All(rows, err, sqlrows.ScanString); err != nil {
		return nil, nil, engineErr(err)
	}
	rows, err = db.rp.QueryContext(ctx, `SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at <= +? ORDER BY expires_at LIMIT +?`, sqlrows.Ms(now), limit)
	rentals, err = sqlrows.All(rows, err, sqlrows.ScanString)
	return verifications, rentals, engineErr(err)
}

// WaitingOnGateway lists the waiting verifications and the rentals waiting
// for their first message on the gateway's numbers, oldest first.
func (db *DB) WaitingOnGateway(ctx context.Context, gatewayID string, limit int) ([]*fetchsms.Verification, []*fetchsms.Rental, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+
		` WHERE v.status = 'waiting' AND v.number_id IN (SELECT id FROM numbers WHERE gateway_id = ?) ORDER BY v.seq LIMIT ?`, gatewayID, limit+1)
	vs, _, err := sqlrows.Page(rows, err, limit, sqlrows.ScanVerification)
	if err != nil {
		return nil, nil, engineErr(err)
	}
	rows, err = db.rp.QueryContext(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+
		` WHERE r.status = 'waiting' AND r.number_id IN (SELECT id FROM numbers WHERE gateway_id = ?) ORDER BY r.seq LIMIT ?`, gatewayID, limit+1)
	rs, _, err := sqlrows.Page(rows, err, limit, sqlrows.ScanRental)
	return vs, rs, engineErr(err)
}
