package sqlite

import (
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InsertNumberReport stores r with its number's gateway and returns the
// number's reports.
func (t *wtx) InsertNumberReport(ctx context.Context, r *fetchsms.NumberReport) (int, error) {
	err := t.QueryRowContext(ctx, `INSERT INTO number_reports (verification_id, replacement_id, number_id, gateway_id, service_id, user_id, reason,
		replacement_code, replacement_detail, created_at)
		SELECT ?, ?, id, gateway_id, ?, ?, ?, ?, ?, ? FROM numbers WHERE id = ? RETURNING gateway_id`,
		r.VerificationID, sqlrows.NullStr(r.ReplacementID), r.ServiceID, r.UserID, r.Reason, r.ReplacementCode, r.ReplacementDetail,
		sqlrows.Ms(r.CreatedAt), r.NumberID).Scan(&r.GatewayID)
	if err != nil {
		return 0, noRow(err)
	}
	var n int
	err = t.QueryRowContext(ctx, `SELECT count(*) FROM number_reports WHERE number_id = ?`, r.NumberID).Scan(&n)
	return n, err
}

// WalletOf reads the user's balance and what they owe.
func (t *wtx) WalletOf(ctx context.Context, userID string) (fetchsms.Wallet, error) {
	var w fetchsms.Wallet
	err := t.QueryRowContext(ctx, `SELECT balance_cents, owed_cents FROM users WHERE id = ?`, userID).Scan(&w.Balance, &w.Owed)
	return w, noRow(err)
}

// NumberReportOf returns the report of the user's verification, or ErrNoRow.
func (db *DB) NumberReportOf(ctx context.Context, userID, verificationID string) (*fetchsms.NumberReport, error) {
	r := fetchsms.NumberReport{VerificationID: verificationID, UserID: userID}
	var replacement sql.NullString
	var created int64
	err := db.rp.QueryRowContext(ctx, `SELECT replacement_id, number_id, gateway_id, service_id, reason, replacement_code, replacement_detail, created_at
		FROM number_reports WHERE verification_id = ? AND user_id = ?`, verificationID, userID).
		Scan(&replacement, &r.NumberID, &r.GatewayID, &r.ServiceID, &r.Reason, &r.ReplacementCode, &r.ReplacementDetail, &created)
	if err != nil {
		return nil, engineErr(err)
	}
	r.ReplacementID, r.CreatedAt = replacement.String, sqlrows.FromMS(created)
	return &r, nil
}

// ReportRates lists the most reported numbers and the gateways with reports.
func (db *DB) ReportRates(ctx context.Context, limit int) (numbers, gateways []fetchsms.ReportRate, err error) {
	numbers, gateways, err = sqlrows.ReportRates(func(q string) (sqlrows.Rows, error) { return db.rp.QueryContext(ctx, q) }, limit)
	return numbers, gateways, engineErr(err)
}
