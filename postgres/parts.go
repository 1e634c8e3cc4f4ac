package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// The parts of long SMS (multipart.go).

// LockParts takes the transaction advisory lock of one message's parts: the
// transactions of several servers that add to or join them run one after the
// other, and each statement of the later one sees what the earlier committed.
func (t *ptx) LockParts(ctx context.Context, key fetchsms.PartKey) error {
	_, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sms-parts:' || $1, 0))`, key.String())
	return err
}

// PartSeen returns the group and joined message id of a part by its gateway message id, or ErrNoRow.
func (t *ptx) PartSeen(ctx context.Context, gatewayID, gatewayMsgID string) (string, string, error) {
	var group, message string
	err := t.QueryRow(ctx, `SELECT group_id, coalesce(message_id, '') FROM sms_parts WHERE gateway_id = $1 AND gateway_msg_id = $2`, gatewayID, gatewayMsgID).Scan(&group, &message)
	return group, message, noRow(err)
}

// WaitingParts returns the parts waiting under key, by index.
func (t *ptx) WaitingParts(ctx context.Context, k fetchsms.PartKey) ([]*fetchsms.StoredPart, error) {
	rows, err := t.Query(ctx, `SELECT `+sqlrows.StoredPartCols+` FROM sms_parts
		WHERE gateway_id = $1 AND sender = $2 AND to_number = $3 AND device_id = $4 AND sim_slot = $5 AND ref = $6 AND message_id IS NULL ORDER BY part_index`,
		k.GatewayID, k.Sender, k.To, k.DeviceID, k.SimSlot, k.Ref)
	return sqlrows.All(rows, err, sqlrows.ScanStoredPart)
}

// GroupWaitingParts returns the parts of a group still waiting, by index.
func (t *ptx) GroupWaitingParts(ctx context.Context, groupID string) ([]*fetchsms.StoredPart, error) {
	rows, err := t.Query(ctx, `SELECT `+sqlrows.StoredPartCols+` FROM sms_parts WHERE group_id = $1 AND message_id IS NULL ORDER BY part_index`, groupID)
	return sqlrows.All(rows, err, sqlrows.ScanStoredPart)
}

// InsertPart stores a waiting part.
func (t *ptx) InsertPart(ctx context.Context, p *fetchsms.StoredPart) error {
	_, err := t.Exec(ctx, `INSERT INTO sms_parts (group_id, gateway_id, sender, to_number, device_id, sim_slot, ref, part_index, part_count, gateway_msg_id, body, received_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		p.GroupID, p.GatewayID, p.Sender, p.To, p.DeviceID, p.SimSlot, p.Ref, p.Index, p.Count, p.GatewayMsgID, p.Body, sqlrows.Ms(p.ReceivedAt), sqlrows.Ms(p.CreatedAt))
	return err
}

// JoinParts marks the waiting parts of a group as joined into messageID.
func (t *ptx) JoinParts(ctx context.Context, groupID, messageID string) (int, error) {
	tag, err := t.Exec(ctx, `UPDATE sms_parts SET message_id = $1 WHERE group_id = $2 AND message_id IS NULL`, messageID, groupID)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// PartGroupsDue returns the groups whose first waiting part was stored at or before cutoff, oldest first.
func (db *DB) PartGroupsDue(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT group_id FROM sms_parts WHERE message_id IS NULL
		GROUP BY group_id HAVING min(created_at) <= $1 ORDER BY min(created_at) LIMIT $2`, sqlrows.Ms(cutoff), limit)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}
