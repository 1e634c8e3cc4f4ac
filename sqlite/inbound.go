package sqlite

import (
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InboundSeen returns what an earlier message with this gateway id was routed to, or ErrNoRow.
func (t *wtx) InboundSeen(ctx context.Context, gatewayID, gatewayMsgID string) (*fetchsms.InboundResult, error) {
	var res fetchsms.InboundResult
	var v, r sql.NullString
	err := t.QueryRowContext(ctx, `SELECT id, verification_id, rental_id FROM messages WHERE gateway_id = ? AND gateway_msg_id = ?`, gatewayID, gatewayMsgID).Scan(&res.MessageID, &v, &r)
	if err != nil {
		return nil, noRow(err)
	}
	res.VerificationID, res.RentalID = v.String, r.String
	return &res, nil
}

// InboundNumber returns the gateway's number e164 and its holder, or ErrNoRow.
func (t *wtx) InboundNumber(ctx context.Context, gatewayID, e164 string) (string, string, error) {
	var id string
	var holder sql.NullString
	err := t.QueryRowContext(ctx, `SELECT id, holder FROM numbers WHERE e164 = ? AND gateway_id = ?`, e164, gatewayID).Scan(&id, &holder)
	return id, holder.String, noRow(err)
}

// InboundNumberAt returns the gateway's number in a device's SIM slot (its id,
// E.164 and holder), or ErrNoRow.
func (t *wtx) InboundNumberAt(ctx context.Context, gatewayID, deviceID string, slot int) (string, string, string, error) {
	var id, e164 string
	var holder sql.NullString
	err := t.QueryRowContext(ctx, `SELECT id, e164, holder FROM numbers WHERE gateway_id = ? AND device_id = ? AND sim_slot = ? AND device_id <> ''`, gatewayID, deviceID, slot).Scan(&id, &e164, &holder)
	return id, e164, holder.String, noRow(err)
}

// InsertUnmatched keeps a message for no number of the gateway, once per (gateway, message id).
func (t *wtx) InsertUnmatched(ctx context.Context, m *fetchsms.UnmatchedMessage) error {
	_, err := t.ExecContext(ctx, `INSERT INTO unmatched_messages (gateway_id, gateway_msg_id, to_number, device_id, sim_slot, sender, body, received_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gateway_id, gateway_msg_id) DO NOTHING`,
		m.GatewayID, m.GatewayMsgID, m.To, m.DeviceID, m.SimSlot, m.Sender, m.Body, sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}

// InsertMessage stores an inbound SMS.
func (t *wtx) InsertMessage(ctx context.Context, m *fetchsms.Message) error {
	_, err := t.ExecContext(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, link, detected_service, verification_id, rental_id, received_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.GatewayID, m.GatewayMsgID, m.To, m.NumberID, m.Sender, m.Body, sqlrows.NullStr(m.Code), sqlrows.NullStr(m.Link), sql.NullInt64{Int64: int64(m.DetectedService), Valid: m.DetectedService != 0},
		sqlrows.NullStr(m.VerificationID), sqlrows.NullStr(m.RentalID), sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (db *DB) NumberGateway(ctx context.Context, e164 string) (string, error) {
	var g string
	err := db.rp.QueryRowContext(ctx, `SELECT gateway_id FROM numbers WHERE e164 = ?`, e164).Scan(&g)
	return g, engineErr(err)
}
