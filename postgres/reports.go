package postgres

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5/pgtype"
)

// InsertNumberReport stores r with its number's gateway and returns the
// number's reports (the number's row is locked first, so that concurrent
// reports of one number count each other).
func (t *ptx) InsertNumberReport(ctx context.Context, r *fetchsms.NumberReport) (int, error) {
	err := t.QueryRow(ctx, `INSERT INTO number_reports (verification_id, replacement_id, number_id, gateway_id, service_id, user_id, reason,
		replacement_code, replacement_detail, created_at)
		SELECT $1, $2, id, gateway_id, $3, $4, $5, $6, $7, $8 FROM numbers WHERE id = $9 FOR UPDATE RETURNING gateway_id`,
		r.VerificationID, sqlrows.NullStr(r.ReplacementID), r.ServiceID, r.UserID, r.Reason, r.ReplacementCode, r.ReplacementDetail,
		sqlrows.Ms(r.CreatedAt), r.NumberID).Scan(&r.GatewayID)
	if err != nil {
		return 0, err
	}
	var n int
	err = t.QueryRow(ctx, `SELECT count(*) FROM number_reports WHERE number_id = $1`, r.NumberID).Scan(&n)
	return n, err
}

// WalletOf reads the user's balance and what they owe.
func (t *ptx) WalletOf(ctx context.Context, userID string) (fetchsms.Wallet, error) {
	var w fetchsms.Wallet
	err := t.QueryRow(ctx, `SELECT balance_cents, owed_cents FROM users WHERE id = $1`, userID).Scan(&w.Balance, &w.Owed)
	return w, err
}

// NumberReportOf returns the report of the user's verification, or ErrNoRow.
func (db *DB) NumberReportOf(ctx context.Context, userID, verificationID string) (*fetchsms.NumberReport, error) {
	r := fetchsms.NumberReport{VerificationID: verificationID, UserID: userID}
	var replacement pgtype.Text
	var created int64
	err := db.pool.QueryRow(ctx, `SELECT replacement_id, number_id, gateway_id, service_id, reason, replacement_code, replacement_detail, created_at
		FROM number_reports WHERE verification_id = $1 AND user_id = $2`, verificationID, userID).
		Scan(&replacement, &r.NumberID, &r.GatewayID, &r.ServiceID, &r.Reason, &r.ReplacementCode, &r.ReplacementDetail, &created)
	if err != nil {
		return nil, engineErr(err)
	}
	r.ReplacementID, r.CreatedAt = replacement.String, sqlrows.FromMS(created)
	return &r, nil
}

// ReportRates lists the most reported numbers and the gateways with reports.
func (db *DB) ReportRates(ctx context.Context, limit int) (numbers, gateways []fetchsms.ReportRate, err error) {
	numbers, gateways, err = sqlrows.ReportRates(func(q string) (sqlrows.Rows, error) { return db.pool.Query(ctx, q) }, limit)
	return numbers, gateways, engineErr(err)
}
