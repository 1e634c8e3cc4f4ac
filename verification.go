package fetchsms

import "time"

// Statuses shared by verifications and rentals.
const (
	StatusWaiting   = "waiting"
	StatusReceived  = "received"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
)

// Verification is a short-term purchase: one number, one code from one service.
//
// waiting → received (the code arrived; charged), expired (window closed; refunded)
// or cancelled (by the customer; refunded). received → waiting again when the
// customer asks for another code inside the window (resend: no charge, and no
// refund ever after, since a code arrived); that wait ends as received again, with
// the next code or without one.
type Verification struct {
	ID          string
	Ref         string
	UserID      string
	ServiceID   int
	ServiceSlug string
	ServiceName string
	NumberID    string
	Number      string   // E.164
	AreaCode    string   // "" when none was asked for
	Code        string   // the newest code; "" until the first
	Codes       []string // every code received, oldest first
	// Link is the sign-in or verification link of the message that released
	// the verification last ("" when it had none): a message whose only secret
	// is a link is released too (inbound.go).
	Link       string
	Status     string
	CostCents  Cents
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ReceivedAt time.Time // zero until received
}

// Released reports whether the verification has handed its customer a secret —
// a code or a sign-in link — and so was charged: it is never refunded after.
func (v *Verification) Released() bool { return v.Code != "" || v.Link != "" }

// RefAlphabet is the alphabet of public refs: a verification's ref is "v_" and
// six of its characters ("v_8R3p2K"), unique among verifications.
const RefAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// VerificationRequest is the body of POST /v1/verifications, after parsing.
type VerificationRequest struct {
	Service  string // numeric id or slug
	AreaCode string
	// MaxPriceCents, when set, is the most the buyer will pay: a purchase that
	// would cost more is refused (the SMS-Activate protocol's max_price).
	MaxPriceCents *Cents
}

// Validate checks the fields that need no storage.
func (r VerificationRequest) Validate() error {
	if r.Service == "" {
		return Errorf(EINVALID, "service is required")
	}
	if r.AreaCode != "" && !ValidAreaCode(r.AreaCode) {
		return Errorf(EUNPROCESSABLE, "area_code must be a 3-digit US area code such as \"332\"")
	}
	if r.MaxPriceCents != nil && *r.MaxPriceCents < 0 {
		return Errorf(EUNPROCESSABLE, "the maximum price cannot be negative")
	}
	return nil
}

// Rental is a long-term purchase: one exclusive number for a term, any service.
//
// waiting → received (first code) → expired (term over); waiting → expired
// (term over without a code; refunded) or cancelled (by the customer; refunded).
type Rental struct {
	ID           string
	Ref          string
	UserID       string
	ServiceID    int
	ServiceSlug  string
	ServiceName  string
	NumberID     string
	Number       string
	AreaCode     string
	DurationDays int // the term bought
	ExtendedDays int // days added since (POST /v1/rentals/{id}/extend)
	LastCode     string
	Status       string
	CostCents    Cents
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// RentalRequest is the body of POST /v1/rentals, after parsing.
type RentalRequest struct {
	Service  string
	Days     int
	AreaCode string
}

// Validate checks the fields that need no storage.
func (r RentalRequest) Validate() error {
	if r.Service == "" {
		return Errorf(EINVALID, "service is required")
	}
	if !ValidRentalTerm(r.Days) {
		return Errorf(EUNPROCESSABLE, "unsupported duration %d: days must be one of 1, 7, 30, 90, 365", r.Days)
	}
	if r.AreaCode != "" && !ValidAreaCode(r.AreaCode) {
		return Errorf(EUNPROCESSABLE, "area_code must be a 3-digit US area code such as \"415\"")
	}
	return nil
}

// Message is one inbound SMS as stored.
type Message struct {
	ID              string
	GatewayID       string
	GatewayMsgID    string
	To              string
	NumberID        string
	Sender          string
	Body            string
	Code            string
	Link            string // the sign-in or verification link, "" when none
	DetectedService int
	ReceivedAt      time.Time // as the gateway says
	CreatedAt       time.Time // when it was stored
	VerificationID  string    // routed to, if any
	RentalID        string
}

// InboundSMS is what a gateway posts.
type InboundSMS struct {
	ID         string
	To         string // the receiving number; "" when DeviceID and SimSlot name it
	DeviceID   string // the gateway's device and SIM slot (or port) it arrived on,
	SimSlot    int    // as set at import, for software that names no number
	From       string
	Body       string
	ReceivedAt time.Time // zero → now
	// Part is set when the gateway forwards one part of a long (concatenated)
	// SMS by itself: the parts are joined before detection (multipart.go).
	Part *SMSPart
}

// InboundResult is the answer to an inbound SMS (the same for a repeat).
type InboundResult struct {
	MessageID      string // "" while a part waits for the rest of its message
	VerificationID string
	RentalID       string
	// PartsReceived of PartsCount parts of a long SMS are in, while it waits
	// for the rest (both 0 otherwise).
	PartsReceived, PartsCount int

	userID string // the purchase's owner, when this SMS reached one
	// delivered is the code this message released, for the announcement
	// (nil when it released none, and in a repeated message's answer).
	delivered *CodeDelivered
}
