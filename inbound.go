package fetchsms

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// InboundTx stores inbound SMS.
type InboundTx interface {
	// InboundSeen returns what an earlier message with this gateway id was routed
	// to; ErrNoRow when it is new.
	InboundSeen(ctx context.Context, gatewayID, gatewayMsgID string) (*InboundResult, error)
	// InsertMessage stores m (ID set by the caller).
	InsertMessage(ctx context.Context, m *Message) error
	// InsertUnmatched keeps a message for no number of the gateway; a repeat
	// (gateway, message id) changes nothing.
	InsertUnmatched(ctx context.Context, m *UnmatchedMessage) error
}

// The inbound SMS pipeline, one transaction per message:
//
//	dedupe (gateway, message id) → find the gateway's number → detect service and
//	code → route to the purchase holding the number:
//	  verification: release the code (or, when it has none, its sign-in
//	                link) only when the SMS is from the purchased service and
//	                carries one; mark the number spent for that
//	                service; free it; queue sms.received
//	  rental:       record every SMS; a code moves it to received; queue
//	                sms.received with the full body
//	→ store the message (routed or not)
//
// A purchase found past its time is ended instead, as a read would.

// ReceiveSMS stores an inbound SMS from a gateway and routes it, and notes that
// the gateway was heard from (a silent gateway's numbers are for sale again at
// once: health.go). A repeated (gateway, id) returns the first result
// and changes nothing. A number that is not this gateway's own (or a device slot
// that holds none) is ENOTFOUND; the message is kept as unmatched for admins. A
// part of a long SMS (in.Part) waits for the rest of its message, which is
// routed whole when its last part arrives (multipart.go).
func (a *App) ReceiveSMS(ctx context.Context, gatewayID string, in InboundSMS) (*InboundResult, error) {
	if err := checkInbound(in); err != nil {
		return nil, err
	}
	now := a.now()
	if in.ReceivedAt.IsZero() || in.ReceivedAt.After(now) {
		in.ReceivedAt = now
	}
	if in.Part != nil {
		if err := checkPart(in.Part); err != nil {
			return nil, err
		}
		if in.Part.Count == 1 {
			in.Part = nil // a whole message, however the gateway labels it
		}
	}
	var det Detection
	if in.Part == nil {
		det = a.detect(in.From, in.Body)
	}
	res, err := a.receive(ctx, gatewayID, in, det, now)
	if errors.Is(err, ErrDuplicate) {
		// The same message was stored meanwhile by another server sharing the
		// database (its transaction and ours both found it new): ours rolled
		// back whole; answer as the first did.
		res, err = a.receive(ctx, gatewayID, in, det, now)
	}
	if err != nil {
		return nil, err
	}
	delivered := res.delivered
	res.delivered = nil // the answer is the same for a repeated message
	a.publish(ctx, StockChanged{})
	owner := res.userID
	res.userID = "" // the answer is the same for a repeat
	if res.VerificationID != "" || res.RentalID != "" || owner != "" {
		a.publish(ctx, PurchaseChanged{VerificationID: res.VerificationID, RentalID: res.RentalID, UserID: owner})
	}
	if delivered != nil {
		a.publish(ctx, *delivered)
	}
	return res, nil
}

// checkInbound refuses what no gateway sends and no store keeps alike: a
// device id no import could have named, and text that is not UTF-8 or holds a
// NUL character (PostgreSQL stores neither).
func checkInbound(in InboundSMS) error {
	if in.DeviceID != "" && !validDeviceID(in.DeviceID) {
		return Errorf(EINVALID, "the device id must be 1–200 printable characters, without spaces around them")
	}
	fields := [][2]string{{"id", in.ID}, {"to", in.To}, {"from", in.From}, {"body", in.Body}, {"device id", in.DeviceID}}
	if in.Part != nil {
		fields = append(fields, [2]string{"part.ref", in.Part.Ref})
	}
	for _, f := range fields {
		if !utf8.ValidString(f[1]) || strings.IndexByte(f[1], 0) >= 0 {
			return Errorf(EINVALID, "%s must be UTF-8 text without NUL characters", f[0])
		}
	}
	return nil
}

func (a *App) receive(ctx context.Context, gatewayID string, in InboundSMS, det Detection, now time.Time) (*InboundResult, error) {
	var res *InboundResult
	unmatched := false
	err := a.update(ctx, "ReceiveSMS", func(tx Tx) error {
		res, unmatched = nil, false
		if _, err := a.heard(ctx, tx, gatewayID); err != nil {
			return err
		}
		if in.Part != nil {
			var err error
			res, unmatched, err = a.receivePart(ctx, tx, gatewayID, in, now)
			return err
		}
		seen, err := tx.InboundSeen(ctx, gatewayID, in.ID)
		if err == nil {
			res = seen
			return nil
		}
		if !errors.Is(err, ErrNoRow) {
			return err
		}
		res, unmatched, err = route(ctx, tx, gatewayID, in, det, now)
		return err
	})
	if err == nil && unmatched {
		return nil, unmatchedError(in)
	}
	return res, err
}

// unmatchedError is the answer to a message kept as unmatched.
func unmatchedError(in InboundSMS) error {
	if in.DeviceID != "" {
		return Errorf(ENOTFOUND, "device %q slot %d holds no number of this gateway; the message is kept as unmatched", in.DeviceID, in.SimSlot)
	}
	return Errorf(ENOTFOUND, "%s is not a number of this gateway; the message is kept as unmatched", in.To)
}

// inboundNumber finds the gateway's number a message arrived at: by device slot
// when the gateway names one, else by number (in.To). It returns the number's
// id, E.164 and holder, or ErrNoRow.
func inboundNumber(ctx context.Context, tx Tx, gatewayID string, in InboundSMS) (numberID, e164, holder string, err error) {
	if in.DeviceID != "" {
		return tx.InboundNumberAt(ctx, gatewayID, in.DeviceID, in.SimSlot)
	}
	numberID, holder, err = tx.InboundNumber(ctx, gatewayID, in.To)
	return numberID, in.To, holder, err
}

// route stores a new whole message in tx and delivers it to the purchase holding
// its number; a message for no number of the gateway is kept as unmatched
// (reported true).
func route(ctx context.Context, tx Tx, gatewayID string, in InboundSMS, det Detection, now time.Time) (*InboundResult, bool, error) {
	numberID, to, holder, err := inboundNumber(ctx, tx, gatewayID, in)
	if errors.Is(err, ErrNoRow) {
		return nil, true, tx.InsertUnmatched(ctx, &UnmatchedMessage{GatewayID: gatewayID, GatewayMsgID: in.ID, To: in.To, DeviceID: in.DeviceID, SimSlot: in.SimSlot,
			Sender: in.From, Body: in.Body, ReceivedAt: in.ReceivedAt, CreatedAt: now})
	} else if err != nil {
		return nil, false, err
	}
	in.To = to
	res := &InboundResult{MessageID: NewID()}
	switch {
	case strings.HasPrefix(holder, "v:"):
		id := strings.TrimPrefix(holder, "v:")
		v, owner, err := deliverToVerification(ctx, tx, id, in, det, now)
		if err != nil {
			return nil, false, err
		}
		res.userID = owner
		if v != nil {
			res.VerificationID = id
			res.delivered = &CodeDelivered{VerificationID: id, ServiceSlug: v.ServiceSlug, Wait: now.Sub(v.CreatedAt)}
		}
	case strings.HasPrefix(holder, "r:"):
		id := strings.TrimPrefix(holder, "r:")
		ok, owner, err := deliverToRental(ctx, tx, id, numberID, in, det, now)
		if err != nil {
			return nil, false, err
		}
		res.userID = owner
		if ok {
			res.RentalID = id
		}
	}
	return res, false, tx.InsertMessage(ctx, &Message{ID: res.MessageID, GatewayID: gatewayID, GatewayMsgID: in.ID, To: in.To, NumberID: numberID,
		Sender: in.From, Body: in.Body, Code: det.Code, Link: det.Link, DetectedService: det.ServiceID, ReceivedAt: in.ReceivedAt, CreatedAt: now,
		VerificationID: res.VerificationID, RentalID: res.RentalID})
}

// deliverToVerification releases the code to the waiting verification when the
// SMS is from its service and carries one, and marks the number spent for that
// service. An overdue verification is expired (and refunded) instead. It reports
// the verification when the code was delivered (else nil), and its owner when
// it changed.
func deliverToVerification(ctx context.Context, tx Tx, id string, in InboundSMS, det Detection, now time.Time) (delivered *Verification, owner string, err error) {
	v, err := tx.LockVerification(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if v.Status != StatusWaiting {
		return nil, "", nil
	}
	if !now.Before(v.ExpiresAt) {
		_, err := endVerification(ctx, tx, v, StatusExpired, now)
		return nil, v.UserID, err
	}
	if !releases(v.ServiceID, det) {
		return nil, "", nil
	}
	u, err := tx.UpdateVerification(ctx, VerificationUpdate{ID: id, From: StatusWaiting, To: StatusReceived, Code: det.Code, Link: det.Link, Now: now})
	if err != nil || u == nil {
		return nil, "", err
	}
	if err := tx.MarkNumberUsed(ctx, v.NumberID, v.ServiceID); err != nil {
		return nil, "", err
	}
	if err := tx.ReleaseNumber(ctx, v.NumberID, verificationHolder(id), now); err != nil {
		return nil, "", err
	}
	if err := enqueue(ctx, tx, VerificationSMSEvent(v, in.From, det.Code, det.Link, v.ServiceName, in.ReceivedAt, now), ""); err != nil {
		return nil, "", err
	}
	return v, v.UserID, enqueue(ctx, tx, VerificationUpdatedEvent(u, now), "")
}

// releases reports whether a verification of service gets the message detected
// as det: one with a code or a sign-in link, from that service; for the "any
// service not listed" verification (OtherServiceID), one with a code or a link
// that names no listed service. A link is routed exactly as a code is: a
// message that is not the service's never releases its link. When a message
// holds both, the code is the secret and the link rides along.
func releases(service int, det Detection) bool {
	if det.Code == "" && det.Link == "" {
		return false
	}
	return det.ServiceID == service || service == OtherServiceID && det.ServiceID == 0
}

// deliverToRental records the SMS for the live rental holding the number. Any
// message moves it to received (every body is handed to the customer, so a
// rental that only receives links is not free: SPEC §4); a code becomes its
// last_code.
func deliverToRental(ctx context.Context, tx Tx, id, numberID string, in InboundSMS, det Detection, now time.Time) (delivered bool, owner string, err error) {
	r, err := tx.LockRental(ctx, id)
	if err != nil {
		return false, "", err
	}
	if !live(r.Status) {
		return false, "", nil
	}
	if !now.Before(r.ExpiresAt) {
		return false, r.UserID, endRental(ctx, tx, r, StatusExpired, now)
	}
	detected := ""
	if det.ServiceID != 0 {
		if err := tx.MarkNumberUsed(ctx, numberID, det.ServiceID); err != nil {
			return false, "", err
		}
		if s, err := tx.ServiceByID(ctx, det.ServiceID); err == nil {
			detected = s.Name
		}
	}
	if det.Code != "" || r.Status == StatusWaiting {
		if _, err := tx.UpdateRental(ctx, RentalUpdate{ID: id, From: r.Status, To: StatusReceived, LastCode: det.Code, Now: now}); err != nil {
			return false, "", err
		}
	}
	return true, r.UserID, enqueue(ctx, tx, RentalSMSEvent(r, in.From, in.Body, det.Code, det.Link, detected, in.ReceivedAt, now), "")
}
