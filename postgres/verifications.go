package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const verificationFrom = ` FROM verifications v JOIN services s ON s.id = v.service_id`

// TakeNumber picks a free, active number as p asks and holds it for holder in
// one statement, or ErrNoRow when none is free. The pick locks its row (FOR
// UPDATE SKIP LOCKED: concurrent purchases take different numbers, none waits
// for another's); the UNIQUE holder column and the holder IS NULL guard make a
// double reservation impossible.
func (t *ptx) TakeNumber(ctx context.Context, p fetchsms.NumberPick, holder string, now time.Time) (string, string, error) {
	args := []any{holder, sqlrows.Ms(now)}
	var pick string
	if p.Pristine {
		pick = `SELECT id FROM numbers WHERE status = 'active' AND holder IS NULL AND NOT withdrawn AND used_at IS NULL`
	} else {
		args = append(args, p.ServiceID)
		pick = `SELECT id FROM numbers n WHERE status = 'active' AND holder IS NULL AND NOT withdrawn
			AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = $3)`
	}
	if p.AreaCode != "" {
		args = append(args, p.AreaCode)
		pick += ` AND area_code = $` + strconv.Itoa(len(args))
	}
	if p.Pristine {
		pick += ` ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`
	} else {
		pick += ` ORDER BY used_at IS NULL, released_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED`
	}
	var id, e164 string
	err := t.QueryRow(ctx, `UPDATE numbers SET holder = $1, used_at = COALESCE(used_at, $2)
		WHERE id = (`+pick+`) AND holder IS NULL RETURNING id, e164`, args...).Scan(&id, &e164)
	return id, e164, noRow(err)
}

// HoldNumber reserves a free number; the UNIQUE holder column and the holder IS
// NULL guard make a double reservation impossible.
func (t *ptx) HoldNumber(ctx context.Context, numberID, holder string, now time.Time) error {
	tag, err := t.Exec(ctx, `UPDATE numbers SET holder = $1, used_at = COALESCE(used_at, $2) WHERE id = $3 AND holder IS NULL AND status = 'active' AND NOT withdrawn`, holder, sqlrows.Ms(now), numberID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("number %s: %w", numberID, fetchsms.ErrNumberTaken)
	}
	return nil
}

// ReleaseNumber frees a number held by holder.
// It is deferred (pipetx.go): sent with the transaction's next statement.
func (t *ptx) ReleaseNumber(ctx context.Context, numberID, holder string, now time.Time) error {
	t.Defer(`UPDATE numbers SET holder = NULL, released_at = $1 WHERE id = $2 AND holder = $3`, sqlrows.Ms(now), numberID, holder)
	return nil
}

// MarkNumberUsed records that the number gave the service a code.
// It is deferred (pipetx.go): sent with the transaction's next statement.
func (t *ptx) MarkNumberUsed(ctx context.Context, numberID string, serviceID int) error {
	t.Defer(`INSERT INTO number_services_used (number_id, service_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, numberID, serviceID)
	return nil
}

// InsertVerification stores v with a fresh random ref. The insert is deferred
// (pipetx.go): it travels with the transaction's next statement, the debit. A
// ref already taken (one in billions) fails that statement with a unique
// violation on verifications_ref_key; the transaction is rolled back and run
// again whole, with another ref (retryable, db.go).
func (t *ptx) InsertVerification(ctx context.Context, v *fetchsms.Verification) error {
	v.Ref = t.db.newRef("v_")
	t.Defer(`INSERT INTO verifications (id, ref, user_id, service_id, number_id, number, area_code, status, cost_cents, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		v.ID, v.Ref, v.UserID, v.ServiceID, v.NumberID, v.Number, v.AreaCode, v.Status, v.CostCents, sqlrows.Ms(v.CreatedAt), sqlrows.Ms(v.ExpiresAt))
	return nil
}

// LockVerification reads a verification and locks its row to the end of the
// transaction, or ErrNoRow.
func (t *ptx) LockVerification(ctx context.Context, id string) (*fetchsms.Verification, error) {
	v, _, err := sqlrows.ScanVerification(t.QueryRow(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.id = $1 FOR UPDATE OF v`, id))
	return v, noRow(err)
}

// UpdateVerification applies u in one statement that checks and changes the row
// (under READ COMMITTED a concurrent change makes it re-check the row as changed).
func (t *ptx) UpdateVerification(ctx context.Context, u fetchsms.VerificationUpdate) (*fetchsms.Verification, error) {
	args := []any{u.To, sqlrows.Ms(u.Now), u.ID, u.From}
	set := `status = $1, ended_at = $2`
	switch u.To {
	case fetchsms.StatusReceived:
		if u.Code == "" && u.Link == "" {
			break // a resend's wait ended without another code: the codes stay
		}
		args = append(args, sqlrows.NullStr(u.Link))
		set += `, link = $5::text, received_at = $2`
		if u.Code != "" {
			args = append(args, u.Code)
			set += `, code = $6::text, codes = CASE WHEN v.codes IS NULL OR v.codes = '' THEN $6::text ELSE v.codes || E'\n' || $6::text END`
		}
	case fetchsms.StatusWaiting:
		// A resend: live again, so no end time ($2 is typed by the cast alone).
		set = `status = $1, ended_at = NULLIF($2::bigint, $2::bigint)`
	}
	where := ` WHERE s.id = v.service_id AND v.id = $3 AND v.status = $4`
	if u.UserID != "" {
		args = append(args, u.UserID)
		where += ` AND v.user_id = $` + strconv.Itoa(len(args))
	}
	if !u.OpenAt.IsZero() {
		args = append(args, sqlrows.Ms(u.OpenAt))
		where += ` AND v.expires_at > $` + strconv.Itoa(len(args))
	}
	if u.Uncharged {
		where += ` AND v.code IS NULL AND v.link IS NULL`
	}
	// The change is announced to every server's cache after the commit, never
	// for a rollback (Update's announce, vcache.go).
	t.changed = append(t.changed, u.ID)
	v, _, err := sqlrows.ScanVerification(t.QueryRow(ctx, `UPDATE verifications v SET `+set+` FROM services s`+where+` RETURNING `+sqlrows.VerificationCols, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// errRefTaken: insertWithRef's insert found its ref taken (ON CONFLICT (ref) DO
// NOTHING inserted nothing). Rentals only: a verification's insert is deferred.
var errRefTaken = errors.New("ref taken")

// insertWithRef runs insert with fresh random refs until one is unique. The
// insert says ON CONFLICT (ref) DO NOTHING and returns errRefTaken when it
// inserted nothing, so a taken ref costs another try and no savepoint (a
// savepoint around each insert cost two round trips on every purchase).
func insertWithRef(prefix string, insert func(ref string) error) error {
	for i := 0; ; i++ {
		err := insert(sqlrows.NewRef(prefix))
		if !errors.Is(err, errRefTaken) || i == 5 {
			return err
		}
	}
}

// refInserted turns an insert's tag into errRefTaken when it inserted nothing.
func refInserted(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return errRefTaken
	}
	return err
}

// LoadVerification returns one of the user's verifications, or ErrNoRow.
// It is served from the cache when it can be (vcache.go).
func (db *DB) LoadVerification(ctx context.Context, userID, id string) (*fetchsms.Verification, error) {
	if v, ok := db.vc.get(userID, id, time.Now()); ok {
		return v, nil
	}
	gen := db.vc.gen.Load()
	v, _, err := sqlrows.ScanVerification(db.pool.QueryRow(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.id = $1 AND v.user_id = $2`, id, userID))
	if err == nil {
		db.vc.put(v, gen, time.Now())
	}
	return v, engineErr(err)
}

// LoadVerificationByRef returns the user's verification whose ref is ref (its
// UNIQUE index), or ErrNoRow.
func (db *DB) LoadVerificationByRef(ctx context.Context, userID, ref string) (*fetchsms.Verification, error) {
	v, _, err := sqlrows.ScanVerification(db.pool.QueryRow(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.ref = $1 AND v.user_id = $2`, ref, userID))
	return v, engineErr(err)
}

// LoadVerifications lists the user's waiting (or ended) verifications newest first.
func (db *DB) LoadVerifications(ctx context.Context, userID string, history bool, p fetchsms.Page) ([]*fetchsms.Verification, int64, error) {
	cond := ` AND v.status = 'waiting'`
	if history {
		cond = ` AND v.status <> 'waiting'`
	}
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+` WHERE v.user_id = $1`+cond+` AND v.seq < $2 ORDER BY v.seq DESC LIMIT $3`, userID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanVerification)
	return out, next, engineErr(err)
}

// CountOverdue counts the user's live purchases whose time is up at now.
func (db *DB) CountOverdue(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM verifications WHERE user_id = $1 AND status = 'waiting' AND expires_at <= $2)
		+ (SELECT count(*) FROM rentals WHERE user_id = $1 AND status IN ('waiting', 'received') AND expires_at <= $2)`, userID, sqlrows.Ms(now)).Scan(&n)
	return n, engineErr(err)
}

// Overdue returns the ids of live purchases whose time is up at now, most overdue first.
func (db *DB) Overdue(ctx context.Context, now time.Time, limit int) (verifications, rentals []string, err error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM verifications WHERE status = 'waiting' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, sqlrows.Ms(now), limit)
	if verifications, err = sqlrows.All(rows, err, sqlrows.ScanString); err != nil {
		return nil, nil, engineErr(err)
	}
	rows, err = db.pool.Query(ctx, `SELECT id FROM rentals WHERE status IN ('waiting', 'received') AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, sqlrows.Ms(now), limit)
	rentals, err = sqlrows.All(rows, err, sqlrows.ScanString)
	return verifications, rentals, engineErr(err)
}

// WaitingOnGateway lists the waiting verifications and the rentals waiting
// for their first message on the gateway's numbers, oldest first.
func (db *DB) WaitingOnGateway(ctx context.Context, gatewayID string, limit int) ([]*fetchsms.Verification, []*fetchsms.Rental, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.VerificationCols+verificationFrom+
		` WHERE v.status = 'waiting' AND v.number_id IN (SELECT id FROM numbers WHERE gateway_id = $1) ORDER BY v.seq LIMIT $2`, gatewayID, limit+1)
	vs, _, err := sqlrows.Page(rows, err, limit, sqlrows.ScanVerification)
	if err != nil {
		return nil, nil, engineErr(err)
	}
	rows, err = db.pool.Query(ctx, `SELECT `+sqlrows.RentalCols+rentalFrom+
		` WHERE r.status = 'waiting' AND r.number_id IN (SELECT id FROM numbers WHERE gateway_id = $1) ORDER BY r.seq LIMIT $2`, gatewayID, limit+1)
	rs, _, err := sqlrows.Page(rows, err, limit, sqlrows.ScanRental)
	return vs, rs, engineErr(err)
}
