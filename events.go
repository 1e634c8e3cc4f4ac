package fetchsms

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The account's event log: every event the App announces (webhook.go) is
// written to it in the transaction of the change it announces, and the
// Server-Sent Events stream (GET /v1/events) reads it in commit order by its
// sequence number, so a client that reconnects with the last number it saw
// (Last-Event-ID) misses nothing and sees nothing twice, across restarts and
// across servers sharing one PostgreSQL. Events are kept for EventRetention.

// EventVerificationUpdated announces a verification's change of status
// (received, cancelled, expired). It is on the stream only: webhook endpoints
// are sent EventTypes.
const EventVerificationUpdated = "verification.updated"

// StreamEventTypes are the event types on the stream: every webhook event, and
// verification.updated.
var StreamEventTypes = append(append([]string(nil), EventTypes...), EventVerificationUpdated)

// EventRetention is how long the log keeps an event (and a settled webhook
// delivery of it): a stream can resume from any point within it.
const EventRetention = 30 * 24 * time.Hour

// MaxStreamBatch is the most events one read of the log returns.
const MaxStreamBatch = 100

// EventStore reads the event log.
type EventStore interface {
	// EventsAfter returns up to limit of the user's events of the given types
	// with Seq > after, oldest first. Within one user, Seq order is commit
	// order: an event read later never has a lower Seq than one read earlier.
	EventsAfter(ctx context.Context, userID string, after int64, types []string, limit int) ([]*Event, error)
	// LastEventSeq is the Seq of the user's newest event (0 when none).
	LastEventSeq(ctx context.Context, userID string) (int64, error)
	// PruneEvents deletes up to limit events created before cutoff whose
	// deliveries are all settled (delivered or failed), with those deliveries
	// and their attempts, and returns how many events it deleted.
	PruneEvents(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// ParseEventID reads a stream position (Last-Event-ID): "" is none (ok false),
// else a decimal sequence number; anything else is EUNPROCESSABLE.
func ParseEventID(s string) (seq int64, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || n < 0 || s[0] < '0' || s[0] > '9' {
		return 0, false, Errorf(EUNPROCESSABLE, "Last-Event-ID must be the id of an event this stream sent (a whole number), or absent")
	}
	return n, true, nil
}

// StreamStart is where a stream begins: after the given position, or (none
// given) after the account's newest event, so that only new events follow.
func (a *App) StreamStart(ctx context.Context, userID string, lastEventID string) (int64, error) {
	seq, ok, err := ParseEventID(lastEventID)
	if err != nil || ok {
		return seq, err
	}
	seq, err = a.Store.LastEventSeq(ctx, userID)
	return seq, storageError("StreamStart", err, "")
}

// EventsAfter returns up to MaxStreamBatch of the user's stream events after
// position after, oldest first.
func (a *App) EventsAfter(ctx context.Context, userID string, after int64) ([]*Event, error) {
	evs, err := a.Store.EventsAfter(ctx, userID, after, StreamEventTypes, MaxStreamBatch)
	return evs, storageError("EventsAfter", err, "")
}

// PruneEvents deletes events older than EventRetention, in batches of limit,
// and returns how many it deleted.
func (a *App) PruneEvents(ctx context.Context, limit int) (int, error) {
	cutoff := a.clock.Now().Add(-EventRetention)
	total := 0
	for {
		n, err := a.Store.PruneEvents(ctx, cutoff, limit)
		total += n
		if err != nil || n < limit {
			return total, storageError("PruneEvents", err, "")
		}
	}
}

// VerificationUpdatedEvent announces a verification's new status.
func VerificationUpdatedEvent(v *Verification, now time.Time) *Event {
	var code *string
	if v.Code != "" {
		code = &v.Code
	}
	return newEvent(v.UserID, EventVerificationUpdated, struct {
		VerificationID string  `json:"verification_id"`
		Ref            string  `json:"ref"`
		Number         string  `json:"number"`
		Status         string  `json:"status"`
		Code           *string `json:"code"`
		Link           *string `json:"link"`
	}{v.ID, v.Ref, FormatUS(v.Number), v.Status, code, nilIfEmpty(v.Link)}, now)
}
