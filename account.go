package fetchsms

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Roles.
const (
	RoleCustomer = "customer"
	RoleAdmin    = "admin"
)

// User is an account.
type User struct {
	ID           string
	Email        string
	Role         string
	BalanceCents Cents
	Disabled     bool
	CreatedAt    time.Time
}

// Credential kinds: never interchangeable.
const (
	KindAPIKey  = "api_key"
	KindSession = "session"
	KindGateway = "gateway"
)

// Token prefixes, one per credential kind.
const (
	PrefixAPIKey  = "fsk_"
	PrefixSession = "fss_"
	PrefixGateway = "fsg_"
)

// Principal is who a request acts for, after authentication.
type Principal struct {
	Kind         string // KindAPIKey, KindSession or KindGateway
	CredentialID string
	User         *User    // nil for gateways
	Gateway      *Gateway // nil for users
}

// APIKey is a customer's programmatic credential; the secret is never stored.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // first characters of the key, to recognise it
	CreatedAt  time.Time
	RevokedAt  time.Time
	LastUsedAt time.Time
	Key        string // only set in the answer that creates it
}

// Session is a logged-in person's credential.
type Session struct {
	ID        string
	UserID    string
	Token     string // only set at login
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionLifetime is how long a login lasts.
const SessionLifetime = 30 * 24 * time.Hour

// Gateway is an SMS gateway that posts inbound messages for its own numbers.
type Gateway struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	Token      string    // only set in the answer that creates or rotates it
	Disabled   bool      // its token is refused and its messages too
	LastSeenAt time.Time // its last message or heartbeat; zero: never heard from
	Signs      bool      // its token is kept (sealed) to check the signatures of signed gateway software
	// WithdrawnAt is when its numbers were withdrawn from sale (it was
	// disabled, or silent past the limit: health.go); zero while they are listed.
	WithdrawnAt time.Time
}

// Ledger entry kinds.
const (
	LedgerDeposit    = "deposit"
	LedgerPurchase   = "purchase"
	LedgerRefund     = "refund"
	LedgerAdjustment = "adjustment"
)

// LedgerEntry is one immutable change to a wallet.
type LedgerEntry struct {
	ID                string
	UserID            string
	Kind              string
	AmountCents       Cents // signed
	BalanceAfterCents Cents
	VerificationID    string
	RentalID          string
	DepositID         string
	Reason            string
	CreatedAt         time.Time
	// ServiceName and Number name what a purchase's entry was for (the
	// verification's or rental's service and number); filled by Ledger, ""
	// on other entries.
	ServiceName string
	Number      string
}

// Deposit is a top-up through a payment provider.
type Deposit struct {
	ID          string
	UserID      string
	AmountCents Cents
	Status      string // pending → succeeded or failed; succeeded → refunded or disputed
	Provider    string
	ProviderRef string
	CheckoutURL string
	CreatedAt   time.Time
	// PaymentRef is the provider's payment object (Stripe's PaymentIntent), by
	// which its refund and dispute events name the deposit; "" until paid.
	PaymentRef string
	// What the provider took back after the credit: refunds and open or lost
	// disputes. OwedCents is the part the wallet could not cover yet (the
	// account cannot buy while it owes); ForgivenCents what an admin wrote off.
	RefundedCents, DisputedCents, OwedCents, ForgivenCents Cents
	// ReturnURL is where a hosted checkout sends the customer back (not stored).
	ReturnURL string
}

// Deposit statuses.
const (
	DepositPending   = "pending"
	DepositSucceeded = "succeeded" // credited
	DepositFailed    = "failed"
	DepositRefunded  = "refunded"
	DepositDisputed  = "disputed"
)

// Page asks for one page of a newest-first list.
type Page struct {
	Limit  int
	Cursor int64 // 0: from the newest
	// Query narrows the admins' lists of users (a part of the email, lower
	// case) and of numbers (a part of the number's digits); "" lists all.
	// Other lists ignore it. Set it with AdminSearch.
	Query string
}

// AdminSearch reads an admin's search of the users or numbers list: trimmed,
// lower case, at most 100 bytes of UTF-8 (else EINVALID). For numbers only
// its digits count, a leading US 1 dropped when ten follow ("(212) 555-01"
// finds +1212555010x).
func AdminSearch(q string, numbers bool) (string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if len(q) > 100 || !utf8.ValidString(q) {
		return "", Errorf(EINVALID, "q must be at most 100 bytes of text")
	}
	if !numbers {
		return q, nil
	}
	var b strings.Builder
	for _, r := range q {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if d == "" && q != "" {
		return "", Errorf(EINVALID, "search numbers by their digits, such as 212555")
	}
	return d, nil
}

// Number is a phone number of the pool.
type Number struct {
	ID        string
	E164      string
	GatewayID string
	Status    string // active, disabled
	Holder    string // "verification:<id>" / "rental:<id>" or ""
	Pristine  bool
	Withdrawn bool   // its gateway is disabled or silent: not for sale meanwhile
	DeviceID  string // where it lives on its gateway ("" when not said)
	SimSlot   int
	CreatedAt time.Time
}
