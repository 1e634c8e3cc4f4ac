package fetchsms

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes: a closed set. Each maps to one HTTP status in http/errors.go.
const (
	EINVALID       = "invalid"       // 400: malformed input or a business-rule violation
	EUNAUTHORIZED  = "unauthorized"  // 401: missing, unknown, expired or revoked credential
	EPAYMENT       = "payment"       // 402: balance too low for the purchase
	EFORBIDDEN     = "forbidden"     // 403: valid credential of the wrong kind or role
	ENOTFOUND      = "not_found"     // 404: unknown service, or a resource the caller does not own
	ECONFLICT      = "conflict"      // 409: out of stock, or a state that forbids the action
	ETOOLARGE      = "too_large"     // 413: request body over the cap
	EUNPROCESSABLE = "unprocessable" // 422: invalid duration or parameter value
	ERATELIMIT     = "rate_limited"  // 429: too many requests
	EINTERNAL      = "internal"      // 500: a bug or an unavailable dependency; never shown in detail
	EUPSTREAM      = "upstream"      // 502: a provider we depend on (payments) failed or could not be reached
	EUNAVAILABLE   = "unavailable"   // 503: storage has failed or cannot be reached
)

// Error is the application error. Message is safe to show to the customer; Op and Err
// are for logs.
type Error struct {
	Code    string
	Message string
	Op      string
	Err     error
	// Reason is the stable machine-readable word of the answer's "code" (see
	// Reasons); "" takes the default of Code.
	Reason string
	// RetryAfter, when set, is how long a client should wait before it tries
	// again (the answer's Retry-After header).
	RetryAfter time.Duration
}

// RetryAfterOf is how long the client should wait before retrying after err: the
// RetryAfter of its *Error, else UnavailableRetryAfter for storage that cannot
// serve, else 0 (no advice).
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	if ErrorCode(err) == EUNAVAILABLE {
		return UnavailableRetryAfter
	}
	return 0
}

// UnavailableRetryAfter is the pause advised with an EUNAVAILABLE answer: storage
// that is down or restarting is retried soon, not hammered.
const UnavailableRetryAfter = time.Second

func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{e.Op, e.Message} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	return strings.Join(parts, ": ")
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted customer-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Reasonf returns an *Error with code, a machine-readable reason and a
// formatted customer-facing message.
func Reasonf(code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Reasons are the words of an error answer's "code", by the error's code: the
// default of each class, then the specific ones. Stable: clients branch on
// them. docs/ERRORS.md lists them with their statuses.
var Reasons = map[string]string{
	EINVALID:       "invalid_request",
	EUNAUTHORIZED:  "unauthorized",
	EPAYMENT:       "insufficient_balance",
	EFORBIDDEN:     "forbidden",
	ENOTFOUND:      "not_found",
	ECONFLICT:      "conflict",
	ETOOLARGE:      "body_too_large",
	EUNPROCESSABLE: "invalid_value",
	ERATELIMIT:     "rate_limited",
	EINTERNAL:      "internal_error",
	EUPSTREAM:      "provider_unavailable",
	EUNAVAILABLE:   "unavailable",
}

// Specific reasons.
const (
	ReasonOutOfStock      = "out_of_stock"      // 409: no number for this service (and area code) now
	ReasonAlreadyReceived = "already_received"  // 409: the code (a rental: a message) arrived; no cancel
	ReasonNotWaiting      = "not_waiting"       // 409: expired, cancelled or changed meanwhile
	ReasonUnknownService  = "unknown_service"   // 404: no service by that id or slug
	ReasonPaymentPaused   = "purchases_paused"  // 402: money taken back by a provider is still owed
	ReasonAccountDisabled = "account_disabled"  // 403: the account is disabled
	ReasonBadSignature    = "invalid_signature" // 400/401: a provider's or gateway's signature does not check out
	// ReasonAboveMaxPrice: 409, the purchase costs more than the buyer's maximum.
	// Only the SMS-Activate protocol sets a maximum (its max_price): that
	// protocol answers it with its own word; the JSON API never does.
	ReasonAboveMaxPrice = "above_max_price"
	// Another code on the same number (resend) and reports of refused numbers.
	ReasonNoCodeYet         = "no_code_yet"        // 409: resend before the first code
	ReasonWindowClosed      = "window_closed"      // 409: resend after expires_at
	ReasonNumberUnavailable = "number_unavailable" // 409: resend, but the number went to another purchase or off sale
)

// ErrorReason returns the machine-readable word of err's answer: the first
// *Error's Reason, else the default of its code.
func ErrorReason(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Reason != "" && e.Code != EINTERNAL {
		return e.Reason
	}
	return Reasons[ErrorCode(err)]
}

// ErrorCode returns the code of the first *Error in err's chain; for an engine's
// sentinel that reached the caller untranslated (a read passed through), its
// code; EINTERNAL for any other non-nil error; and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	if c, _ := sentinelCode(err); c != "" {
		return c
	}
	return EINTERNAL
}

// ErrorMessage returns the customer-facing message of err; internal errors get a
// generic text so causes never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" && e.Code != EINTERNAL && e.Message != "" {
		return e.Message
	}
	if _, m := sentinelCode(err); m != "" {
		return m
	}
	return "internal error"
}

// sentinelCode is the code and generic message of an engine's sentinel in err.
func sentinelCode(err error) (code, message string) {
	switch {
	case errors.Is(err, ErrStorageFull):
		return EUNAVAILABLE, "the service cannot save changes right now (its storage is full); reading works; retry later"
	case errors.Is(err, ErrReadOnly):
		return EUNAVAILABLE, "the service cannot save changes right now (its storage is read-only); reading works; retry later"
	case errors.Is(err, ErrUnavailable):
		return EUNAVAILABLE, "the service is temporarily unavailable"
	case errors.Is(err, ErrNoRow):
		return ENOTFOUND, "not found"
	case errors.Is(err, ErrDuplicate):
		return ECONFLICT, "already exists"
	}
	return "", ""
}
