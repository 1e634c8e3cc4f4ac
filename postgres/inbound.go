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

// InsertMessage stores an inbound SMS. The same (gateway, id) stored meanwhile by
// another server fails the UNIQUE constraint, and the whole transaction with it.
func (t *ptx) InsertMessage(ctx context.Context, m *fetchsms.Message) error {
	_, err := t.Exec(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, detected_service, verification_id, rental_id, received_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ID, m.GatewayID, m.GatewayMsgID, m.To, m.NumberID, m.Sender, m.Body, sqlrows.NullStr(m.Code), sql.NullInt64{Int64: int64(m.DetectedService), Valid: m.DetectedService != 0},
		sqlrows.NullStr(m.VerificationID), sqlrows.NullStr(m.RentalID), sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}
