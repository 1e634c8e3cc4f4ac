package fetchsms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Money a payment provider takes back after a deposit was credited: a refund (the
// provider's, or an admin's through the provider) or a dispute (a chargeback).
//
// A deposit keeps what the provider has taken back (RefundedCents,
// DisputedCents); the wallet gives up the same, in adjustment entries that name
// the deposit. The balance never goes below zero: what it cannot cover is owed
// (the deposit's OwedCents, the user's sum of them), and an account that owes
// cannot buy until an admin settles it, by collecting it from the balance or by
// forgiving it. A dispute that ends in our favour gives back what it took: first
// what is still owed, then what was forgiven, then the wallet.
//
// Every change is computed from the provider's totals, not from the event's
// order: a repeated or late event changes nothing more. (A provider reports a
// dispute as it stands when the event is read, so that a late "opened" event
// after the dispute was won takes nothing.)

// takeBack applies a refund or dispute event to the locked deposit d.
func takeBack(ctx context.Context, tx Tx, d *Deposit, ev *PaymentEvent, now time.Time) (string, error) {
	if d.Status != DepositSucceeded && d.Status != DepositRefunded && d.Status != DepositDisputed {
		return "deposit was never credited (" + d.Status + "); nothing to take back", nil
	}
	if ev.Currency != "usd" {
		return fmt.Sprintf("currency mismatch: %d %s taken back from a usd deposit; not applied", ev.AmountCents, ev.Currency), nil
	}
	refunded, disputed := d.RefundedCents, d.DisputedCents
	var why string
	switch ev.Outcome {
	case PaymentRefunded:
		// A total: refunds only grow, so an older event arriving late changes nothing.
		refunded, why = max(refunded, min(ev.AmountCents, d.AmountCents-disputed)), "refunded by "+d.Provider
	case PaymentDisputed, PaymentDisputeLost:
		disputed, why = min(max(ev.AmountCents, 0), d.AmountCents-refunded), "disputed at "+d.Provider
	case PaymentDisputeWon:
		disputed, why = 0, "dispute won at "+d.Provider
	}
	if refunded == d.RefundedCents && disputed == d.DisputedCents {
		return "already " + d.Status, nil
	}
	if err := setClaims(ctx, tx, d, refunded, disputed, why, now); err != nil {
		return "", err
	}
	result := d.Status
	if d.OwedCents > 0 {
		result += fmt.Sprintf("; %s owed", Dollars(d.OwedCents))
	}
	return result, nil
}

// setClaims moves the deposit's claims to refunded and disputed, and the wallet
// by the difference.
func setClaims(ctx context.Context, tx Tx, d *Deposit, refunded, disputed Cents, why string, now time.Time) error {
	before := d.RefundedCents + d.DisputedCents
	after := refunded + disputed
	d.RefundedCents, d.DisputedCents = refunded, disputed
	entry := func(amount Cents) *LedgerEntry {
		return &LedgerEntry{UserID: d.UserID, Kind: LedgerAdjustment, AmountCents: amount, DepositID: d.ID, CreatedAt: now,
			Reason: fmt.Sprintf("%s of a %s deposit %s", Dollars(abs(amount)), Dollars(d.AmountCents), why)}
	}
	var owed Cents
	switch {
	case after > before:
		// Take it from the wallet; what the balance cannot cover is owed.
		need := after - before
		taken, err := takeUpTo(ctx, tx, need, entry)
		if err != nil {
			return err
		}
		owed = need - taken
	case after < before:
		// Give it back: first what is still owed, then what was forgiven,
		// then to the wallet.
		back := before - after
		fromOwed := min(back, d.OwedCents)
		owed = -fromOwed
		back -= fromOwed
		fromForgiven := min(back, d.ForgivenCents)
		d.ForgivenCents -= fromForgiven
		back -= fromForgiven
		if back > 0 {
			if err := credit(ctx, tx, entry(back)); err != nil {
				return err
			}
		}
	}
	d.OwedCents += owed
	switch {
	case d.DisputedCents > 0:
		d.Status = DepositDisputed
	case d.RefundedCents > 0:
		d.Status = DepositRefunded
	default:
		d.Status = DepositSucceeded
	}
	if err := tx.SetDepositClaims(ctx, d); err != nil {
		return err
	}
	if owed != 0 {
		return tx.AddOwed(ctx, d.UserID, owed)
	}
	return nil
}

// takeUpTo takes up to amount from the wallet, as much as the balance holds,
// in an entry made by entry (given the negative amount); it returns what it took.
func takeUpTo(ctx context.Context, tx Tx, amount Cents, entry func(Cents) *LedgerEntry) (Cents, error) {
	applied, w, err := post(ctx, tx, entry(-amount))
	if err != nil || applied {
		return amount, err
	}
	if w.Balance == 0 {
		return 0, nil
	}
	if ok, _, err := post(ctx, tx, entry(-w.Balance)); err != nil || !ok {
		return 0, errors.Join(err, fmt.Errorf("debit of the whole balance %d was refused", w.Balance))
	}
	return w.Balance, nil
}

func abs(c Cents) Cents {
	if c < 0 {
		return -c
	}
	return c
}

// RefundDeposit gives a credited deposit's money back to the customer through its
// provider, and takes it from their wallet. Only a deposit with nothing taken
// back yet, of a customer whose balance still covers it, can be refunded: money
// they have spent is not refunded (ECONFLICT). The provider is asked first: when
// it refuses, nothing changes; when the wallet was spent meanwhile, what it
// cannot cover is owed. The provider's own refund event later changes nothing
// more.
func (a *App) RefundDeposit(ctx context.Context, depositID, reason string) (*Deposit, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		return nil, Errorf(EUNPROCESSABLE, "reason must be at most 500 characters")
	}
	d, err := a.Store.Deposit(ctx, depositID)
	if err != nil {
		return nil, storageError("RefundDeposit", err, "deposit not found")
	}
	if d.Status != DepositSucceeded || d.RefundedCents+d.DisputedCents > 0 {
		return nil, Errorf(ECONFLICT, "only a credited deposit with nothing refunded or disputed can be refunded; this one is %s", d.Status)
	}
	p := a.PaymentProvider(d.Provider)
	if p == nil {
		return nil, Errorf(ECONFLICT, "this deposit's provider (%s) is not configured on this server", d.Provider)
	}
	balance, err := a.Balance(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	if balance < d.AmountCents {
		return nil, Errorf(ECONFLICT, "the customer's balance (%s) cannot cover a refund of %s: they have spent it", Dollars(balance), Dollars(d.AmountCents))
	}
	if err := p.Refund(ctx, d); err != nil {
		return nil, err
	}
	why := "refunded by an admin"
	if reason != "" {
		why += ": " + reason
	}
	now := a.now()
	err = a.update(ctx, "RefundDeposit", func(tx Tx) error {
		if d, err = tx.LockDeposit(ctx, depositID); err != nil {
			return err
		}
		if target := d.AmountCents - d.DisputedCents; target > d.RefundedCents {
			return setClaims(ctx, tx, d, target, d.DisputedCents, why, now)
		}
		return nil // the provider's refund event came first
	})
	if err != nil {
		return nil, storageError("RefundDeposit", err, "deposit not found")
	}
	return d, nil
}

// Ways an admin settles what a customer owes for a deposit.
const (
	SettleCollect = "collect" // take it from the balance (as much as it holds)
	SettleForgive = "forgive" // write it off
)

// SettleDeposit settles what the deposit's customer still owes for it, with a
// reason: collect takes what it can from the balance; forgive writes the rest
// off. While anything is owed the customer cannot buy.
func (a *App) SettleDeposit(ctx context.Context, depositID, action, reason string) (*Deposit, error) {
	reason = strings.TrimSpace(reason)
	if action != SettleCollect && action != SettleForgive {
		return nil, Errorf(EUNPROCESSABLE, "action must be %q or %q", SettleCollect, SettleForgive)
	}
	if reason == "" || len(reason) > 500 {
		return nil, Errorf(EUNPROCESSABLE, "reason is required (1–500 characters)")
	}
	now := a.now()
	var d *Deposit
	err := a.update(ctx, "SettleDeposit", func(tx Tx) error {
		var err error
		if d, err = tx.LockDeposit(ctx, depositID); errors.Is(err, ErrNoRow) {
			return Errorf(ENOTFOUND, "deposit not found")
		} else if err != nil {
			return err
		}
		if d.OwedCents == 0 {
			return Errorf(ECONFLICT, "nothing is owed for this deposit")
		}
		var settled Cents
		if action == SettleForgive {
			settled = d.OwedCents
			d.ForgivenCents += settled
		} else {
			var err error
			settled, err = takeUpTo(ctx, tx, d.OwedCents, func(amount Cents) *LedgerEntry {
				return &LedgerEntry{UserID: d.UserID, Kind: LedgerAdjustment, AmountCents: amount, DepositID: d.ID, CreatedAt: now,
					Reason: "collected for a deposit taken back: " + reason}
			})
			if err != nil {
				return err
			}
			if settled == 0 {
				return Errorf(ECONFLICT, "the customer's balance is $0.00: nothing to collect (%s owed)", Dollars(d.OwedCents))
			}
		}
		d.OwedCents -= settled
		if err := tx.SetDepositClaims(ctx, d); err != nil {
			return err
		}
		return tx.AddOwed(ctx, d.UserID, -settled)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
