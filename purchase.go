package fetchsms

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// NumberPick says which free number a purchase wants.
type NumberPick struct {
	// Pristine asks for a number never sold (rentals). Otherwise: one that never
	// gave ServiceID a code, numbers already used for other services first, then
	// the one released longest ago.
	Pristine  bool
	ServiceID int
	AreaCode  string // "" for any
}

// NumberTx reserves and frees pool numbers. A number has at most one holder (a
// live purchase, "v:<id>" or "r:<id>"), enforced by the schema.
type NumberTx interface {
	// TakeNumber picks a free, active number as p asks and gives it to holder
	// (one statement on PostgreSQL); ErrNoRow when none is free.
	TakeNumber(ctx context.Context, p NumberPick, holder string, now time.Time) (numberID, e164 string, err error)
	// HoldNumber gives the free number to holder; ErrNumberTaken when it is not
	// free (held, disabled or withdrawn).
	HoldNumber(ctx context.Context, numberID, holder string, now time.Time) error
	// ReleaseNumber frees the number if holder holds it.
	ReleaseNumber(ctx context.Context, numberID, holder string, now time.Time) error
	// MarkNumberUsed records that the number gave serviceID a code.
	MarkNumberUsed(ctx context.Context, numberID string, serviceID int) error
	// InboundNumber returns the pool number e164 of gatewayID and its holder ("" when
	// free); ErrNoRow when the gateway has no such number.
	InboundNumber(ctx context.Context, gatewayID, e164 string) (numberID, holder string, err error)
	// InboundNumberAt returns the gateway's number in a device's SIM slot or port
	// (set at import), with its E.164 and holder; ErrNoRow when none.
	InboundNumberAt(ctx context.Context, gatewayID, deviceID string, slot int) (numberID, e164, holder string, err error)
}

// VerificationUpdate moves a verification from one status to another. The move
// happens only while the row is in From (and, when UserID is set, is the user's;
// when OpenAt is set, its window is still open at OpenAt; when Uncharged is set,
// it has released neither a code nor a link yet). A move to received with a
// Code or a Link is a release: it writes Link (NULL when "") and the received
// time, and a Code becomes the code and is appended to the codes (a link-only
// release keeps the earlier code); the waiting status (a resend) clears the end
// time and keeps the codes and link.
type VerificationUpdate struct {
	ID, UserID string
	From, To   string
	OpenAt     time.Time
	Uncharged  bool
	Code       string
	Link       string
	Now        time.Time
}

// RentalUpdate moves a rental from one status to another, guarded by From. A
// non-empty LastCode is recorded; ended statuses record Now as the end.
type RentalUpdate struct {
	ID       string
	From, To string
	LastCode string
	Now      time.Time
}

// PurchaseTx writes verifications and rentals.
type PurchaseTx interface {
	// InsertVerification stores v (ID set by the caller) and sets v.Ref.
	InsertVerification(ctx context.Context, v *Verification) error
	// LockVerification reads a verification and, on PostgreSQL, locks its row to
	// the end of the transaction; ErrNoRow when none.
	LockVerification(ctx context.Context, id string) (*Verification, error)
	// UpdateVerification applies u and returns the row as it now is, or nil when
	// the guard did not match.
	UpdateVerification(ctx context.Context, u VerificationUpdate) (*Verification, error)
	// InsertRental stores r (ID set by the caller) and sets r.Ref.
	InsertRental(ctx context.Context, r *Rental) error
	// LockRental is LockVerification for rentals.
	LockRental(ctx context.Context, id string) (*Rental, error)
	// UpdateRental applies u; false when the guard did not match.
	UpdateRental(ctx context.Context, u RentalUpdate) (bool, error)
}

// PurchaseStore reads purchases outside a transaction.
type PurchaseStore interface {
	// LoadVerification returns the user's verification; ErrNoRow when none.
	LoadVerification(ctx context.Context, userID, id string) (*Verification, error)
	// LoadVerificationByRef returns the user's verification whose public ref is
	// ref; ErrNoRow when none (another user's is none).
	LoadVerificationByRef(ctx context.Context, userID, ref string) (*Verification, error)
	// LoadVerifications lists the user's waiting (history false) or ended
	// verifications newest first, and the cursor of the next page.
	LoadVerifications(ctx context.Context, userID string, history bool, p Page) ([]*Verification, int64, error)
	LoadRental(ctx context.Context, userID, id string) (*Rental, error)
	// LoadRentals lists the user's live (history false) or ended rentals.
	LoadRentals(ctx context.Context, userID string, history bool, p Page) ([]*Rental, int64, error)
	// LoadRentalMessages lists the SMS routed to a rental, newest first.
	LoadRentalMessages(ctx context.Context, rentalID string, p Page) ([]*Message, int64, error)
	// WaitingOnGateway lists, oldest first and at most limit of each, the
	// waiting verifications and the rentals still waiting for their first
	// message on the gateway's numbers (the sandbox's SIM bank answers them).
	WaitingOnGateway(ctx context.Context, gatewayID string, limit int) ([]*Verification, []*Rental, error)
	// CountOverdue counts the user's purchases still live at now whose time is up.
	CountOverdue(ctx context.Context, userID string, now time.Time) (int, error)
	// Overdue returns up to limit ids of verifications and of rentals still live at
	// now whose time is up, most overdue first.
	Overdue(ctx context.Context, now time.Time, limit int) (verifications, rentals []string, err error)
}

// The purchase rules: how a verification or a rental is bought, read, cancelled
// and ended. Each step that changes anything is one engine transaction:
//
//	buy:    resolve the service → quote → take a free number (pick and hold)
//	        → insert the purchase → note the Idempotency-Key's resource → debit
//	        the wallet (ledger entry)
//	cancel: move waiting → cancelled (guarded) → free the number → refund
//	expire: move a purchase whose time is up → free the number → refund what
//	        never delivered a code → announce a rental's end (webhook)
//
// A read never shows a purchase live after its time: one found overdue is ended
// first.

// Holders of a number, as the engines store them: the live purchase's id with its kind.
func verificationHolder(id string) string { return "v:" + id }
func rentalHolder(id string) string       { return "r:" + id }

// CreateVerification debits the wallet and reserves a number for the service.
// Unknown service ENOTFOUND; the long-term product EINVALID; no free number
// ECONFLICT; a price above req.MaxPriceCents ECONFLICT (above_max_price); balance
// too low EPAYMENT.
func (a *App) CreateVerification(ctx context.Context, userID string, req VerificationRequest) (*Verification, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.now()
	var out *Verification
	err := a.update(ctx, "CreateVerification", func(tx Tx) error {
		svc, err := serviceByRef(ctx, tx, req.Service)
		if err != nil {
			return err
		}
		if svc.IsLongTerm() {
			return Errorf(EINVALID, "%s is the long-term rental product: buy it with POST /v1/rentals", svc.Slug)
		}
		q, err := QuoteShort(*svc, req.AreaCode != "")
		if err != nil {
			return err
		}
		if req.MaxPriceCents != nil && q.TotalCents > *req.MaxPriceCents {
			return Reasonf(ECONFLICT, ReasonAboveMaxPrice, "%s costs %s, more than your maximum of %s", svc.Name, Dollars(q.TotalCents), Dollars(*req.MaxPriceCents))
		}
		id := NewID()
		numberID, e164, err := tx.TakeNumber(ctx, NumberPick{ServiceID: svc.ID, AreaCode: req.AreaCode}, verificationHolder(id), now)
		if errors.Is(err, ErrNoRow) {
			if req.AreaCode != "" {
				return Reasonf(ECONFLICT, ReasonOutOfStock, "%s is out of stock for short-term verifications in area code %s", svc.Name, req.AreaCode)
			}
			return Reasonf(ECONFLICT, ReasonOutOfStock, "%s is out of stock for short-term verifications", svc.Name)
		} else if err != nil {
			return err
		}
		v := &Verification{ID: id, UserID: userID, ServiceID: svc.ID, ServiceSlug: svc.Slug, ServiceName: svc.Name, NumberID: numberID,
			Number: e164, AreaCode: req.AreaCode, Status: StatusWaiting, CostCents: q.TotalCents, CreatedAt: now, ExpiresAt: now.Add(VerificationWindow)}
		out = v
		pay := &LedgerEntry{UserID: userID, Kind: LedgerPurchase, AmountCents: -q.TotalCents, VerificationID: v.ID, CreatedAt: now}
		return take(ctx, tx, pay, func() error { return tx.InsertVerification(ctx, v) })
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, PurchaseMade{Verification: out}, StockChanged{})
	return out, nil
}

// take is the end of every purchase, once its number is held: insert it, note it
// against the Idempotency-Key the request runs under, and debit its price. The
// debit comes last because it locks the wallet's row to the end of the
// transaction (on PostgreSQL): every other purchase and refund of the account
// waits for that lock, so it is held for the debit and the commit only. A debit
// refused rolls the whole step back.
func take(ctx context.Context, tx Tx, pay *LedgerEntry, insert func() error) error {
	if err := insert(); err != nil {
		return err
	}
	if err := markIdempotent(ctx, tx, pay.VerificationID+pay.RentalID); err != nil {
		return err
	}
	return payLast(ctx, tx, pay)
}

// serviceByRef resolves a customer's service reference (id or slug) to an enabled
// service, or ENOTFOUND.
func serviceByRef(ctx context.Context, tx CatalogTx, ref string) (*Service, error) {
	ref = strings.TrimSpace(ref)
	svc, err := tx.ServiceByRef(ctx, ref)
	if errors.Is(err, ErrNoRow) {
		return nil, Reasonf(ENOTFOUND, ReasonUnknownService, "unknown service %q", ref)
	}
	return svc, err
}

// Verification returns one of the user's verifications. One whose window has
// closed without a code is expired and refunded first, so a read never shows
// "waiting" after expires_at. Another user's verification is ENOTFOUND.
func (a *App) Verification(ctx context.Context, userID, id string) (*Verification, error) {
	v, err := a.Store.LoadVerification(ctx, userID, id)
	if err != nil {
		return nil, storageError("Verification", err, "verification not found")
	}
	if v.Status == StatusWaiting && !a.now().Before(v.ExpiresAt) {
		if err := a.expire(ctx, []string{id}, nil); err != nil {
			return nil, err
		}
		v, err = a.Store.LoadVerification(ctx, userID, id)
		return v, storageError("Verification", err, "verification not found")
	}
	return v, nil
}

// VerificationByRef is Verification for the verification whose public ref is
// ref (the SMS-Activate protocol names verifications by it).
func (a *App) VerificationByRef(ctx context.Context, userID, ref string) (*Verification, error) {
	v, err := a.Store.LoadVerificationByRef(ctx, userID, ref)
	if err != nil {
		return nil, storageError("VerificationByRef", err, "verification not found")
	}
	if v.Status == StatusWaiting && !a.now().Before(v.ExpiresAt) {
		return a.Verification(ctx, userID, v.ID)
	}
	return v, nil
}

// openScan bounds how many ended verifications OpenVerifications reads to find
// those whose code arrived inside a window still open.
const openScan = 1000

// OpenVerifications returns, newest first and at most limit (1–200), the user's
// verifications whose window is still open: the waiting ones, and the received
// ones until their window closes (the SMS-Activate protocol's active
// activations: a code stays readable there for the rest of its window).
func (a *App) OpenVerifications(ctx context.Context, userID string, limit int) ([]*Verification, error) {
	out, _, err := a.ListVerifications(ctx, userID, false, Page{Limit: limit})
	if err != nil {
		return nil, err
	}
	now := a.now()
	var cursor int64
	for scanned := 0; scanned < openScan; {
		ended, next, err := a.Store.LoadVerifications(ctx, userID, true, Page{Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, storageError("OpenVerifications", err, "")
		}
		for _, v := range ended {
			if !v.ExpiresAt.After(now) {
				next = 0 // newest first: every one after this has closed too
				break
			}
			if v.Status == StatusReceived {
				out = append(out, v)
			}
		}
		scanned += len(ended)
		if next == 0 {
			break
		}
		cursor = next
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ListVerifications returns the user's verifications newest first: the waiting
// ones, or with history the ended ones.
func (a *App) ListVerifications(ctx context.Context, userID string, history bool, p Page) ([]*Verification, int64, error) {
	if err := a.expireOverdueOf(ctx, userID); err != nil {
		return nil, 0, err
	}
	list, next, err := a.Store.LoadVerifications(ctx, userID, history, p)
	return list, next, storageError("ListVerifications", err, "")
}

// CancelVerification cancels a waiting verification and refunds it. One that has
// its code, or has already ended, is ECONFLICT; one found overdue is expired (and
// refunded) in the same transaction before the ECONFLICT is returned. One waiting
// for another code after a resend stops waiting: it is returned received again,
// with its codes and without a refund.
func (a *App) CancelVerification(ctx context.Context, userID, id string) (*Verification, error) {
	now := a.now()
	var out *Verification
	var conflict error
	err := a.update(ctx, "CancelVerification", func(tx Tx) error {
		out, conflict = nil, nil
		// The common case in one guarded statement: waiting, the user's, in its window.
		v, err := tx.UpdateVerification(ctx, VerificationUpdate{ID: id, UserID: userID, From: StatusWaiting, To: StatusCancelled, OpenAt: now, Uncharged: true, Now: now})
		if err != nil {
			return err
		}
		if v != nil {
			out = v
			// The refund (the wallet's row lock) before the event (the account's
			// event-log lock), the order of every step that takes both: the
			// other order lets two steps of one account deadlock.
			if err := refundEnded(ctx, tx, v, now); err != nil {
				return err
			}
			if err := enqueue(ctx, tx, VerificationUpdatedEvent(v, now), ""); err != nil {
				return err
			}
			return markIdempotent(ctx, tx, v.ID)
		}
		// Otherwise read it to tell why, expiring it first when its time is up.
		if v, _, err = lockOwnVerification(ctx, tx, userID, id, now); err != nil {
			return err
		}
		if v.Status == StatusWaiting && v.Released() {
			// Waiting for another code after a resend: the wait ends, the
			// verification is received again with the codes it has, and nothing
			// is refunded (its first code was charged).
			if out, err = endVerification(ctx, tx, v, StatusCancelled, now); err != nil {
				return err
			}
			return markIdempotent(ctx, tx, v.ID)
		}
		switch v.Status {
		case StatusReceived:
			conflict = Reasonf(ECONFLICT, ReasonAlreadyReceived, "the code has already arrived: a verification that received its code cannot be cancelled")
		case StatusExpired:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this verification has expired and was refunded; only a waiting verification can be cancelled")
		case StatusCancelled:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this verification is already cancelled")
		default:
			conflict = Errorf(ECONFLICT, "this verification changed meanwhile; try again")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, StockChanged{}, PurchaseChanged{VerificationID: id, UserID: userID})
	if conflict != nil {
		return nil, conflict
	}
	return out, nil
}

// lockOwnVerification reads (and on PostgreSQL locks) the user's verification,
// ending it first when it waits past its window (reported true); another
// user's, or none, is ENOTFOUND.
func lockOwnVerification(ctx context.Context, tx Tx, userID, id string, now time.Time) (*Verification, bool, error) {
	v, err := tx.LockVerification(ctx, id)
	if errors.Is(err, ErrNoRow) || (err == nil && v.UserID != userID) {
		return nil, false, Errorf(ENOTFOUND, "verification not found")
	} else if err != nil {
		return nil, false, err
	}
	if v.Status == StatusWaiting && !now.Before(v.ExpiresAt) {
		v, err = endVerification(ctx, tx, v, StatusExpired, now)
		return v, true, err
	}
	return v, false, nil
}

// endVerification ends a waiting verification: to status (expired or
// cancelled) with a refund when it never had a code; back to received, with no
// refund, when it was waiting for another code after a resend (it was charged
// for its first code). It frees the number and returns the row as it now is. The
// status guard makes it happen once.
func endVerification(ctx context.Context, tx Tx, v *Verification, status string, now time.Time) (*Verification, error) {
	to := status
	if v.Released() {
		to = StatusReceived
	}
	u, err := tx.UpdateVerification(ctx, VerificationUpdate{ID: v.ID, From: StatusWaiting, To: to, Now: now})
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, Errorf(ECONFLICT, "this verification is no longer waiting")
	}
	if err := refundEnded(ctx, tx, u, now); err != nil {
		return nil, err
	}
	return u, enqueue(ctx, tx, VerificationUpdatedEvent(u, now), "")
}

// refundEnded frees the number of a verification whose wait just ended and
// refunds it when no code ever arrived.
func refundEnded(ctx context.Context, tx Tx, v *Verification, now time.Time) error {
	if err := tx.ReleaseNumber(ctx, v.NumberID, verificationHolder(v.ID), now); err != nil {
		return err
	}
	if v.Released() {
		return nil
	}
	return credit(ctx, tx, &LedgerEntry{UserID: v.UserID, Kind: LedgerRefund, AmountCents: v.CostCents, VerificationID: v.ID, CreatedAt: now})
}

// CreateRental debits the wallet and reserves a pristine (never sold) number for
// the term. Errors as CreateVerification, plus EUNPROCESSABLE for an unsupported
// term and EINVALID for a short-term service.
func (a *App) CreateRental(ctx context.Context, userID string, req RentalRequest) (*Rental, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.now()
	var out *Rental
	err := a.update(ctx, "CreateRental", func(tx Tx) error {
		svc, err := serviceByRef(ctx, tx, req.Service)
		if err != nil {
			return err
		}
		q, err := QuoteLong(*svc, req.Days, req.AreaCode != "")
		if err != nil {
			return err
		}
		id := NewID()
		numberID, e164, err := tx.TakeNumber(ctx, NumberPick{Pristine: true, AreaCode: req.AreaCode}, rentalHolder(id), now)
		if errors.Is(err, ErrNoRow) {
			if req.AreaCode != "" {
				return Reasonf(ECONFLICT, ReasonOutOfStock, "no number is available for long-term rental in area code %s", req.AreaCode)
			}
			return Reasonf(ECONFLICT, ReasonOutOfStock, "no number is available for long-term rental right now")
		} else if err != nil {
			return err
		}
		r := &Rental{ID: id, UserID: userID, ServiceID: svc.ID, ServiceSlug: svc.Slug, ServiceName: svc.Name, NumberID: numberID, Number: e164,
			AreaCode: req.AreaCode, DurationDays: req.Days, Status: StatusWaiting, CostCents: q.TotalCents, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, req.Days)}
		out = r
		pay := &LedgerEntry{UserID: userID, Kind: LedgerPurchase, AmountCents: -q.TotalCents, RentalID: r.ID, CreatedAt: now}
		return take(ctx, tx, pay, func() error { return tx.InsertRental(ctx, r) })
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, PurchaseMade{Rental: out}, StockChanged{})
	return out, nil
}

func live(status string) bool { return status == StatusWaiting || status == StatusReceived }

// Rental returns one of the user's rentals, ending its term first when it is
// over. Another user's rental is ENOTFOUND.
func (a *App) Rental(ctx context.Context, userID, id string) (*Rental, error) {
	r, err := a.Store.LoadRental(ctx, userID, id)
	if err != nil {
		return nil, storageError("Rental", err, "rental not found")
	}
	if live(r.Status) && !a.now().Before(r.ExpiresAt) {
		if err := a.expire(ctx, nil, []string{id}); err != nil {
			return nil, err
		}
		r, err = a.Store.LoadRental(ctx, userID, id)
		return r, storageError("Rental", err, "rental not found")
	}
	return r, nil
}

// ListRentals returns the user's rentals newest first: those whose term runs, or
// with history the ended ones.
func (a *App) ListRentals(ctx context.Context, userID string, history bool, p Page) ([]*Rental, int64, error) {
	if err := a.expireOverdueOf(ctx, userID); err != nil {
		return nil, 0, err
	}
	list, next, err := a.Store.LoadRentals(ctx, userID, history, p)
	return list, next, storageError("ListRentals", err, "")
}

// RentalMessages lists every SMS received on the rental's number during it, newest first.
func (a *App) RentalMessages(ctx context.Context, userID, rentalID string, p Page) ([]*Message, int64, error) {
	if _, err := a.Store.LoadRental(ctx, userID, rentalID); err != nil {
		return nil, 0, storageError("RentalMessages", err, "rental not found")
	}
	list, next, err := a.Store.LoadRentalMessages(ctx, rentalID, p)
	return list, next, storageError("RentalMessages", err, "")
}

// CancelRental cancels a rental that has not received a code and refunds it;
// after the first code, or once ended, ECONFLICT.
func (a *App) CancelRental(ctx context.Context, userID, id string) (*Rental, error) {
	now := a.now()
	var out *Rental
	var conflict error
	err := a.update(ctx, "CancelRental", func(tx Tx) error {
		out, conflict = nil, nil
		r, err := lockOwnRental(ctx, tx, userID, id, now)
		if err != nil {
			return err
		}
		switch r.Status {
		case StatusReceived:
			conflict = Reasonf(ECONFLICT, ReasonAlreadyReceived, "this rental has already received a message (its code, or any text: every message is yours) and cannot be cancelled")
		case StatusExpired:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this rental's term has ended")
		case StatusCancelled:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this rental is already cancelled")
		default:
			if err := endRental(ctx, tx, r, StatusCancelled, now); err != nil {
				return err
			}
			c := *r
			c.Status = StatusCancelled
			out = &c
			return markIdempotent(ctx, tx, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, StockChanged{}, PurchaseChanged{RentalID: id, UserID: userID})
	if conflict != nil {
		return nil, conflict
	}
	return out, nil
}

// lockOwnRental reads (and on PostgreSQL locks) the user's rental, ending it
// first when its term is over; another user's, or none, is ENOTFOUND.
func lockOwnRental(ctx context.Context, tx Tx, userID, id string, now time.Time) (*Rental, error) {
	r, err := tx.LockRental(ctx, id)
	if errors.Is(err, ErrNoRow) || (err == nil && r.UserID != userID) {
		return nil, Errorf(ENOTFOUND, "rental not found")
	} else if err != nil {
		return nil, err
	}
	if live(r.Status) && !now.Before(r.ExpiresAt) {
		if err := endRental(ctx, tx, r, StatusExpired, now); err != nil {
			return nil, err
		}
		r.Status = StatusExpired
	}
	return r, nil
}

// endRental ends a live rental with status, frees its number, refunds it when it
// never received a message, and announces an expiry. The status guard makes it
// happen once.
func endRental(ctx context.Context, tx Tx, r *Rental, status string, now time.Time) error {
	ok, err := tx.UpdateRental(ctx, RentalUpdate{ID: r.ID, From: r.Status, To: status, Now: now})
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(ECONFLICT, "this rental changed meanwhile; try again")
	}
	if err := tx.ReleaseNumber(ctx, r.NumberID, rentalHolder(r.ID), now); err != nil {
		return err
	}
	if r.Status == StatusWaiting {
		if err := credit(ctx, tx, &LedgerEntry{UserID: r.UserID, Kind: LedgerRefund, AmountCents: r.CostCents, RentalID: r.ID, CreatedAt: now}); err != nil {
			return err
		}
	}
	if status == StatusExpired {
		return enqueue(ctx, tx, RentalExpiredEvent(r, now), "")
	}
	return nil
}

// ExpireDue ends up to limit overdue verifications and as many rentals, each in
// its own transaction, and returns how many it ended. Safe to run from several
// places and servers at once: the status guards let each end happen once.
func (a *App) ExpireDue(ctx context.Context, limit int) (int, error) {
	vs, rs, err := a.Store.Overdue(ctx, a.now(), limit)
	if err != nil {
		return 0, storageError("ExpireDue", err, "")
	}
	n, err := a.expireCount(ctx, vs, rs)
	return n, err
}

// expireOverdueOf ends the user's overdue purchases before a list of them is read.
func (a *App) expireOverdueOf(ctx context.Context, userID string) error {
	n, err := a.Store.CountOverdue(ctx, userID, a.now())
	if err != nil || n == 0 {
		return storageError("expireOverdue", err, "")
	}
	_, err = a.ExpireDue(ctx, 1000)
	return err
}

func (a *App) expire(ctx context.Context, verifications, rentals []string) error {
	_, err := a.expireCount(ctx, verifications, rentals)
	return err
}

// expireCount ends each listed purchase whose time is up, one transaction each.
func (a *App) expireCount(ctx context.Context, verifications, rentals []string) (int, error) {
	n := 0
	defer func() {
		if n > 0 {
			a.publish(ctx, StockChanged{}, PurchaseChanged{})
		}
	}()
	for _, id := range verifications {
		var done bool
		err := a.update(ctx, "ExpireVerification", func(tx Tx) error {
			var err error
			done, err = expireVerification(ctx, tx, id, a.now())
			return err
		})
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	for _, id := range rentals {
		var done bool
		err := a.update(ctx, "ExpireRental", func(tx Tx) error {
			var err error
			done, err = expireRental(ctx, tx, id, a.now())
			return err
		})
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// expireVerification expires one overdue waiting verification; false when it was
// not (or no longer) due.
func expireVerification(ctx context.Context, tx Tx, id string, now time.Time) (bool, error) {
	v, err := tx.LockVerification(ctx, id)
	if err != nil {
		return false, err
	}
	if v.Status != StatusWaiting || now.Before(v.ExpiresAt) {
		return false, nil
	}
	_, err = endVerification(ctx, tx, v, StatusExpired, now)
	return true, err
}

// expireRental ends one rental whose term is over; false when it was not due.
func expireRental(ctx context.Context, tx Tx, id string, now time.Time) (bool, error) {
	r, err := tx.LockRental(ctx, id)
	if err != nil {
		return false, err
	}
	if !live(r.Status) || now.Before(r.ExpiresAt) {
		return false, nil
	}
	return true, endRental(ctx, tx, r, StatusExpired, now)
}

// markIdempotent records, inside the purchase or cancel transaction, which
// resource the request under an Idempotency-Key touched.
func markIdempotent(ctx context.Context, tx Tx, resourceID string) error {
	userID, key, ok := IdempotencyScope(ctx)
	if !ok {
		return nil
	}
	if err := tx.SetIdempotentResource(ctx, userID, key, resourceID); errors.Is(err, ErrNoRow) {
		// The key this run claimed was forgotten meanwhile: committing would
		// leave a change no retry can find, and a retry would make it again.
		return Errorf(ECONFLICT, "this request's Idempotency-Key was released while it ran; nothing was done; retry")
	} else if err != nil {
		return err
	}
	return nil
}

// enqueue queues a webhook event, and a delivery to each endpoint of its owner
// that wants it (or to onlyEndpoint), inside the transaction of the change it
// announces.
func enqueue(ctx context.Context, tx Tx, ev *Event, onlyEndpoint string) error {
	ev.ID = NewID()
	var subs []*WebhookEndpoint
	if ev.Type == EventTest || webhookEvent(ev.Type) {
		var err error
		if subs, err = tx.Subscribers(ctx, ev.UserID, onlyEndpoint); err != nil {
			return err
		}
	}
	var ds []*Delivery
	for _, e := range subs {
		if e.Wants(ev.Type) {
			ds = append(ds, &Delivery{ID: NewID(), EventID: ev.ID, EndpointID: e.ID})
		}
	}
	return tx.Queue(ctx, ev, ds)
}

// ServiceByRef returns the enabled service a customer's reference (id or slug)
// names, or ENOTFOUND (without asking the store when the reference is no text
// a service could be named by: PostgreSQL refuses NUL and invalid UTF-8).
func (a *App) ServiceByRef(ctx context.Context, ref string) (*Service, error) {
	ref = strings.TrimSpace(ref)
	var svc *Service
	err := ErrNoRow
	if utf8.ValidString(ref) && strings.IndexByte(ref, 0) < 0 {
		svc, err = a.Store.ServiceByRef(ctx, ref)
	}
	if errors.Is(err, ErrNoRow) {
		return nil, Reasonf(ENOTFOUND, ReasonUnknownService, "unknown service %q", ref)
	}
	return svc, storageError("ServiceByRef", err, "")
}

// ServiceByID returns a service, enabled or not, or ENOTFOUND.
func (a *App) ServiceByID(ctx context.Context, id int) (*Service, error) {
	svc, err := a.Store.ServiceByID(ctx, id)
	return svc, storageError("ServiceByID", err, "service not found")
}

// WaitingOnGateway lists the purchases waiting for an SMS on the gateway's
// numbers (at most limit of each kind, oldest first): the sandbox's simulated
// SIM bank answers them, whichever server sold them.
func (a *App) WaitingOnGateway(ctx context.Context, gatewayID string, limit int) ([]*Verification, []*Rental, error) {
	vs, rs, err := a.Store.WaitingOnGateway(ctx, gatewayID, min(max(limit, 1), 1000))
	return vs, rs, storageError("WaitingOnGateway", err, "")
}
