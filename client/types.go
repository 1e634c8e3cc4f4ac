package client

import (
	"encoding/json"
	"strconv"
	"time"
)

// ServiceRef names a service: its stable numeric id ("4", the recommended
// reference) or its slug ("telegram"). It is sent as a JSON number when it is
// all digits, else as a string.
type ServiceRef string

// ServiceID returns the reference of the service with numeric id.
func ServiceID(id int) ServiceRef { return ServiceRef(strconv.Itoa(id)) }

// MarshalJSON writes a numeric reference as a number, any other as a string.
func (r ServiceRef) MarshalJSON() ([]byte, error) {
	if n, err := strconv.ParseUint(string(r), 10, 31); err == nil && string(r) == strconv.FormatUint(n, 10) {
		return []byte(string(r)), nil
	}
	return json.Marshal(string(r))
}

// UnlimitedServices is the long-term rental product (id 1).
const UnlimitedServices ServiceRef = "1"

// Statuses of a verification or a rental.
const (
	StatusWaiting   = "waiting"   // nothing received yet
	StatusReceived  = "received"  // a code (a rental: a message) arrived
	StatusExpired   = "expired"   // the window or term ended (refunded when nothing arrived)
	StatusCancelled = "cancelled" // cancelled and refunded
)

// Service is one entry of the catalog.
type Service struct {
	ID         int    `json:"id"`
	Slug       string `json:"slug"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"` // the verification price, and the long-term base daily rate
	// LongPrices is the term (days) → price map of the long-term product; empty
	// for every other service.
	LongPrices     map[string]int64 `json:"long_prices"`
	ShortAvailable int              `json:"short_available"`
	LongAvailable  int              `json:"long_available"`
}

// Quote is the exact price of a purchase (GET /v1/services/quote).
type Quote struct {
	Service        string `json:"service"`
	Mode           string `json:"mode"`
	Days           *int   `json:"days"` // nil for a verification
	BaseDailyCents int64  `json:"base_daily_cents"`
	DiscountPct    int    `json:"discount_pct"`
	PerDayCents    *int64 `json:"per_day_cents"` // nil for a verification
	SurchargeCents int64  `json:"surcharge_cents"`
	TotalCents     int64  `json:"total_cents"`
}

// Verification is a short-term number bought for one code of one service.
type Verification struct {
	ID          string `json:"id"`
	Ref         string `json:"ref"`
	Service     string `json:"service"` // the slug
	ServiceName string `json:"service_name"`
	Number      string `json:"number"` // as displayed: "(332) 555-0184"
	// NumberE164 is the number as "+13325550184", from servers that send it.
	NumberE164 string `json:"number_e164,omitempty"`
	Code       string `json:"code"` // "" until a code arrives; the newest
	// Codes are every code received, oldest first (several after a resend).
	Codes []string `json:"codes,omitempty"`
	// Link is the sign-in link released with (or instead of) a code, "" when
	// none: a service that signs in by link sends no code.
	Link      string    `json:"link,omitempty"`
	Status    string    `json:"status"`
	CostCents int64     `json:"cost_cents"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Rental is a long-term number, exclusive for its term.
type Rental struct {
	ID           string    `json:"id"`
	Ref          string    `json:"ref"`
	Service      string    `json:"service"`
	ServiceName  string    `json:"service_name"`
	Number       string    `json:"number"`
	NumberE164   string    `json:"number_e164,omitempty"`
	DurationDays int       `json:"duration_days"`
	ExtendedDays int       `json:"extended_days"` // days added by extensions
	LastCode     string    `json:"last_code"`     // "" while no message had a code
	Status       string    `json:"status"`
	CostCents    int64     `json:"cost_cents"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// Message is an SMS received on a rental's number.
type Message struct {
	ID         string    `json:"id"`
	Sender     string    `json:"sender"`
	Body       string    `json:"body"`
	Code       string    `json:"code"`           // "" when the message has none
	Link       string    `json:"link,omitempty"` // its sign-in link, "" when none
	ReceivedAt time.Time `json:"received_at"`
}

// Balance is the wallet's balance.
type Balance struct {
	BalanceCents int64  `json:"balance_cents"`
	Currency     string `json:"currency"`
}

// Deposit is money put into the wallet through a payment provider.
type Deposit struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"` // pending, succeeded, failed, refunded, disputed
	AmountCents   int64     `json:"amount_cents"`
	Provider      string    `json:"provider"`
	CheckoutURL   string    `json:"checkout_url"` // where the customer pays; "" when none is needed
	RefundedCents int64     `json:"refunded_cents"`
	DisputedCents int64     `json:"disputed_cents"`
	OwedCents     int64     `json:"owed_cents"`
	CreatedAt     time.Time `json:"created_at"`
}

// LedgerEntry is one change of the wallet's balance.
type LedgerEntry struct {
	ID                string    `json:"id"`
	Kind              string    `json:"kind"` // deposit, purchase, refund, adjustment
	AmountCents       int64     `json:"amount_cents"`
	BalanceAfterCents int64     `json:"balance_after_cents"`
	VerificationID    string    `json:"verification_id,omitempty"`
	RentalID          string    `json:"rental_id,omitempty"`
	DepositID         string    `json:"deposit_id,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

// ListOptions selects one page of a list, newest first.
type ListOptions struct {
	Limit  int    // 1–200; 0 is the server's default (50)
	Cursor string // the NextCursor of the previous page; "" for the first
}

// Page is one page of a list: its items, newest first, and the cursor of the
// next page ("" when this is the last).
type Page[T any] struct {
	Items      []T
	NextCursor string
}
