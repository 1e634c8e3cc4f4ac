// Package fetchsms holds the domain of Fetch SMS: money, the catalog, verifications,
// rentals, accounts and credentials, and the one error type every layer speaks.
// Adapters (sqlite/, http/, sandbox/, detect/) meet in these types and never import
// each other's internals.
package fetchsms

import "time"

// Clock is the one source of business time. Every rule that reads time (expiry,
// rental terms, the times shown to customers) takes it from a Clock, so the
// sandbox's test clock is just another implementation.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// VerificationWindow is how long a short-term verification waits for its code.
const VerificationWindow = 15 * time.Minute

// AreaCodeSurchargeCents is the flat surcharge for choosing an area code, on either product.
const AreaCodeSurchargeCents Cents = 10

// UnlimitedServiceID is the stable id of the long-term "unlimited-services" product.
const UnlimitedServiceID = 1

// RentalTerms are the only rental lengths sold, in days.
var RentalTerms = []int{1, 7, 30, 90, 365}

// ValidRentalTerm reports whether days is one of RentalTerms.
func ValidRentalTerm(days int) bool {
	for _, d := range RentalTerms {
		if d == days {
			return true
		}
	}
	return false
}
