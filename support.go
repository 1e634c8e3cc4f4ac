package fetchsms

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

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
	Messages       []*TicketMessage // oldest first; set by Store.Ticket only
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
}

// Routed reports whether the message reached a verification or a rental.
func (e *InboundLogEntry) Routed() bool { return e.VerificationID != "" || e.RentalID != "" }

// SortStats finishes the engines' per-service figures: each service's median wait
// (waits are purchase-to-code times in milliseconds, any order), busiest first.
func SortStats(byID map[int]*ServiceStats, waits map[int][]int64) []ServiceStats {
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
