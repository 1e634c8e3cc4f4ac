package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// ReceiveSMS stores an inbound SMS from a gateway and routes it, in one transaction:
// to the waiting verification holding the number when the message is from the
// purchased service and carries a code, or to the live rental holding the number.
// A repeated (gateway, id) returns the first result and changes nothing. A number
// that is not this gateway's own is ENOTFOUND.
func (db *DB) ReceiveSMS(ctx context.Context, gatewayID string, in fetchsms.InboundSMS) (*fetchsms.InboundResult, error) {
	now := db.Clock.Now()
	if in.ReceivedAt.IsZero() || in.ReceivedAt.After(now) {
		in.ReceivedAt = now
	}
	det := db.detect(in.From, in.Body)
	res := &fetchsms.InboundResult{}
	err := db.tx(ctx, "sqlite.ReceiveSMS", func(tx *wtx) error {
		var v, r sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, verification_id, rental_id FROM messages WHERE gateway_id = ? AND gateway_msg_id = ?`, gatewayID, in.ID).Scan(&res.MessageID, &v, &r)
		if err == nil {
			res.VerificationID, res.RentalID = v.String, r.String
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		var numberID string
		var holder sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT id, holder FROM numbers WHERE e164 = ? AND gateway_id = ?`, in.To, gatewayID).Scan(&numberID, &holder)
		if err == sql.ErrNoRows {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "%s is not a number of this gateway", in.To)
		}
		if err != nil {
			return err
		}
		res.MessageID = newID()
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
		_, err = tx.ExecContext(ctx, `INSERT INTO messages (id, gateway_id, gateway_msg_id, to_number, number_id, sender, body, code, detected_service, verification_id, rental_id, received_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			res.MessageID, gatewayID, in.ID, in.To, numberID, in.From, in.Body, nullStr(det.Code), sql.NullInt64{Int64: int64(det.ServiceID), Valid: det.ServiceID != 0},
			nullStr(res.VerificationID), nullStr(res.RentalID), ms(in.ReceivedAt), ms(now))
		return err
	})
	if err != nil {
		return nil, err
	}
	db.notify()
	return res, nil
}

// deliverToVerification releases the code to the waiting verification when the SMS
// is from its service and carries one, and marks the number spent for that service.
// An overdue verification is expired (and refunded) instead. It reports whether the
// code was delivered.
func deliverToVerification(ctx context.Context, tx *wtx, id string, in fetchsms.InboundSMS, det fetchsms.Detection, now time.Time) (bool, error) {
	tx.touch(id)
	v, _, err := scanVerification(tx.QueryRowContext(ctx, `SELECT `+verificationCols+verificationFrom+` WHERE v.id = +?`, id))
	if err != nil {
		return false, err
	}
	if v.Status != fetchsms.StatusWaiting {
		return false, nil
	}
	if !now.Before(v.ExpiresAt) {
		_, err := expireVerification(ctx, tx, id, now)
		return false, err
	}
	if det.ServiceID != v.ServiceID || det.Code == "" {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE verifications SET status = 'received', code = ?, received_at = ?, ended_at = ? WHERE id = ? AND status = 'waiting'`,
		det.Code, ms(now), ms(now), id); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO number_services_used (number_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, v.NumberID, v.ServiceID); err != nil {
		return false, err
	}
	if err := release(ctx, tx, v.NumberID, "v:"+id, now); err != nil {
		return false, err
	}
	return true, enqueue(ctx, tx, fetchsms.VerificationSMSEvent(v, in.From, det.Code, v.ServiceName, in.ReceivedAt, now), "")
}

// deliverToRental records the SMS for the live rental holding the number; a code
// moves it to received and becomes its last_code.
func deliverToRental(ctx context.Context, tx *wtx, id, numberID string, in fetchsms.InboundSMS, det fetchsms.Detection, now time.Time) (bool, error) {
	r, _, err := scanRental(tx.QueryRowContext(ctx, `SELECT `+rentalCols+rentalFrom+` WHERE r.id = +?`, id))
	if err != nil {
		return false, err
	}
	if !live(r.Status) {
		return false, nil
	}
	if !now.Before(r.ExpiresAt) {
		_, err := expireRental(ctx, tx, id, now)
		return false, err
	}
	if det.ServiceID != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO number_services_used (number_id, service_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, numberID, det.ServiceID); err != nil {
			return false, err
		}
	}
	if det.Code != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE rentals SET status = 'received', last_code = ? WHERE id = ?`, det.Code, id); err != nil {
			return false, err
		}
	}
	return true, enqueue(ctx, tx, fetchsms.RentalSMSEvent(r, in.From, in.Body, det.Code, serviceName(ctx, tx, det.ServiceID), in.ReceivedAt, now), "")
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (db *DB) NumberGateway(ctx context.Context, e164 string) (string, error) {
	var g string
	err := db.rp.QueryRowContext(ctx, `SELECT gateway_id FROM numbers WHERE e164 = ?`, e164).Scan(&g)
	return g, wrap("sqlite.NumberGateway", notFound(err, e164+" is not a number of the pool"))
}
