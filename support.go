package fetchsms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The support and admin rules: who may read and answer a ticket and what each
// reply does to its status, what the sales figures count, and which states an
// admin may give a pool number.

// Support ticket statuses: open waits for staff, answered waits for the customer,
// closed is done (a customer's reply reopens it).
const (
	TicketOpen     = "open"
	TicketAnswered = "answered"
	TicketClosed   = "closed"
)

// Ticket is a customer's support request and, when read one at a time, its thread.
type Ticket struct {
	ID             string
	UserID         string
	UserEmail      string // set on reads, for the staff queue
	Subject        string
	Status         string
	VerificationID string // the purchase it is about, if any
	RentalID       string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Messages       []*TicketMessage // oldest first; set by App.Ticket and CreateTicket only
}

// TicketMessage is one message of a ticket's thread.
type TicketMessage struct {
	ID        string
	TicketID  string
	AuthorID  string
	Staff     bool // written by an administrator
	Body      string
	CreatedAt time.Time
}

// TicketRequest opens a ticket.
type TicketRequest struct {
	Subject        string
	Body           string
	VerificationID string
	RentalID       string
}

// Limits on ticket text.
const (
	MaxTicketSubject = 200
	MaxTicketBody    = 10_000
)

// Validate trims the request and returns EINVALID for a missing subject or body, or
// both purchase ids at once; EUNPROCESSABLE for text over its limit.
func (r *TicketRequest) Validate() error {
	r.Subject = strings.TrimSpace(r.Subject)
	if r.Subject == "" {
		return Errorf(EINVALID, "subject is required")
	}
	if utf8.RuneCountInString(r.Subject) > MaxTicketSubject {
		return Errorf(EUNPROCESSABLE, "subject must be at most %d characters", MaxTicketSubject)
	}
	if r.VerificationID != "" && r.RentalID != "" {
		return Errorf(EINVALID, "a ticket is about one verification or one rental, not both")
	}
	var err error
	r.Body, err = ValidateTicketBody(r.Body)
	return err
}

// ValidateTicketBody trims a message body; EINVALID when empty, EUNPROCESSABLE over
// MaxTicketBody characters.
func ValidateTicketBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return "", Errorf(EINVALID, "body is required")
	}
	if utf8.RuneCountInString(body) > MaxTicketBody {
		return "", Errorf(EUNPROCESSABLE, "body must be at most %d characters", MaxTicketBody)
	}
	return body, nil
}

// TicketFilter selects tickets: one customer's (UserID), or everyone's for staff
// (UserID ""), optionally of one status.
type TicketFilter struct {
	UserID string
	Status string
}

// ServiceStats is one service's sales over a window, for the admin stats page.
type ServiceStats struct {
	ServiceID    int
	ServiceName  string
	Purchases    int           // verifications and rentals bought
	Received     int           // verifications that released a code
	Ended        int           // verifications received, expired or cancelled (success rate's base)
	RevenueCents Cents         // kept money: purchases minus their refunds
	MedianToCode time.Duration // median time from purchase to code; 0 without codes
}

// SuccessRate is Received / Ended, or 0 when nothing ended.
func (s ServiceStats) SuccessRate() float64 {
	if s.Ended == 0 {
		return 0
	}
	return float64(s.Received) / float64(s.Ended)
}

// PoolNumber is a number of the pool as the admin pages list it.
type PoolNumber struct {
	Number
	GatewayName string
}

// Pool number statuses.
const (
	NumberActive   = "active"
	NumberDisabled = "disabled"
)

// InboundLogEntry is one stored inbound SMS as the admin inbound log shows it.
type InboundLogEntry struct {
	ID              string
	GatewayID       string
	GatewayName     string
	To              string
	Sender          string
	Body            string
	Code            string // "" when none was detected
	ServiceID       int    // detected service; 0 when none
	ServiceName     string
	VerificationID  string // where it was routed; both "" when unrouted
	VerificationRef string
	RentalID        string
	RentalRef       string
	ReceivedAt      time.Time
	GatewayMsgID    string
	// Parts are the parts a long SMS was joined from, by index (multipart.go).
	Parts []*MessagePart
}

// UnmatchedMessage is an SMS a gateway sent for no number of its own (an
// unknown number, or a device slot that holds none), kept for admins.
type UnmatchedMessage struct {
	GatewayID, GatewayName string
	GatewayMsgID           string
	To                     string
	DeviceID               string
	SimSlot                int
	Sender, Body           string
	ReceivedAt, CreatedAt  time.Time
}

// Routed reports whether the message reached a verification or a rental.
func (e *InboundLogEntry) Routed() bool { return e.VerificationID != "" || e.RentalID != "" }

// SupportStore is the engine side of support tickets and the admin views,
// outside a transaction.
type SupportStore interface {
	// Tickets lists tickets newest first (by creation), with the cursor of the
	// next page: f.UserID's, or everyone's when it is "", of f.Status when set.
	Tickets(ctx context.Context, f TicketFilter, p Page) ([]*Ticket, int64, error)
	// LoadTicket returns a ticket, whoever's, with its messages oldest first;
	// ErrNoRow when none.
	LoadTicket(ctx context.Context, id string) (*Ticket, error)

	// VerificationSales and RentalSales count the verifications, or rentals,
	// bought since a time by service, status and (rentals) whether a refund was
	// paid, with the sum of their prices.
	VerificationSales(ctx context.Context, since time.Time) ([]SalesGroup, error)
	RentalSales(ctx context.Context, since time.Time) ([]SalesGroup, error)
	// CodeWaits lists how long each verification bought since a time that
	// received its code waited for it.
	CodeWaits(ctx context.Context, since time.Time) ([]CodeWait, error)

	// ListNumbers lists the pool newest first, with the cursor of the next page.
	ListNumbers(ctx context.Context, p Page) ([]*PoolNumber, int64, error)
	// ListInboundMessages lists every stored inbound SMS newest first, routed or
	// not, with the cursor of the next page.
	ListInboundMessages(ctx context.Context, p Page) ([]*InboundLogEntry, int64, error)
	// ListUnmatchedMessages lists the messages gateways sent for no number of
	// theirs, newest first.
	ListUnmatchedMessages(ctx context.Context, p Page) ([]*UnmatchedMessage, int64, error)
}

// SupportTx writes tickets, and the admins' switch of a pool number.
type SupportTx interface {
	// InsertTicket stores t (without its messages).
	InsertTicket(ctx context.Context, t *Ticket) error
	// InsertTicketMessage appends m to its ticket's thread.
	InsertTicketMessage(ctx context.Context, m *TicketMessage) error
	// LockTicket reads a ticket (without its messages), locking its row on
	// PostgreSQL; ErrNoRow when none.
	LockTicket(ctx context.Context, id string) (*Ticket, error)
	// SetTicketStatus sets a ticket's status, updated at now.
	SetTicketStatus(ctx context.Context, id, status string, now time.Time) error
	// SetNumberStatus sets a pool number's status; false when there is no such number.
	SetNumberStatus(ctx context.Context, numberID, status string) (bool, error)
}

// SalesGroup is a group of purchases as an engine counts them for
// ServiceStats: those of one service and status, refunded or not.
type SalesGroup struct {
	ServiceID int
	Status    string
	Refunded  bool // a refund was paid: rentals only (a verification's shows in its status)
	Count     int
	CostCents Cents // the sum of their prices
}

// CodeWait is how long a verification waited for its code.
type CodeWait struct {
	ServiceID int
	Millis    int64
}

func ticketNotFound() error { return Errorf(ENOTFOUND, "ticket not found") }

// CreateTicket opens a ticket with its first message. A verification or rental
// that is not the user's own is ENOTFOUND.
func (a *App) CreateTicket(ctx context.Context, userID string, req TicketRequest) (*Ticket, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	const op = "CreateTicket"
	if req.VerificationID != "" {
		if _, err := a.Store.LoadVerification(ctx, userID, req.VerificationID); err != nil {
			return nil, storageError(op, err, "verification not found")
		}
	}
	if req.RentalID != "" {
		if _, err := a.Store.LoadRental(ctx, userID, req.RentalID); err != nil {
			return nil, storageError(op, err, "rental not found")
		}
	}
	u, err := a.UserByID(ctx, userID)
	if err != nil {
		return nil, storageError(op, err, "user not found")
	}
	now := a.now()
	t := &Ticket{ID: NewID(), UserID: userID, UserEmail: u.Email, Subject: req.Subject, Status: TicketOpen,
		VerificationID: req.VerificationID, RentalID: req.RentalID, CreatedAt: now, UpdatedAt: now}
	m := &TicketMessage{ID: NewID(), TicketID: t.ID, AuthorID: userID, Body: req.Body, CreatedAt: now}
	err = a.update(ctx, op, func(tx Tx) error {
		if err := tx.InsertTicket(ctx, t); err != nil {
			return err
		}
		return tx.InsertTicketMessage(ctx, m)
	})
	if err != nil {
		return nil, err
	}
	t.Messages = []*TicketMessage{m}
	return t, nil
}

// Ticket returns a ticket with its messages, oldest first. userID "" reads any
// ticket (staff); another user's ticket is ENOTFOUND.
func (a *App) Ticket(ctx context.Context, userID, id string) (*Ticket, error) {
	t, err := a.Store.LoadTicket(ctx, id)
	if err == nil && userID != "" && t.UserID != userID {
		err = ErrNoRow
	}
	if err != nil {
		return nil, storageError("Ticket", err, "ticket not found")
	}
	return t, nil
}

// AddTicketMessage appends to a ticket's thread. Only its customer may reply,
// unless staff is set. A staff reply marks the ticket answered (it waits for the
// customer); a customer's marks it open (it waits for staff), reopening a closed
// one.
func (a *App) AddTicketMessage(ctx context.Context, userID, ticketID string, staff bool, body string) (*TicketMessage, error) {
	body, err := ValidateTicketBody(body)
	if err != nil {
		return nil, err
	}
	now := a.now()
	m := &TicketMessage{ID: NewID(), TicketID: ticketID, AuthorID: userID, Staff: staff, Body: body, CreatedAt: now}
	status := TicketOpen
	if staff {
		status = TicketAnswered
	}
	err = a.update(ctx, "AddTicketMessage", func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if errors.Is(err, ErrNoRow) || (err == nil && !staff && t.UserID != userID) {
			return ticketNotFound()
		} else if err != nil {
			return err
		}
		if err := tx.SetTicketStatus(ctx, ticketID, status, now); err != nil {
			return err
		}
		return tx.InsertTicketMessage(ctx, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// CloseTicket closes a ticket (staff); closing a closed one changes nothing.
func (a *App) CloseTicket(ctx context.Context, id string) (*Ticket, error) {
	now := a.now()
	err := a.update(ctx, "CloseTicket", func(tx Tx) error {
		t, err := tx.LockTicket(ctx, id)
		if errors.Is(err, ErrNoRow) {
			return ticketNotFound()
		} else if err != nil || t.Status == TicketClosed {
			return err
		}
		return tx.SetTicketStatus(ctx, id, TicketClosed, now)
	})
	if err != nil {
		return nil, err
	}
	return a.Ticket(ctx, "", id)
}

// ServiceStats returns per-service sales of the purchases made since a time,
// busiest first. Verification revenue is what codes earned (the others were
// refunded, or may still be); rental revenue is every rental not refunded so
// far. A verification has ended once received, expired or cancelled; the median
// time to code is over the verifications that received one.
func (a *App) ServiceStats(ctx context.Context, since time.Time) ([]ServiceStats, error) {
	const op = "ServiceStats"
	verifications, err := a.Store.VerificationSales(ctx, since)
	if err != nil {
		return nil, storageError(op, err, "")
	}
	rentals, err := a.Store.RentalSales(ctx, since)
	if err != nil {
		return nil, storageError(op, err, "")
	}
	waits, err := a.Store.CodeWaits(ctx, since)
	if err != nil {
		return nil, storageError(op, err, "")
	}
	services, err := a.Store.AllServices(ctx)
	if err != nil {
		return nil, storageError(op, err, "")
	}
	byID := map[int]*ServiceStats{}
	get := func(id int) *ServiceStats {
		if byID[id] == nil {
			byID[id] = &ServiceStats{ServiceID: id}
		}
		return byID[id]
	}
	for _, g := range verifications {
		s := get(g.ServiceID)
		s.Purchases += g.Count
		switch g.Status {
		case StatusReceived:
			s.Received += g.Count
			s.Ended += g.Count
			s.RevenueCents += g.CostCents
		case StatusExpired, StatusCancelled:
			s.Ended += g.Count
		}
	}
	for _, g := range rentals {
		s := get(g.ServiceID)
		s.Purchases += g.Count
		if !g.Refunded {
			s.RevenueCents += g.CostCents
		}
	}
	for _, svc := range services {
		if s := byID[svc.ID]; s != nil {
			s.ServiceName = svc.Name
		}
	}
	ms := map[int][]int64{}
	for _, w := range waits {
		ms[w.ServiceID] = append(ms[w.ServiceID], w.Millis)
	}
	return sortStats(byID, ms), nil
}

// SetNumberStatus sets a pool number NumberActive or NumberDisabled (anything
// else is EINVALID; an unknown id ENOTFOUND). A disabled number is never sold;
// one held when it is disabled stays held until its purchase ends.
func (a *App) SetNumberStatus(ctx context.Context, numberID string, status string) error {
	if status != NumberActive && status != NumberDisabled {
		return Errorf(EINVALID, "status must be %q or %q", NumberActive, NumberDisabled)
	}
	err := a.update(ctx, "SetNumberStatus", func(tx Tx) error {
		ok, err := tx.SetNumberStatus(ctx, numberID, status)
		if err == nil && !ok {
			return Errorf(ENOTFOUND, "number not found")
		}
		return err
	})
	if err != nil {
		return err
	}
	a.publish(ctx, StockChanged{})
	return nil
}

// sortStats finishes the per-service figures: each service's median wait (waits
// are purchase-to-code times in milliseconds, any order), busiest first.
func sortStats(byID map[int]*ServiceStats, waits map[int][]int64) []ServiceStats {
	out := make([]ServiceStats, 0, len(byID))
	for id, s := range byID {
		if w := waits[id]; len(w) > 0 {
			slices.Sort(w)
			m := w[len(w)/2]
			if len(w)%2 == 0 {
				m = (w[len(w)/2-1] + w[len(w)/2]) / 2
			}
			s.MedianToCode = time.Duration(m) * time.Millisecond
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ServiceStats) int {
		if a.Purchases != b.Purchases {
			return b.Purchases - a.Purchases
		}
		return a.ServiceID - b.ServiceID
	})
	return out
}
