package sqlite

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// ListInboundMessages lists every stored inbound SMS newest first, routed or not,
// with its gateway, detected service, the ref of the purchase it reached, and
// the parts of a long SMS joined from parts.
func (db *DB) ListInboundMessages(ctx context.Context, p fetchsms.Page) ([]*fetchsms.InboundLogEntry, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.InboundLogCols+sqlrows.InboundLogFrom+` WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanInboundLog)
	if err == nil {
		err = sqlrows.AttachParts(out, func(messageID string) (sqlrows.Rows, error) {
			return db.rp.QueryContext(ctx, `SELECT `+sqlrows.MessagePartCols+` FROM sms_parts WHERE message_id = ? ORDER BY part_index`, messageID)
		})
	}
	return out, next, engineErr(err)
}

// ListUnmatchedMessages lists the messages gateways sent for no number of theirs, newest first.
func (db *DB) ListUnmatchedMessages(ctx context.Context, p fetchsms.Page) ([]*fetchsms.UnmatchedMessage, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.UnmatchedCols+sqlrows.UnmatchedFrom+` WHERE u.seq < ? ORDER BY u.seq DESC LIMIT ?`, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanUnmatched)
	return out, next, engineErr(err)
}
