package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The words of an error answer's "code" (docs/ERRORS.md): stable, so a program
// branches on them rather than on the wording of Detail. New words may appear;
// treat an unknown one by its HTTP status.
const (
	CodeInvalidRequest      = "invalid_request"      // 400: malformed request
	CodeInvalidSignature    = "invalid_signature"    // 400: a provider's or gateway's signature does not check out
	CodeUnauthorized        = "unauthorized"         // 401: no credential, or an unknown, expired or revoked one
	CodeInsufficientBalance = "insufficient_balance" // 402: the wallet does not cover the purchase
	CodePurchasesPaused     = "purchases_paused"     // 402: money taken back by a payment provider is still owed
	CodeForbidden           = "forbidden"            // 403: a valid credential of the wrong kind or role
	CodeAccountDisabled     = "account_disabled"     // 403: the account is disabled
	CodeNotFound            = "not_found"            // 404: no such endpoint, or no such thing among yours
	CodeUnknownService      = "unknown_service"      // 404: no service by that id or slug
	CodeMethodNotAllowed    = "method_not_allowed"   // 405
	CodeOutOfStock          = "out_of_stock"         // 409: no number for that service (and area code) right now
	CodeAlreadyReceived     = "already_received"     // 409: the code arrived, so it cannot be cancelled
	CodeNotWaiting          = "not_waiting"          // 409: it already ended (expired, cancelled)
	CodeNoCodeYet           = "no_code_yet"          // 409: another code asked for before the first arrived
	CodeWindowClosed        = "window_closed"        // 409: another code asked for after expires_at
	CodeNumberUnavailable   = "number_unavailable"   // 409: another code asked for, but the number went to another purchase
	CodeConflict            = "conflict"             // 409: any other state that forbids the action
	CodeBodyTooLarge        = "body_too_large"       // 413
	CodeInvalidValue        = "invalid_value"        // 422: a well-formed value out of range
	CodeRateLimited         = "rate_limited"         // 429: wait RetryAfter
	CodeInternalError       = "internal_error"       // 500
	CodeProviderUnavailable = "provider_unavailable" // 502: a payment provider failed; nothing was charged
	CodeUnavailable         = "unavailable"          // 503: retry
)

// Codes lists every documented code, for a program that checks what it handles.
var Codes = []string{
	CodeInvalidRequest, CodeInvalidSignature, CodeUnauthorized, CodeInsufficientBalance, CodePurchasesPaused,
	CodeForbidden, CodeAccountDisabled, CodeNotFound, CodeUnknownService, CodeMethodNotAllowed, CodeOutOfStock,
	CodeAlreadyReceived, CodeNotWaiting, CodeNoCodeYet, CodeWindowClosed, CodeNumberUnavailable, CodeConflict, CodeBodyTooLarge, CodeInvalidValue, CodeRateLimited,
	CodeInternalError, CodeProviderUnavailable, CodeUnavailable,
}

// APIError is an error answer of the API: its HTTP status, and the body's
// machine-readable code and human-readable detail.
type APIError struct {
	Status int    // the HTTP status, such as 409
	Code   string // one of the Code… constants, such as CodeOutOfStock
	Detail string // for people; its wording may change
	// RetryAfter is the wait the server asked for (a 429's Retry-After), or 0.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("fetchsms: %d %s: %s", e.Status, e.Code, e.Detail)
}

// ErrorCode returns the Code of the *APIError in err's chain, or "" when there
// is none (a network failure, a cancelled context).
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// retryable says whether an answer of this status may be asked again: a 429
// (nothing was done) or a 5xx other than 501 (the server keeps no answer of a
// 5xx under an Idempotency-Key, so a retry runs the request afresh).
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}
