package fetchsms

import (
	"errors"
	"fmt"
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
}

func (e *Error) Error() string {
	s := e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted customer-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
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
	case errors.Is(err, ErrUnavailable):
		return EUNAVAILABLE, "the service is temporarily unavailable"
	case errors.Is(err, ErrNoRow):
		return ENOTFOUND, "not found"
	case errors.Is(err, ErrDuplicate):
		return ECONFLICT, "already exists"
	}
	return "", ""
}
