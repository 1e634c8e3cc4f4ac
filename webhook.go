package fetchsms

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// OutboxTx queues webhook deliveries in the transaction of the change they announce.
type OutboxTx interface {
	// Subscribers returns the user's live, enabled endpoints (ID and Events), or
	// with only set that live endpoint alone, enabled or not.
	Subscribers(ctx context.Context, userID, only string) ([]*WebhookEndpoint, error)
	// Queue stores ev and a pending delivery, due at ev.CreatedAt, for each of
	// deliveries (ID and EndpointID set by the caller), and wakes the delivery
	// workers after the commit.
	Queue(ctx context.Context, ev *Event, deliveries []*Delivery) error
}

// The webhook rules: endpoints (at most MaxEndpoints live ones per account, each
// with its own signing secret), and the life of a delivery: claimed with a lease
// by a worker, sent, then delivered, retried on RetrySchedule or given up; an
// endpoint that fails for DisableAfter without a success is disabled. Events
// themselves are queued in the transaction of the change they announce (enqueue,
// purchase.go).

// Event types.
const (
	EventSMSReceived   = "sms.received"
	EventRentalExpired = "rental.expired"
	// EventRentalExpiring: a rental ends soon (extend.go: once per end).
	EventRentalExpiring = "rental.expiring"
	EventTest           = "webhook.test"
)

// EventTypes are the events an endpoint may subscribe to.
var EventTypes = []string{EventSMSReceived, EventRentalExpired, EventRentalExpiring}

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
	// PreviousUntil is the end (wall time) of the overlap of the secret's last
	// rotation: until then deliveries are signed with the previous secret too.
	// Zero when there is no overlap, or (from the App) when it is over.
	PreviousUntil time.Time
}

// Wants reports whether the endpoint subscribes to event type t.
func (e *WebhookEndpoint) Wants(t string) bool {
	if t == EventTest {
		return true
	}
	if !webhookEvent(t) {
		return false // on the stream only
	}
	if len(e.Events) == 0 {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

func webhookEvent(t string) bool {
	for _, x := range EventTypes {
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
	Seq       int64 // its place in the account's event log (events.go); set when read
	ID        string
	UserID    string
	Type      string
	Payload   []byte
	CreatedAt time.Time
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID         string
	EventID    string
	EventType  string
	EndpointID string
	UserID     string // the endpoint's owner
	URL        string
	Secret     string
	// PreviousSecret is the endpoint's secret before its last rotation, while
	// that rotation's overlap lasts (PreviousUntil): deliveries are signed with
	// both. "" once the overlap is over.
	PreviousSecret string
	PreviousUntil  time.Time
	Payload        []byte
	Status         string // pending, delivered, failed
	Attempts       int
	NextAttemptAt  time.Time
	DeliveredAt    time.Time
	CreatedAt      time.Time
	History        []DeliveryAttempt
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
func VerificationSMSEvent(v *Verification, sender, code, link, detected string, received, now time.Time) *Event {
	return newEvent(v.UserID, EventSMSReceived, struct {
		VerificationID  string  `json:"verification_id"`
		Ref             string  `json:"ref"`
		Number          string  `json:"number"`
		NumberE164      string  `json:"number_e164"`
		Sender          string  `json:"sender"`
		Code            string  `json:"code"`
		Link            *string `json:"link"`
		DetectedService string  `json:"detected_service"`
		ReceivedAt      string  `json:"received_at"`
	}{v.ID, v.Ref, FormatUS(v.Number), v.Number, sender, code, nilIfEmpty(link), detected, stamp(received)}, now)
}

// RentalSMSEvent announces an SMS on a rental number, with its full body.
func RentalSMSEvent(r *Rental, sender, body, code, link, detected string, received, now time.Time) *Event {
	return newEvent(r.UserID, EventSMSReceived, struct {
		RentalID        string  `json:"rental_id"`
		Ref             string  `json:"ref"`
		Number          string  `json:"number"`
		NumberE164      string  `json:"number_e164"`
		Sender          string  `json:"sender"`
		Body            string  `json:"body"`
		Code            *string `json:"code"`
		Link            *string `json:"link"`
		DetectedService *string `json:"detected_service"`
		ReceivedAt      string  `json:"received_at"`
	}{r.ID, r.Ref, FormatUS(r.Number), r.Number, sender, body, nilIfEmpty(code), nilIfEmpty(link), nilIfEmpty(detected), stamp(received)}, now)
}

// RentalExpiredEvent announces the end of a rental's term.
func RentalExpiredEvent(r *Rental, now time.Time) *Event {
	return newEvent(r.UserID, EventRentalExpired, struct {
		RentalID   string `json:"rental_id"`
		Ref        string `json:"ref"`
		Number     string `json:"number"`
		NumberE164 string `json:"number_e164"`
	}{r.ID, r.Ref, FormatUS(r.Number), r.Number}, now)
}

// RentalExpiringEvent reminds the customer that a rental ends soon: extend it
// with POST /v1/rentals/{id}/extend to keep the number.
func RentalExpiringEvent(r *Rental, now time.Time) *Event {
	return newEvent(r.UserID, EventRentalExpiring, struct {
		RentalID   string `json:"rental_id"`
		Ref        string `json:"ref"`
		Number     string `json:"number"`
		NumberE164 string `json:"number_e164"`
		ExpiresAt  string `json:"expires_at"`
	}{r.ID, r.Ref, FormatUS(r.Number), r.Number, r.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")}, now)
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

// MaxEndpoints is how many live webhook endpoints one account may have.
const MaxEndpoints = 20

// WebhookStore is the engine side of webhooks outside a transaction.
type WebhookStore interface {
	// Endpoints lists the user's live endpoints, newest first.
	Endpoints(ctx context.Context, userID string) ([]*WebhookEndpoint, error)
	// LoadEndpoint returns one of the user's live endpoints; ErrNoRow when none.
	LoadEndpoint(ctx context.Context, userID, id string) (*WebhookEndpoint, error)
	// LoadDeliveries lists an endpoint's deliveries newest first, each with every
	// attempt, and the cursor of the next page.
	LoadDeliveries(ctx context.Context, endpointID string, p Page) ([]*Delivery, int64, error)
	// LeaseDeliveries leases deliveries to a worker as c asks and returns them: no
	// other worker, in this process or another, claims them until the lease ends.
	LeaseDeliveries(ctx context.Context, c DeliveryClaim) ([]*Delivery, error)
	// PendingDeliveries counts deliveries not yet delivered nor given up.
	PendingDeliveries(ctx context.Context) (int, error)
	// StoredSecrets lists every webhook endpoint's stored secret (kind
	// SecretWebhook), its stored previous secret when it has one
	// (SecretWebhookPrevious), and every gateway's sealed token (for sealing and
	// resealing them).
	StoredSecrets(ctx context.Context) ([]StoredSecret, error)
	// DeliveriesDue is signalled after a commit that may have made deliveries due
	// (on PostgreSQL, a commit on any server).
	DeliveriesDue() <-chan struct{}
}

// DeliveryClaim asks for up to Limit pending deliveries of enabled live
// endpoints, whose next attempt is due by Due (business time) and whose lease
// has ended by Now (wall time), earliest due first, to lease until Until.
type DeliveryClaim struct {
	Limit      int
	Due        time.Time
	Now, Until time.Time
	// PerAccount caps one account's deliveries in flight (InFlight, by user
	// id, counts those the claiming worker already sends): one customer's slow
	// or hanging endpoints cannot take every sending slot. 0: no cap.
	PerAccount int
	InFlight   map[string]int
}

// WebhookTx writes endpoints and deliveries.
type WebhookTx interface {
	// CountEndpoints counts the user's live endpoints. On PostgreSQL the user's
	// row stays locked to the end of the transaction, so that two servers cannot
	// both add the last endpoint allowed.
	CountEndpoints(ctx context.Context, userID string) (int, error)
	// InsertEndpoint stores e (ID, Secret and CreatedAt set by the caller).
	InsertEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// RotateEndpointSecret makes the user's live endpoint's secret its previous
	// secret until until, and secret its secret (both stored as given: sealed);
	// false when there is no such endpoint.
	RotateEndpointSecret(ctx context.Context, userID, id, secret string, until time.Time) (bool, error)
	// ReplaceSecret replaces a stored secret (an endpoint's secret or previous
	// secret, or a gateway's sealed token, by s.Kind) when it is still old;
	// false when it changed meanwhile.
	ReplaceSecret(ctx context.Context, s StoredSecret, old string) (bool, error)
	// HasEndpoint tells whether id is one of the user's live endpoints.
	HasEndpoint(ctx context.Context, userID, id string) (bool, error)
	// MarkEndpointDeleted deletes (and disables) the user's live endpoint at now;
	// false when there is none.
	MarkEndpointDeleted(ctx context.Context, userID, id string, now time.Time) (bool, error)
	// ReenableEndpoint enables the user's live endpoint and clears its disabled
	// reason and failing_since; false when there is none.
	ReenableEndpoint(ctx context.Context, userID, id string) (bool, error)
	// DisableEndpoint disables an endpoint with a reason.
	DisableEndpoint(ctx context.Context, id, reason string) error
	// EndpointFailing sets the endpoint's failing_since to now unless it is set,
	// and returns it.
	EndpointFailing(ctx context.Context, id string, now time.Time) (since time.Time, err error)
	// EndpointRecovered clears the endpoint's failing_since.
	EndpointRecovered(ctx context.Context, id string) error
	// FailPendingDeliveries marks the endpoint's pending deliveries failed.
	FailPendingDeliveries(ctx context.Context, endpointID string) error
	// RetryPendingDeliveries makes the endpoint's pending deliveries due at, with
	// no attempt counted; workers are woken after the commit.
	RetryPendingDeliveries(ctx context.Context, endpointID string, at time.Time) error
	// ResetDelivery makes a delivery of the user's live endpoint pending, due at,
	// with no attempt counted and no lease, whatever its status; false when there
	// is none. Workers are woken after the commit.
	ResetDelivery(ctx context.Context, userID, endpointID, deliveryID string, at time.Time) (bool, error)
	// EventDelivery returns the id of an event's delivery (an event sent to one
	// endpoint); ErrNoRow when none.
	EventDelivery(ctx context.Context, eventID string) (string, error)
	// InsertAttempt appends an attempt to a delivery's history.
	InsertAttempt(ctx context.Context, deliveryID string, a DeliveryAttempt) error
	// DeliverySucceeded marks a delivery delivered at, counts one more attempt,
	// and ends its lease.
	DeliverySucceeded(ctx context.Context, id string, at time.Time) error
	// RetryDelivery sets a delivery's attempts and its next attempt at, and ends
	// its lease.
	RetryDelivery(ctx context.Context, id string, attempts int, at time.Time) error
	// GiveUpDelivery marks a delivery failed with its attempts, and ends its lease.
	GiveUpDelivery(ctx context.Context, id string, attempts int) error
}

// CreateEndpoint registers a webhook endpoint with a fresh signing secret. The
// URL must already be checked by the caller (that needs the network). An unknown
// event is EUNPROCESSABLE; an account with MaxEndpoints live endpoints ECONFLICT.
func (a *App) CreateEndpoint(ctx context.Context, userID, url string, events []string) (*WebhookEndpoint, error) {
	if err := ValidateEvents(events); err != nil {
		return nil, err
	}
	if events == nil {
		events = []string{}
	}
	e := &WebhookEndpoint{ID: NewID(), UserID: userID, URL: url, Secret: NewWebhookSecret(), Events: events,
		Enabled: true, CreatedAt: a.wall.Now().Truncate(time.Millisecond).UTC()}
	stored := *e
	stored.Secret = a.sealSecret(SecretWebhook, e.ID, e.Secret)
	err := a.update(ctx, "CreateEndpoint", func(tx Tx) error {
		n, err := tx.CountEndpoints(ctx, userID)
		if err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return Errorf(ECONFLICT, "at most %d webhook endpoints per account: delete one first", MaxEndpoints)
		}
		return tx.InsertEndpoint(ctx, &stored)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// NewWebhookSecret returns a fresh endpoint signing secret in the Standard
// Webhooks form: "whsec_" and the standard base64 of 32 random bytes, the
// bytes being the HMAC key of the webhook-signature header. The seed's
// X-FetchSMS-Signature is keyed by the whole string, as it always was.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := crand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// MaxSecretOverlap is the longest a rotated secret keeps signing beside the new one.
const MaxSecretOverlap = 7 * 24 * time.Hour

// DefaultSecretOverlap is how long a rotated secret keeps signing when the
// caller does not say.
const DefaultSecretOverlap = 24 * time.Hour

// RotateEndpointSecret gives one of the user's live endpoints a new secret and
// returns the endpoint with it (shown once). For overlap after now every
// delivery is signed with both the new and the previous secret; overlap 0
// ends the previous secret at once. Overlap outside 0–MaxSecretOverlap is
// EUNPROCESSABLE; another user's or a deleted endpoint ENOTFOUND.
func (a *App) RotateEndpointSecret(ctx context.Context, userID, id string, overlap time.Duration) (*WebhookEndpoint, time.Time, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return nil, time.Time{}, Errorf(EUNPROCESSABLE, "overlap_seconds must be between 0 and %d (7 days)", int(MaxSecretOverlap/time.Second))
	}
	secret := NewWebhookSecret()
	until := a.wall.Now().Add(overlap).Truncate(time.Millisecond).UTC()
	err := a.update(ctx, "RotateEndpointSecret", func(tx Tx) error {
		ok, err := tx.RotateEndpointSecret(ctx, userID, id, a.sealSecret(SecretWebhook, id, secret), until)
		if err != nil {
			return err
		}
		if !ok {
			return endpointNotFound()
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	e, err := a.Endpoint(ctx, userID, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	e.Secret = secret
	return e, until, nil
}

func endpointNotFound() error { return Errorf(ENOTFOUND, "webhook endpoint not found") }

// Endpoint returns one of the user's live endpoints; another user's, or a
// deleted one, is ENOTFOUND.
func (a *App) Endpoint(ctx context.Context, userID, id string) (*WebhookEndpoint, error) {
	e, err := a.Store.LoadEndpoint(ctx, userID, id)
	if err != nil {
		return nil, storageError("Endpoint", err, "webhook endpoint not found")
	}
	a.overlap(e)
	return e, nil
}

// Endpoints lists the user's live endpoints, newest first.
func (a *App) Endpoints(ctx context.Context, userID string) ([]*WebhookEndpoint, error) {
	list, err := a.Store.Endpoints(ctx, userID)
	if err != nil {
		return nil, storageError("Endpoints", err, "")
	}
	for _, e := range list {
		a.overlap(e)
	}
	return list, nil
}

// overlap clears an endpoint's PreviousUntil once that overlap is over.
func (a *App) overlap(e *WebhookEndpoint) {
	if !a.wall.Now().Before(e.PreviousUntil) {
		e.PreviousUntil = time.Time{}
	}
}

// DeleteEndpoint removes one of the user's endpoints; its pending deliveries are
// abandoned (failed).
func (a *App) DeleteEndpoint(ctx context.Context, userID, id string) error {
	now := a.wall.Now()
	return a.update(ctx, "DeleteEndpoint", func(tx Tx) error {
		ok, err := tx.MarkEndpointDeleted(ctx, userID, id, now)
		if err != nil {
			return err
		}
		if !ok {
			return endpointNotFound()
		}
		return tx.FailPendingDeliveries(ctx, id)
	})
}

// EnableEndpoint re-enables an endpoint that was disabled for failing; its
// pending deliveries are retried at once, the retry schedule afresh.
func (a *App) EnableEndpoint(ctx context.Context, userID, id string) (*WebhookEndpoint, error) {
	now := a.now()
	err := a.update(ctx, "EnableEndpoint", func(tx Tx) error {
		ok, err := tx.ReenableEndpoint(ctx, userID, id)
		if err != nil {
			return err
		}
		if !ok {
			return endpointNotFound()
		}
		return tx.RetryPendingDeliveries(ctx, id, now)
	})
	if err != nil {
		return nil, err
	}
	return a.Endpoint(ctx, userID, id)
}

// SendTestEvent queues a test event for one of the user's endpoints (enabled or
// not) and returns its delivery's id.
func (a *App) SendTestEvent(ctx context.Context, userID, endpointID string) (string, error) {
	now := a.now()
	var id string
	err := a.update(ctx, "SendTestEvent", func(tx Tx) error {
		ok, err := tx.HasEndpoint(ctx, userID, endpointID)
		if err != nil {
			return err
		}
		if !ok {
			return endpointNotFound()
		}
		ev := TestEvent(userID, endpointID, now)
		if err := enqueue(ctx, tx, ev, endpointID); err != nil {
			return err
		}
		id, err = tx.EventDelivery(ctx, ev.ID)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Redeliver sends a delivery of the user's endpoint again now, whatever became of
// it, with the retry schedule afresh. An unknown delivery, or another user's, is
// ENOTFOUND.
func (a *App) Redeliver(ctx context.Context, userID, endpointID, deliveryID string) error {
	now := a.now()
	return a.update(ctx, "Redeliver", func(tx Tx) error {
		ok, err := tx.ResetDelivery(ctx, userID, endpointID, deliveryID, now)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ENOTFOUND, "delivery not found")
		}
		return nil
	})
}

// EndpointDeliveries lists the deliveries of one of the user's endpoints newest
// first, each with every attempt.
func (a *App) EndpointDeliveries(ctx context.Context, userID, endpointID string, p Page) ([]*Delivery, int64, error) {
	if _, err := a.Endpoint(ctx, userID, endpointID); err != nil {
		return nil, 0, err
	}
	list, next, err := a.Store.LoadDeliveries(ctx, endpointID, p)
	if err != nil {
		return nil, 0, storageError("EndpointDeliveries", err, "")
	}
	return list, next, nil
}

// ClaimDeliveries leases to the calling worker, for lease (wall time), up to limit
// deliveries of enabled endpoints whose next attempt is due by the business
// clock, so that no other worker sends them meanwhile. A worker that dies
// holding some leaves them to another once the lease ends.
func (a *App) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration, inFlight map[string]int) ([]*Delivery, error) {
	wall := a.wall.Now()
	ds, err := a.Store.LeaseDeliveries(ctx, DeliveryClaim{Limit: limit, Due: a.now(), Now: wall, Until: wall.Add(lease),
		PerAccount: PerAccountDeliveries, InFlight: inFlight})
	if err != nil {
		return nil, storageError("ClaimDeliveries", err, "")
	}
	// Secrets are stored sealed: a delivery whose secret this server cannot open
	// (a key removed too soon) is not sent unsigned; the attempt fails, visibly.
	out := ds[:0]
	for _, d := range ds {
		secret, err := a.openSecret(SecretWebhook, d.EndpointID, d.Secret)
		if err != nil {
			if err := a.RecordAttempt(ctx, d, DeliveryAttempt{At: wall, Error: "the endpoint's signing secret cannot be opened with this server's secret key"}); err != nil {
				return nil, err
			}
			continue
		}
		d.Secret = secret
		if d.PreviousSecret != "" && wall.Before(d.PreviousUntil) {
			if d.PreviousSecret, err = a.openSecret(SecretWebhook, d.EndpointID, d.PreviousSecret); err != nil {
				d.PreviousSecret = "" // the new secret alone still signs
			}
		} else {
			d.PreviousSecret = ""
		}
		out = append(out, d)
	}
	return out, nil
}

// Fair keeps, of candidate deliveries oldest first, those the claim may take:
// at most Limit, and per account no more than PerAccount with those in flight.
// Engines lease what it keeps.
func (c DeliveryClaim) Fair(ds []*Delivery) []*Delivery {
	taken := map[string]int{}
	out := ds[:0]
	for _, d := range ds {
		if len(out) == c.Limit {
			break
		}
		if c.PerAccount > 0 && c.InFlight[d.UserID]+taken[d.UserID] >= c.PerAccount {
			continue
		}
		taken[d.UserID]++
		out = append(out, d)
	}
	return out
}

// Candidates is how many due deliveries an engine reads for a fair claim.
func (c DeliveryClaim) Candidates() int { return 4*c.Limit + 64 }

// RankCap is the highest per-account rank worth reading (all when uncapped).
func (c DeliveryClaim) RankCap() int {
	if c.PerAccount <= 0 {
		return 1 << 30
	}
	return c.PerAccount
}

// PerAccountDeliveries is how many deliveries of one account a worker sends at
// once (of its 16 slots): the oldest due deliveries go first, but no customer's
// backlog or hanging endpoint can hold up the others' deliveries.
const PerAccountDeliveries = 4

// RecordAttempt stores the outcome of one POST of a claimed delivery and
// schedules what follows: delivered on success; otherwise a retry after the
// attempt's step of RetrySchedule (with up to a fifth more, so that retries
// spread), or failed once the schedule is spent. An endpoint that has failed
// without a single success for DisableAfter is disabled, with the last error as
// the reason; one that answers 410 Gone is disabled at once.
func (a *App) RecordAttempt(ctx context.Context, d *Delivery, at DeliveryAttempt) error {
	now := a.now()
	attempts := d.Attempts + 1
	var wait time.Duration
	if attempts <= len(RetrySchedule) {
		wait = RetrySchedule[attempts-1]
		wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
	}
	err := a.update(ctx, "RecordAttempt", func(tx Tx) error {
		if err := tx.InsertAttempt(ctx, d.ID, at); err != nil {
			return err
		}
		if at.OK() {
			if err := tx.DeliverySucceeded(ctx, d.ID, now); err != nil {
				return err
			}
			return tx.EndpointRecovered(ctx, d.EndpointID)
		}
		var err error
		if attempts > len(RetrySchedule) {
			err = tx.GiveUpDelivery(ctx, d.ID, attempts)
		} else {
			err = tx.RetryDelivery(ctx, d.ID, attempts, now.Add(wait))
		}
		if err != nil {
			return err
		}
		since, err := tx.EndpointFailing(ctx, d.EndpointID, now)
		if err != nil {
			return err
		}
		if at.StatusCode == http.StatusGone {
			// Standard Webhooks: a receiver that answers 410 wants no more.
			return tx.DisableEndpoint(ctx, d.EndpointID, "disabled because the endpoint answered 410 Gone (the receiver asked for no more deliveries); enable it again to resume")
		}
		if now.Sub(since) >= DisableAfter {
			return tx.DisableEndpoint(ctx, d.EndpointID, "disabled after failing for 3 days without a successful delivery; last error: "+attemptError(at))
		}
		return nil
	})
	if err == nil {
		a.publish(ctx, DeliveryAttempted{OK: at.OK(), GaveUp: !at.OK() && attempts > len(RetrySchedule)})
	}
	return err
}

// attemptError describes a failed attempt in at most 200 bytes.
func attemptError(a DeliveryAttempt) string {
	s := a.Error
	if s == "" {
		s = "HTTP " + strconv.Itoa(a.StatusCode)
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// PendingDeliveries counts the webhook deliveries not yet delivered nor given
// up: the queue the delivery worker works through.
func (a *App) PendingDeliveries(ctx context.Context) (int, error) {
	n, err := a.Store.PendingDeliveries(ctx)
	return n, storageError("PendingDeliveries", err, "")
}
