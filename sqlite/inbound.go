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

// InsertMessage stores an inbound SMS.
func (t *wtx) InsertMessage(ctx context.Context, m *fetchsms.Message) error {
	_, err := t.ExecContext(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, detected_service, verification_id, rental_id, received_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.GatewayID, m.GatewayMsgID, m.To, m.NumberID, m.Sender, m.Body, sqlrows.NullStr(m.Code), sql.NullInt64{Int64: int64(m.DetectedService), Valid: m.DetectedService != 0},
		sqlrows.NullStr(m.VerificationID), sqlrows.NullStr(m.RentalID), sqlrows.Ms(m.ReceivedAt), sqlrows.Ms(m.CreatedAt))
	return err
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (db *DB) NumberGateway(ctx context.Context, e164 string) (string, error) {
	var g string
	err := db.rp.QueryRowContext(ctx, `SELECT gateway_id FROM numbers WHERE e164 = ?`, e164).Scan(&g)
	return g, engineErr(err)
}
