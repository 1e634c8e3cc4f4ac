package fetchsms

import (
	"context"
	"time"
)

// The rental term rules after purchase (issue 20).
//
// Extend: a live rental (waiting or received, before expires_at) gains days,
// one of the terms a rental is bought for (1, 7, 30, 90, 365), at the long-term
// price of that term (QuoteLong, with the area-code premium when the rental was
// bought with one), in one transaction: a purchase entry of its own (reason
// "extension"), the rental's cost and end moved, its reminder cleared. A rental
// never runs more than MaxRentalAhead past now, so a year's rental is extended
// near its end. A rental cancelled while waiting (no message yet) is refunded
// all it cost, extensions included.
//
// Remind: some time before a live rental ends — ReminderLead, or a quarter of
// its whole term when that is shorter (a 1-day rental: 6 hours) — the expiry
// sweep queues one rental.expiring event (webhook and outbox); an extension
// moves the end and allows the next reminder.

// MaxRentalAhead is how far past now an extension may take a rental's end.
const MaxRentalAhead = 365 * 24 * time.Hour

// ReminderLead is how long before a rental ends its reminder is sent, at most;
// ReminderTermDivisor makes it a quarter of the term for short rentals.
const (
	ReminderLead        = 24 * time.Hour
	ReminderTermDivisor = 4
)

// RentalExtension moves a live rental's end, guarded by the end it had.
type RentalExtension struct {
	ID             string
	Days           int
	AddCents       Cents
	OldEnd, NewEnd time.Time
}

// RentalTermTx writes rental extensions and reminders.
type RentalTermTx interface {
	// ExtendRental applies x to the live rental whose end is still x.OldEnd and
	// clears its reminder; false when it is not.
	ExtendRental(ctx context.Context, x RentalExtension) (bool, error)
	// MarkRentalReminded notes the reminder of the rental; false when it was
	// noted already.
	MarkRentalReminded(ctx context.Context, id string, now time.Time) (bool, error)
}

// RentalTermStore finds the rentals to remind.
type RentalTermStore interface {
	// RentalsToRemind returns up to limit ids of live rentals without a reminder
	// that end after now and within min(lead, term/divisor) of now (term: from
	// created_at to expires_at), soonest end first.
	RentalsToRemind(ctx context.Context, now time.Time, lead time.Duration, divisor, limit int) ([]string, error)
}

// ExtendRental adds days to one of the user's live rentals at the long-term
// price of that term. A term not sold EUNPROCESSABLE; an end past
// MaxRentalAhead EUNPROCESSABLE; a rental that ended ECONFLICT not_waiting;
// balance too low EPAYMENT; another user's ENOTFOUND.
func (a *App) ExtendRental(ctx context.Context, userID, id string, days int) (*Rental, error) {
	if !ValidRentalTerm(days) {
		return nil, Errorf(EUNPROCESSABLE, "unsupported extension %d: days must be one of 1, 7, 30, 90, 365", days)
	}
	now := a.now()
	var conflict error
	err := a.update(ctx, "ExtendRental", func(tx Tx) error {
		conflict = nil
		r, err := lockOwnRental(ctx, tx, userID, id, now)
		if err != nil {
			return err
		}
		if !live(r.Status) {
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this rental has ended (%s); buy a new one", r.Status)
			return nil
		}
		end := r.ExpiresAt.AddDate(0, 0, days)
		if end.Sub(now) > MaxRentalAhead {
			return Errorf(EUNPROCESSABLE, "a rental can run at most 365 days ahead: this one ends %s, and %d more days would take it past that", r.ExpiresAt.UTC().Format("2006-01-02"), days)
		}
		svc, err := tx.ServiceByID(ctx, r.ServiceID)
		if err != nil {
			return err
		}
		q, err := QuoteLong(*svc, days, r.AreaCode != "")
		if err != nil {
			return err
		}
		if err := debit(ctx, tx, &LedgerEntry{UserID: userID, Kind: LedgerPurchase, AmountCents: -q.TotalCents, RentalID: r.ID, Reason: LedgerReasonExtension, CreatedAt: now}); err != nil {
			return err
		}
		ok, err := tx.ExtendRental(ctx, RentalExtension{ID: r.ID, Days: days, AddCents: q.TotalCents, OldEnd: r.ExpiresAt, NewEnd: end})
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ECONFLICT, "this rental changed meanwhile; try again")
		}
		return markIdempotent(ctx, tx, r.ID)
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, PurchaseChanged{RentalID: id, UserID: userID})
	if conflict != nil {
		return nil, conflict
	}
	return a.Rental(ctx, userID, id)
}

// LedgerReasonExtension marks the purchase entry of a rental's extension.
const LedgerReasonExtension = "extension"

// RemindExpiring queues the reminder of up to limit rentals that end soon (the
// rule above), each in its own transaction, and returns how many it queued.
// Safe from several places at once: the reminder is noted once.
func (a *App) RemindExpiring(ctx context.Context, limit int) (int, error) {
	now := a.now()
	ids, err := a.Store.RentalsToRemind(ctx, now, ReminderLead, ReminderTermDivisor, limit)
	if err != nil {
		return 0, storageError("RemindExpiring", err, "")
	}
	n := 0
	for _, id := range ids {
		var done bool
		var owner string
		err := a.update(ctx, "RemindRental", func(tx Tx) error {
			done = false
			r, err := tx.LockRental(ctx, id)
			if err != nil {
				return err
			}
			owner = r.UserID
			if !live(r.Status) || !now.Before(r.ExpiresAt) || r.ExpiresAt.Sub(now) > reminderLead(r) {
				return nil
			}
			if done, err = tx.MarkRentalReminded(ctx, id, now); err != nil || !done {
				return err
			}
			return enqueue(ctx, tx, RentalExpiringEvent(r, now), "")
		})
		if err != nil {
			return n, err
		}
		if done {
			n++
			a.publish(ctx, PurchaseChanged{RentalID: id, UserID: owner}) // its event streams read the reminder
		}
	}
	return n, nil
}

// reminderLead is how long before its end a rental is reminded.
func reminderLead(r *Rental) time.Duration {
	return min(ReminderLead, r.ExpiresAt.Sub(r.CreatedAt)/ReminderTermDivisor)
}
