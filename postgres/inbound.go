package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/jackc/pgx/v5"
)

// ReceiveSMS stores an inbound SMS from a gateway and routes it, in one transaction:
// to the waiting verification holding the number when the message is from the
// purchased service and carries a code, or to the live rental holding the number.
// A repeated (gateway, id) returns the first result and changes nothing, also when
// the two arrive at once on two servers: the message row is inserted first, ON
// CONFLICT DO NOTHING, and only the transaction that inserted it routes it. A
// number that is not this gateway's own is ENOTFOUND.
func (db *DB) ReceiveSMS(ctx context.Context, gatewayID string, in fetchsms.InboundSMS) (*fetchsms.InboundResult, error) {
	now := db.Clock.Now()
	if in.ReceivedAt.IsZero() || in.ReceivedAt.After(now) {
		in.ReceivedAt = now
	}
	det := db.detect(in.From, in.Body)
	var res *fetchsms.InboundResult
	err := db.tx(ctx, "postgres.ReceiveSMS", func(tx pgx.Tx) error {
		res = &fetchsms.InboundResult{}
		if found, err := seenMessage(ctx, tx, gatewayID, in.ID, res); found || err != nil {
			return err
		}
		var numberID string
		var holder sql.NullString
		err := tx.QueryRow(ctx, `SELECT id, holder FROM numbers WHERE e164 = $1 AND gateway_id = $2`, in.To, gatewayID).Scan(&numberID, &holder)
		if errors.Is(err, pgx.ErrNoRows) {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "%s is not a number of this gateway", in.To)
		}
		if err != nil {
			return err
		}
		res.MessageID = newID()
		tag, err := tx.Exec(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, detected_service, received_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (gateway_id, gateway_msg_id) DO NOTHING`,
			res.MessageID, gatewayID, in.ID, in.To, numberID, in.From, in.Body, nullStr(det.Code), sql.NullInt64{Int64: int64(det.ServiceID), Valid: det.ServiceID != 0},
			ms(in.ReceivedAt), ms(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// The same message committed meanwhile (another server): answer as it did.
			res = &fetchsms.InboundResult{}
			_, err := seenMessage(ctx, tx, gatewayID, in.ID, res)
			return err
		}
		switch {
		case strings.HasPrefix(holder.String, "v:"):
			ok, err := deliverToVerification(ctx, tx, strings.TrimPrefix(holder.String, "v:"), in, det, now)
			if err != nil {
				return err
			}
			if ok {
				res.VerificationID = strings.TrimPrefix(holder.String, "v:")
			}
		case strings.HasPrefix(holder.String, "r:"):
			ok, err := deliverToRental(ctx, tx, strings.TrimPrefix(holder.String, "r:"), numberID, in, det, now)
			if err != nil {
				return err
			}
			if ok {
				res.RentalID = strings.TrimPrefix(holder.String, "r:")
			}
		}
		if res.VerificationID == "" && res.RentalID == "" {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE messages SET verification_id = $1, rental_id = $2 WHERE id = $3`, nullStr(res.VerificationID), nullStr(res.RentalID), res.MessageID)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.notify()
	return res, nil
}

// seenMessage fills res from the stored message (gateway, id) and reports whether
// there is one.
func seenMessage(ctx context.Context, tx pgx.Tx, gatewayID, msgID string, res *fetchsms.InboundResult) (bool, error) {
	var v, r sql.NullString
	err := tx.QueryRow(ctx, `SELECT id, verification_id, rental_id FROM messages WHERE gateway_id = $1 AND gateway_msg_id = $2`, gatewayID, msgID).Scan(&res.MessageID, &v, &r)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res.VerificationID, res.RentalID = v.String, r.String
	return true, nil
}

// deliverToVerification releases the code to the waiting verification when the SMS
// is from its service and carries one, and marks the number spent for that service.
// An overdue verification is expired (and refunded) instead. It reports whether the
// code was delivered.
func deliverToVerification(ctx context.Context, tx pgx.Tx, id string, in fetchsms.InboundSMS, det fetchsms.Detection, now time.Time) (bool, error) {
	v, _, err := scanVerification(tx.QueryRow(ctx, `SELECT `+verificationCols+verificationFrom+` WHERE v.id = $1 FOR UPDATE OF v`, id))
	if err != nil {
		return false, err
	}
	if v.Status != fetchsms.StatusWaiting {
		return false, nil
	}
	if !now.Before(v.ExpiresAt) {
		return false, endVerification(ctx, tx, v, fetchsms.StatusExpired, now)
	}
	if det.ServiceID != v.ServiceID || det.Code == "" {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE verifications SET status = 'received', code = $1, received_at = $2, ended_at = $2 WHERE id = $3 AND status = 'waiting'`,
		det.Code, ms(now), id); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO number_services_used (number_id, service_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, v.NumberID, v.ServiceID); err != nil {
		return false, err
	}
	if err := release(ctx, tx, v.NumberID, "v:"+id, now); err != nil {
		return false, err
	}
	return true, enqueue(ctx, tx, fetchsms.VerificationSMSEvent(v, in.From, det.Code, v.ServiceName, in.ReceivedAt, now), "")
}

// deliverToRental records the SMS for the live rental holding the number; a code
// moves it to received and becomes its last_code.
func deliverToRental(ctx context.Context, tx pgx.Tx, id, numberID string, in fetchsms.InboundSMS, det fetchsms.Detection, now time.Time) (bool, error) {
	r, _, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
	if err != nil {
		return false, err
	}
	if !live(r.Status) {
		return false, nil
	}
	if !now.Before(r.ExpiresAt) {
		return false, endRental(ctx, tx, r, fetchsms.StatusExpired, now)
	}
	if det.ServiceID != 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO number_services_used (number_id, service_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, numberID, det.ServiceID); err != nil {
			return false, err
		}
	}
	if det.Code != "" {
		if _, err := tx.Exec(ctx, `UPDATE rentals SET status = 'received', last_code = $1 WHERE id = $2`, det.Code, id); err != nil {
			return false, err
		}
	}
	return true, enqueue(ctx, tx, fetchsms.RentalSMSEvent(r, in.From, in.Body, det.Code, serviceName(ctx, tx, det.ServiceID), in.ReceivedAt, now), "")
}
