package postgres

import (
	"context"
	"database/sql"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InboundSeen returns what an earlier message with this gateway id was routed to, or ErrNoRow.
func (t *ptx) InboundSeen(ctx context.Context, gatewayID, gatewayMsgID string) (*fetchsms.InboundResult, error) {
	var res fetchsms.InboundResult
	var v, r sql.NullString
	err := t.QueryRow(ctx, `SELECT id, verification_id, rental_id FROM messages WHERE gateway_id = $1 AND gateway_msg_id = $2`, gatewayID, gatewayMsgID).Scan(&res.MessageID, &v, &r)
	if err != nil {
		return nil, noRow(err)
	}
	res.VerificationID, res.RentalID = v.String, r.String
	return &res, nil
}

// InboundNumber returns the gateway's number e164 and its holder, or ErrNoRow.
func (t *ptx) InboundNumber(ctx context.Context, gatewayID, e164 string) (string, string, error) {
	var id string
	var holder sql.NullString
	err := t.QueryRow(ctx, `SELECT id, holder FROM numbers WHERE e164 = $1 AND gateway_id = $2`, e164, gatewayID).Scan(&id, &holder)
	return id, holder.String, noRow(err)
}

// InboundNumberAt returns the gateway's number in a device's SIM slot (its id,
// E.164 and holder), or ErrNoRow.
func (t *ptx) InboundNumberAt(ctx context.Context, gatewayID, deviceID string, slot int) (string, string, string, error) {
	var id, e164 string
	var holder sql.NullString
	err := t.QueryRow(ctx, `SELECT id, e164, holder FROM numbers WHERE gateway_id = $1 AND device_id = $2 AND sim_slot = $3 AND device_id <> ''`, gatewayID, deviceID, slot).Scan(&id, &e164, &holder)
	return id, e164, holder.String, noRow(err)
}

// InsertUnmatched keeps a message for no number of the gateway, once per (gateway, message id).
func (t *ptx) InsertUnmatched(ctx context.Context, m *fetchsms.UnmatchedMessage) error {
	_, err := t.Exec(ctx, `INSERT INTO unmatched_messages (gateway_id, gateway_msg_id, to_number, device_id, sim_slot, sender, body, received_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (gateway_id, gateway_msg_id) DO NOTHING`,
		m.GatewayID, m.GatewayMsgID, m.To, m.DeviceID, m.SimSlot, m.Sender, m.Body, sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}

// InsertMessage stores an inbound SMS. The same (gateway, id) stored meanwhile by
// another server fails the UNIQUE constraint, and the whole transaction with it.
func (t *ptx) InsertMessage(ctx context.Context, m *fetchsms.Message) error {
	_, err := t.Exec(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, link, detected_service, verification_id, rental_id, received_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		m.ID, m.GatewayID, m.GatewayMsgID, m.To, m.NumberID, m.Sender, m.Body, sqlrows.NullStr(m.Code), sqlrows.NullStr(m.Link), sql.NullInt64{Int64: int64(m.DetectedService), Valid: m.DetectedService != 0},
		sqlrows.NullStr(m.VerificationID), sqlrows.NullStr(m.RentalID), sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}
