package fetchsms

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// The report rule: a customer whose service refused a verification's number
// (no code will come) reports it while it waits. In one transaction the
// verification is cancelled and refunded (once: the status guard and the ledger's
// unique refund), the number is never sold for that service again (as if it had
// given the service a code), a replacement is bought on another number for the
// same service (and area code) at today's price, and the report is kept for the
// admins' report rates. A number reported ReportDisableThreshold times, by anyone
// for any service, is disabled (an admin may enable it again).
//
// No replacement (no stock, a balance that no longer covers today's price,
// purchases paused, the service disabled) does not undo the refund: the answer
// says why in replacement_error, and the customer buys again when they can.

// ReportDisableThreshold is how many reports take a number out of sale.
const ReportDisableThreshold = 3

// ReportReasonMax is the longest reason a report keeps, in characters.
const ReportReasonMax = 200

// NumberReport is one report of a verification's number.
type NumberReport struct {
	VerificationID string
	ReplacementID  string // "" when none could be bought
	NumberID       string
	GatewayID      string // set by the engine: the number's gateway
	ServiceID      int
	UserID         string
	Reason         string
	// ReplacementCode and ReplacementDetail say why there is no replacement
	// (an error's code word and its detail); "" when there is one.
	ReplacementCode, ReplacementDetail string
	CreatedAt                          time.Time
}

// ReportResult is the answer to a report: the verification as refunded, the
// replacement (nil when none), and why there is none.
type ReportResult struct {
	Refunded    *Verification
	Replacement *Verification
	// NoReplacement is why there is no replacement (nil when there is one): an
	// error's code word and detail, as an error answer has them.
	NoReplacement *ReplacementError
}

// ReplacementError is why a report has no replacement.
type ReplacementError struct{ Code, Detail string }

// ReportRate is the report rate of a number or a gateway: reports of its
// verifications over the verifications sold on it.
type ReportRate struct {
	ID       string // the number's or gateway's id
	Name     string // the number (E.164), or the gateway's name
	Gateway  string // a number's gateway name
	Reports  int
	Sold     int
	Disabled bool // a number: out of sale (disabled)
}

// ReportTx writes reports.
type ReportTx interface {
	// InsertNumberReport stores r, with the number's gateway, and returns how many
	// reports the number has now; ErrDuplicate when the verification was
	// reported before.
	InsertNumberReport(ctx context.Context, r *NumberReport) (int, error)
	// WalletOf reads the user's balance and what they owe.
	WalletOf(ctx context.Context, userID string) (Wallet, error)
}

// ReportStore reads reports.
type ReportStore interface {
	// NumberReportOf returns the report of the user's verification; ErrNoRow when none.
	NumberReportOf(ctx context.Context, userID, verificationID string) (*NumberReport, error)
	// ReportRates returns up to limit reported numbers, most reports first, and
	// every gateway with a report, most reports first.
	ReportRates(ctx context.Context, limit int) (numbers, gateways []ReportRate, err error)
}

// CheckReportReason trims a report's reason and checks it: required, at most
// ReportReasonMax characters of UTF-8 text without control characters.
func CheckReportReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", Errorf(EINVALID, "reason is required: say what the service answered (for example \"the service says this number cannot be used\")")
	}
	if !utf8.ValidString(reason) || strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", Errorf(EUNPROCESSABLE, "reason must be text without control characters")
	}
	if n := utf8.RuneCountInString(reason); n > ReportReasonMax {
		return "", Errorf(EUNPROCESSABLE, "reason is %d characters; at most %d", n, ReportReasonMax)
	}
	return reason, nil
}

// ReportVerification reports that the service refused the number of a waiting
// verification: it is refunded at once and a replacement is bought on another
// number (the rule above). One with a code (or waiting for another after a
// resend) is ECONFLICT already_received; one that ended ECONFLICT not_waiting;
// another user's ENOTFOUND.
func (a *App) ReportVerification(ctx context.Context, userID, id, reason string) (*ReportResult, error) {
	reason, err := CheckReportReason(reason)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var out *ReportResult
	var conflict error
	err = a.update(ctx, "ReportVerification", func(tx Tx) error {
		out, conflict = nil, nil
		v, _, err := lockOwnVerification(ctx, tx, userID, id, now)
		if err != nil {
			return err
		}
		switch {
		case v.Status == StatusReceived || v.Released():
			conflict = Reasonf(ECONFLICT, ReasonAlreadyReceived, "a code has arrived on this number: only a verification still waiting for its first code can be reported")
			return nil
		case v.Status != StatusWaiting:
			conflict = Reasonf(ECONFLICT, ReasonNotWaiting, "this verification has ended (%s) and was refunded; only a waiting verification can be reported", v.Status)
			return nil
		}
		u, err := tx.UpdateVerification(ctx, VerificationUpdate{ID: v.ID, UserID: userID, From: StatusWaiting, To: StatusCancelled, OpenAt: now, Uncharged: true, Now: now})
		if err != nil {
			return err
		}
		if u == nil {
			return Errorf(ECONFLICT, "this verification changed meanwhile; try again")
		}
		if err := refundEnded(ctx, tx, u, now); err != nil {
			return err
		}
		if err := enqueue(ctx, tx, VerificationUpdatedEvent(u, now), ""); err != nil {
			return err
		}
		if err := tx.MarkNumberUsed(ctx, v.NumberID, v.ServiceID); err != nil {
			return err
		}
		rep := &NumberReport{VerificationID: v.ID, NumberID: v.NumberID, ServiceID: v.ServiceID, UserID: userID, Reason: reason, CreatedAt: now}
		out = &ReportResult{Refunded: u}
		var none *Error
		out.Replacement, none, err = replace(ctx, tx, v, now)
		if err != nil {
			return err
		}
		if out.Replacement != nil {
			rep.ReplacementID = out.Replacement.ID
		} else {
			rep.ReplacementCode, rep.ReplacementDetail = ErrorReason(none), none.Message
			out.NoReplacement = &ReplacementError{Code: rep.ReplacementCode, Detail: rep.ReplacementDetail}
		}
		n, err := tx.InsertNumberReport(ctx, rep)
		if err != nil {
			return err
		}
		if n >= ReportDisableThreshold {
			if _, err := tx.SetNumberStatus(ctx, v.NumberID, NumberDisabled); err != nil {
				return err
			}
		}
		return markIdempotent(ctx, tx, v.ID)
	})
	if err != nil {
		return nil, err
	}
	if conflict != nil {
		return nil, conflict
	}
	a.publish(ctx, StockChanged{}, PurchaseChanged{VerificationID: id, UserID: userID})
	if out.Replacement != nil {
		a.publish(ctx, PurchaseMade{Verification: out.Replacement})
	}
	return out, nil
}

// replace buys, inside the report's transaction, a verification for the same
// user, service and area code as v on another number (v's is excluded for the
// service by now). What would refuse a purchase is returned as the reason there
// is none, with nothing written: the wallet is read before anything is taken.
func replace(ctx context.Context, tx Tx, v *Verification, now time.Time) (*Verification, *Error, error) {
	svc, err := tx.ServiceByID(ctx, v.ServiceID)
	if err != nil {
		return nil, nil, err
	}
	if !svc.Enabled {
		return nil, Reasonf(ENOTFOUND, ReasonUnknownService, "%s is no longer offered", svc.Name), nil
	}
	q, err := QuoteShort(*svc, v.AreaCode != "")
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return nil, fe, nil
		}
		return nil, nil, err
	}
	w, err := tx.WalletOf(ctx, v.UserID)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case w.Owed > 0:
		return nil, Reasonf(EPAYMENT, ReasonPaymentPaused, "purchases are paused: %s of a payment refunded or disputed after you spent it is still owed; contact support to settle it", Dollars(w.Owed)), nil
	case w.Balance < q.TotalCents:
		return nil, Errorf(EPAYMENT, "insufficient balance for a replacement: it costs %s and your balance is %s", Dollars(q.TotalCents), Dollars(w.Balance)), nil
	}
	id := NewID()
	numberID, e164, err := tx.TakeNumber(ctx, NumberPick{ServiceID: svc.ID, AreaCode: v.AreaCode}, verificationHolder(id), now)
	if errors.Is(err, ErrNoRow) {
		if v.AreaCode != "" {
			return nil, Reasonf(ECONFLICT, ReasonOutOfStock, "no other number for %s in area code %s right now", svc.Name, v.AreaCode), nil
		}
		return nil, Reasonf(ECONFLICT, ReasonOutOfStock, "no other number for %s right now", svc.Name), nil
	} else if err != nil {
		return nil, nil, err
	}
	r := &Verification{ID: id, UserID: v.UserID, ServiceID: svc.ID, ServiceSlug: svc.Slug, ServiceName: svc.Name, NumberID: numberID,
		Number: e164, AreaCode: v.AreaCode, Status: StatusWaiting, CostCents: q.TotalCents, CreatedAt: now, ExpiresAt: now.Add(VerificationWindow)}
	if err := debit(ctx, tx, &LedgerEntry{UserID: v.UserID, Kind: LedgerPurchase, AmountCents: -q.TotalCents, VerificationID: r.ID, CreatedAt: now}); err != nil {
		return nil, nil, err
	}
	return r, nil, tx.InsertVerification(ctx, r)
}

// VerificationReport returns the report of the user's verification as its first
// answer gave it (an Idempotency-Key's replay); ENOTFOUND when it was not reported.
func (a *App) VerificationReport(ctx context.Context, userID, id string) (*ReportResult, error) {
	rep, err := a.Store.NumberReportOf(ctx, userID, id)
	if err != nil {
		return nil, storageError("VerificationReport", err, "this verification was not reported")
	}
	out := &ReportResult{}
	if out.Refunded, err = a.Verification(ctx, userID, id); err != nil {
		return nil, err
	}
	if rep.ReplacementID == "" {
		out.NoReplacement = &ReplacementError{Code: rep.ReplacementCode, Detail: rep.ReplacementDetail}
		return out, nil
	}
	out.Replacement, err = a.Verification(ctx, userID, rep.ReplacementID)
	return out, err
}

// ReportRates returns the admins' view of reports: up to limit numbers, most
// reported first, and every gateway with a report.
func (a *App) ReportRates(ctx context.Context, limit int) (numbers, gateways []ReportRate, err error) {
	numbers, gateways, err = a.Store.ReportRates(ctx, limit)
	return numbers, gateways, storageError("ReportRates", err, "")
}
