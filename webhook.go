package fetchsms

import (
	"encoding/json"
	"time"
)

// Event types.
const (
	EventSMSReceived   = "sms.received"
	EventRentalExpired = "rental.expired"
	EventTest          = "webhook.test"
)

// EventTypes are the events an endpoint may subscribe to.
var EventTypes = []string{EventSMSReceived, EventRentalExpired}

// WebhookEndpoint is a customer's receiver of events.
type WebhookEndpoint struct {
	ID             string
	UserID         string
	URL            string
	Secret         string
	Events         []string // empty: every event
	Enabled        bool
	DisabledReason string
	FailingSince   time.Time
	CreatedAt      time.Time
}

// Wants reports whether the endpoint subscribes to event type t.
func (e *WebhookEndpoint) Wants(t string) bool {
	if t == EventTest || len(e.Events) == 0 {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

// ValidateEvents checks an endpoint's subscription list.
func ValidateEvents(events []string) error {
	for _, ev := range events {
		ok := false
		for _, t := range EventTypes {
			ok = ok || ev == t
		}
		if !ok {
			return Errorf(EUNPROCESSABLE, "unknown event %q: events are sms.received and rental.expired", ev)
		}
	}
	return nil
}

// Event is one announcement, with its exact JSON body.
type Event struct {
	ID        string
	UserID    string
	Type      string
	Payload   []byte
	CreatedAt time.Time
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID            string
	EventID       string
	EventType     string
	EndpointID    string
	URL           string
	Secret        string
	Payload       []byte
	Status        string // pending, delivered, failed
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	CreatedAt     time.Time
	History       []DeliveryAttempt
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// DeliveryAttempt is one POST to a receiver.
type DeliveryAttempt struct {
	At         time.Time
	StatusCode int    // 0 when no response came
	Error      string // "" on success
	Latency    time.Duration
}

// OK reports whether the receiver accepted the delivery (any 2xx).
func (a DeliveryAttempt) OK() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// RetrySchedule is the wait before each retry: about 27 hours in all, so a receiver
// that is down for a day still gets every event. Jitter of up to a fifth is added.
var RetrySchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 6 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// DisableAfter is how long an endpoint may fail without a single success before it
// is disabled.
const DisableAfter = 3 * 24 * time.Hour

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type eventBody struct {
	Event     string `json:"event"`
	Data      any    `json:"data"`
	CreatedAt string `json:"created_at"`
}

func newEvent(userID, typ string, data any, now time.Time) *Event {
	b, _ := json.MarshalIndent(eventBody{Event: typ, Data: data, CreatedAt: stamp(now)}, "", "  ")
	return &Event{UserID: userID, Type: typ, Payload: b, CreatedAt: now}
}

// VerificationSMSEvent announces a code released to a verification: the code only,
// never the body.
func VerificationSMSEvent(v *Verification, sender, code, detected string, received, now time.Time) *Event {
	return newEvent(v.UserID, EventSMSReceived, struct {
		VerificationID  string `json:"verification_id"`
		Ref             string `json:"ref"`
		Number          string `json:"number"`
		Sender          string `json:"sender"`
		Code            string `json:"code"`
		DetectedService string `json:"detected_service"`
		ReceivedAt      string `json:"received_at"`
	}{v.ID, v.Ref, FormatUS(v.Number), sender, code, detected, stamp(received)}, now)
}

// RentalSMSEvent announces an SMS on a rental number, with its full body.
func RentalSMSEvent(r *Rental, sender, body, code, detected string, received, now time.Time) *Event {
	return newEvent(r.UserID, EventSMSReceived, struct {
		RentalID        string  `json:"rental_id"`
		Ref             string  `json:"ref"`
		Number          string  `json:"number"`
		Sender          string  `json:"sender"`
		Body            string  `json:"body"`
		Code            *string `json:"code"`
		DetectedService *string `json:"detected_service"`
		ReceivedAt      string  `json:"received_at"`
	}{r.ID, r.Ref, FormatUS(r.Number), sender, body, nilIfEmpty(code), nilIfEmpty(detected), stamp(received)}, now)
}

// RentalExpiredEvent announces the end of a rental's term.
func RentalExpiredEvent(r *Rental, now time.Time) *Event {
	return newEvent(r.UserID, EventRentalExpired, struct {
		RentalID string `json:"rental_id"`
		Ref      string `json:"ref"`
		Number   string `json:"number"`
	}{r.ID, r.Ref, FormatUS(r.Number)}, now)
}

// TestEvent is what "send a test event" delivers.
func TestEvent(userID, endpointID string, now time.Time) *Event {
	return newEvent(userID, EventTest, struct {
		EndpointID string `json:"endpoint_id"`
		Message    string `json:"message"`
	}{endpointID, "This is a test event from Fetch SMS."}, now)
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
