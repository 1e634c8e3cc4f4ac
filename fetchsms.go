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

// SteadyClock is the wall clock as it read when the clock was made, advanced by
// the monotonic clock since: a step of the system clock (set by hand, by a
// virtual machine's resume, by an NTP step) does not move it, so purchases do not
// expire early when the clock jumps forward nor late when it jumps back, and the
// expiry sweep never stalls. Gradual corrections (NTP slewing) move both clocks
// alike and are followed. A server re-reads the wall clock when it starts.
type SteadyClock struct {
	anchor  time.Time
	elapsed func() time.Duration
}

// NewSteadyClock returns a SteadyClock anchored at this moment.
func NewSteadyClock() *SteadyClock {
	start := time.Now() // carries a monotonic reading: time.Since(start) ignores steps
	return SteadyClockFrom(start, func() time.Duration { return time.Since(start) })
}

// SteadyClockFrom returns a SteadyClock anchored at wall time anchor that
// advances by elapsed (monotonic time since the anchor was read).
func SteadyClockFrom(anchor time.Time, elapsed func() time.Duration) *SteadyClock {
	return &SteadyClock{anchor: anchor.Round(0).UTC(), elapsed: elapsed}
}

// Now returns the anchor plus the monotonic time elapsed since, in UTC.
func (c *SteadyClock) Now() time.Time { return c.anchor.Add(c.elapsed()) }

// VerificationWindow is how long a short-term verification waits for its code.
const VerificationWindow = 15 * time.Minute

// AreaCodeSurchargeCents is the flat surcharge for choosing an area code, on either product.
const AreaCodeSurchargeCents Cents = 10

// UnlimitedServiceID is the stable id of the long-term "unlimited-services" product.
const UnlimitedServiceID = 1

// OtherServiceID is the "Other / any service not listed" verification: it
// releases the first code-bearing message whose sender and wording name no
// service of the catalog (see deliverToVerification and docs/CATALOG.md).
const OtherServiceID = 676

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
