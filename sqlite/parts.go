package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// The parts of long SMS (multipart.go).

// LockParts does nothing: the single writer runs one transaction at a time.
func (t *wtx) LockParts(ctx context.Context, key fetchsms.PartKey) error { return nil }

// PartSeen returns the group and joined message id of a part by its gateway message id, or ErrNoRow.
func (t *wtx) PartSeen(ctx context.Context, gatewayID, gatewayMsgID string) (string, string, error) {
	var group, message string
	err := t.QueryRowContext(ctx, `SELECT group_id, coalesce(message_id, '') FROM sms_parts WHERE gateway_id = ? AND gateway_msg_id = ?`, gatewayID, gatewayMsgID).Scan(&group, &message)
	return group, message, noRow(err)
}

// WaitingParts returns the parts waiting under key, by index.
func (t *wtx) WaitingParts(ctx context.Context, k fetchsms.PartKey) ([]*fetchsms.StoredPart, error) {
	rows, err := t.QueryContext(ctx, `SELECT `+sqlrows.StoredPartCols+` FROM sms_parts
		WHERE gateway_id = ? AND sender = ? AND to_number = ? AND device_id = ? AND sim_slot = ? AND ref = ? AND message_id IS NULL ORDER BY part_index`,
		k.GatewayID, k.Sender, k.To, k.DeviceID, k.SimSlot, k.Ref)
	return sqlrows.All(rows, err, sqlrows.ScanStoredPart)
}

// GroupWaitingParts returns the parts of a group still waiting, by index.
func (t *wtx) GroupWaitingParts(ctx context.Context, groupID string) ([]*fetchsms.StoredPart, error) {
	rows, err := t.QueryContext(ctx, `SELECT `+sqlrows.StoredPartCols+` FROM sms_parts WHERE group_id = ? AND message_id IS NULL ORDER BY part_index`, groupID)
	return sqlrows.All(rows, err, sqlrows.ScanStoredPart)
}

// InsertPart stores a waiting part.
func (t *wtx) InsertPart(ctx context.Context, p *fetchsms.StoredPart) error {
	_, err := t.ExecContext(ctx, `INSERT INTO sms_parts (group_id, gateway_id, sender, to_number, device_id, sim_slot, ref, part_index, part_count, gateway_msg_id, body, received_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.GroupID, p.GatewayID, p.Sender, p.To, p.DeviceID, p.SimSlot, p.Ref, p.Index, p.Count, p.GatewayMsgID, p.Body, sqlrows.Ms(p.ReceivedAt), sqlrows.Ms(p.CreatedAt))
	return err
}

// JoinParts marks the waiting parts of a group as joined into messageID.
func (t *wtx) JoinParts(ctx context.Context, groupID, messageID string) (int, error) {
	res, err := t.ExecContext(ctx, `UPDATE sms_parts SET message_id = ? WHERE group_id = ? AND message_id IS NULL`, messageID, groupID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PartGroupsDue returns the groups whose first waiting part was stored at or before cutoff, oldest first.
func (db *DB) PartGroupsDue(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT group_id FROM sms_parts WHERE message_id IS NULL
		GROUP BY group_id HAVING min(created_at) <= ? ORDER BY min(created_at) LIMIT ?`, sqlrows.Ms(cutoff), limit)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}
