package fetchsms

import (
	"context"
	"errors"
)

// The resend rule: after its code and before expires_at, a verification can wait
// for another code on the same number at no charge. It goes back to waiting and
// holds its number again; the next code from its service moves it to received
// (the same path, event and webhook as a first code), appended to its codes. Its
// first code was charged, so the end of that wait — by cancel or by expiry —
// never refunds: it is received again with the codes it has (endVerification).

// ResendVerification puts a received verification back to waiting for another
// code on the same number. One already waiting for another code is returned as
// it is. Before its first code ECONFLICT (no_code_yet); after expires_at, or once
// expired, ECONFLICT (window_closed); cancelled ECONFLICT (not_waiting); its
// number sold meanwhile to another purchase, or taken off sale, ECONFLICT
// (number_unavailable). Another user's verification is ENOTFOUND.
func (a *App) ResendVerification(ctx context.Context, userID, id string) (*Verification, error) {
	now := a.now()
	var out *Verification
	var conflict error
	var requested *Verification
	changed := false
	err := a.update(ctx, "ResendVerification", func(tx Tx) error {
		out, conflict, changed, requested = nil, nil, false, nil
		v, ended, err := lockOwnVerification(ctx, tx, userID, id, now)
		if err != nil {
			return err
		}
		changed = ended
		switch {
		case v.Status == StatusWaiting && !v.Released():
			conflict = Reasonf(ECONFLICT, ReasonNoCodeYet, "no code has arrived yet: another code can be asked for once the first is in")
		case v.Status == StatusWaiting:
			out = v // already waiting for another code
			return markIdempotent(ctx, tx, v.ID)
		case v.Status == StatusReceived && now.Before(v.ExpiresAt):
			err := tx.HoldNumber(ctx, v.NumberID, verificationHolder(v.ID), now)
			if errors.Is(err, ErrNumberTaken) {
				conflict = Reasonf(ECONFLICT, ReasonNumberUnavailable, "%s is no longer available for another code (it went to another purchase or off sale); buy a new verification", FormatUS(v.Number))
				return nil
			} else if err != nil {
				return err
			}
			u, err := tx.UpdateVerification(ctx, VerificationUpdate{ID: v.ID, UserID: userID, From: StatusReceived, To: StatusWaiting, OpenAt: now, Now: now})
			if err != nil {
				return err
			}
			if u == nil {
				return Errorf(ECONFLICT, "this verification changed meanwhile; try again")
			}
			out, changed, requested = u, true, u
			if err := enqueue(ctx, tx, VerificationUpdatedEvent(u, now), ""); err != nil {
				return err
			}
			return markIdempotent(ctx, tx, v.ID)
		case v.Status == StatusReceived, v.Status == StatusExpired:
			conflict = Reasonf(ECONFLICT, ReasonWindowClosed, "this verification's window closed at %s: another code can only be asked for before expires_at", v.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
		default:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this verification was cancelled")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		a.publish(ctx, StockChanged{}, PurchaseChanged{VerificationID: id, UserID: userID})
	}
	if requested != nil {
		a.publish(ctx, CodeRequested{Verification: requested})
	}
	if conflict != nil {
		return nil, conflict
	}
	return out, nil
}
