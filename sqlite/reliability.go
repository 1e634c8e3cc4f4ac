package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// VerificationOutcomes counts the verifications that ended at or after since,
// by service, status and seconds from purchase to the code (received) or to
// the end, in one aggregate query over the verifications_ended index.
func (db *DB) VerificationOutcomes(ctx context.Context, since time.Time) ([]fetchsms.OutcomeCount, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT service_id, status,
		(CASE WHEN status = 'received' THEN coalesce(received_at, ended_at) ELSE ended_at END - created_at) / 1000 AS secs, count(*)
		FROM verifications WHERE ended_at IS NOT NULL AND ended_at >= ? AND status IN ('received', 'expired', 'cancelled')
		GROUP BY service_id, status, secs`, sqlrows.Ms(since))
	out, err := sqlrows.All(rows, err, sqlrows.ScanOutcome)
	return out, engineErr(err)
}
