// Package sqlrows is what the two SQL engines (sqlite/, postgres/) share: the
// column lists and scanners of the rows they both store, time and NULL
// conversions, page bounds and public refs. Mechanics only: no rule lives here.
package sqlrows

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Row is one result row: *sql.Row, pgx.Row, or a *sql.Rows / pgx.Rows positioned on one.
type Row interface {
	Scan(dest ...any) error
}

// Ms is how times are stored: Unix milliseconds.
func Ms(t time.Time) int64 { return t.UnixMilli() }

// FromMS is a stored time, in UTC.
func FromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// FromNullMS is a stored time that may be NULL (the zero time).
func FromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return FromMS(v.Int64)
}

// NullMs stores a zero time as NULL, any other in milliseconds.
func NullMs(t time.Time) sql.NullInt64 { return sql.NullInt64{Int64: Ms(t), Valid: !t.IsZero()} }

// NullStr stores "" as NULL.
func NullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// PageArgs normalises a page: limit 1–200 (default 50) and the cursor as an
// upper bound on seq.
func PageArgs(p fetchsms.Page) (limit int, before int64) {
	limit = p.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 200 {
		limit = 200
	}
	before = p.Cursor
	if before <= 0 {
		before = 1<<62 - 1
	}
	return limit, before
}

// Trim cuts a limit+1 result to limit and returns the cursor for the next page
// (0 when nothing remains).
func Trim[T any](items []T, seqs []int64, limit int) ([]T, int64) {
	if len(items) > limit {
		return items[:limit], seqs[limit-1]
	}
	return items, 0
}

// RefAlphabet is the alphabet of public refs (the domain's).
const RefAlphabet = fetchsms.RefAlphabet

// NewRef returns a short random public reference such as "r_8R3p2K".
func NewRef(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	out := []byte(prefix)
	for _, c := range b {
		out = append(out, RefAlphabet[int(c)%len(RefAlphabet)])
	}
	return string(out)
}

// VerificationCols are a verification row joined with its service (v, s), for ScanVerification.
const VerificationCols = `v.seq, v.id, v.ref, v.user_id, v.service_id, s.slug, s.name, v.number_id, v.number, v.area_code, v.status, v.code, v.cost_cents, v.created_at, v.expires_at, v.received_at, v.codes, v.link`

// ScanVerification reads VerificationCols, and the row's seq for paging.
func ScanVerification(row Row) (*fetchsms.Verification, int64, error) {
	var v fetchsms.Verification
	var seq, created, expires int64
	var code, codes, link sql.NullString
	var received sql.NullInt64
	if err := row.Scan(&seq, &v.ID, &v.Ref, &v.UserID, &v.ServiceID, &v.ServiceSlug, &v.ServiceName, &v.NumberID, &v.Number, &v.AreaCode,
		&v.Status, &code, &v.CostCents, &created, &expires, &received, &codes, &link); err != nil {
		return nil, 0, err
	}
	v.Link = link.String
	v.Code, v.CreatedAt, v.ExpiresAt, v.ReceivedAt = code.String, FromMS(created), FromMS(expires), FromNullMS(received)
	v.Codes = SplitCodes(codes.String)
	return &v, seq, nil
}

// SplitCodes reads a verification's codes column: its codes oldest first, one
// a line (nil when none).
func SplitCodes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// RentalCols are a rental row joined with its service (r, s), for ScanRental.
const RentalCols = `r.seq, r.id, r.ref, r.user_id, r.service_id, s.slug, s.name, r.number_id, r.number, r.area_code, r.duration_days, r.status, r.last_code, r.cost_cents, r.created_at, r.expires_at, r.extended_days`

// ScanRental reads RentalCols, and the row's seq.
func ScanRental(row Row) (*fetchsms.Rental, int64, error) {
	var r fetchsms.Rental
	var seq, created, expires int64
	var code sql.NullString
	if err := row.Scan(&seq, &r.ID, &r.Ref, &r.UserID, &r.ServiceID, &r.ServiceSlug, &r.ServiceName, &r.NumberID, &r.Number, &r.AreaCode,
		&r.DurationDays, &r.Status, &code, &r.CostCents, &created, &expires, &r.ExtendedDays); err != nil {
		return nil, 0, err
	}
	r.LastCode, r.CreatedAt, r.ExpiresAt = code.String, FromMS(created), FromMS(expires)
	return &r, seq, nil
}

// UserCols are a users row, for ScanUser.
const UserCols = `id, email, role, balance_cents, disabled, created_at`

// ScanUser reads UserCols, then the columns after them into more.
func ScanUser(row Row, more ...any) (*fetchsms.User, error) {
	var u fetchsms.User
	var created int64
	if err := row.Scan(append(userDest(&u, &created), more...)...); err != nil {
		return nil, err
	}
	u.CreatedAt = FromMS(created)
	return &u, nil
}

// ScanUserSeq reads UserCols followed by the row's seq.
func ScanUserSeq(row Row) (*fetchsms.User, int64, error) {
	var seq int64
	u, err := ScanUser(row, &seq)
	return u, seq, err
}

func userDest(u *fetchsms.User, created *int64) []any {
	return []any{&u.ID, &u.Email, &u.Role, &u.BalanceCents, &u.Disabled, created}
}

// APIKeyCols are an api_keys row without its hash, for ScanAPIKey.
const APIKeyCols = `id, user_id, name, prefix, created_at, revoked_at, last_used_at`

// ScanAPIKey reads APIKeyCols.
func ScanAPIKey(row Row) (*fetchsms.APIKey, error) {
	var k fetchsms.APIKey
	var created int64
	var revoked, used sql.NullInt64
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &created, &revoked, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = FromMS(created), FromNullMS(revoked), FromNullMS(used)
	return &k, nil
}

// GatewayCols are a gateways row without its token, for ScanGateway.
const GatewayCols = `id, name, created_at, disabled, last_seen_at, token_sealed <> '', withdrawn_at`

// ScanGateway reads GatewayCols.
func ScanGateway(row Row) (*fetchsms.Gateway, error) {
	var g fetchsms.Gateway
	var created int64
	var seen, withdrawn sql.NullInt64
	if err := row.Scan(&g.ID, &g.Name, &created, &g.Disabled, &seen, &g.Signs, &withdrawn); err != nil {
		return nil, err
	}
	g.CreatedAt, g.LastSeenAt, g.WithdrawnAt = FromMS(created), FromNullMS(seen), FromNullMS(withdrawn)
	return &g, nil
}

// CredentialQueries returns, by credential kind, the statement that finds a
// credential by its token's hash, live or not, for ScanCredential. The hash is
// the statement's one argument, written arg (the engine's placeholder).
func CredentialQueries(arg string) map[string]string {
	const user = `, u.id, u.email, u.role, u.balance_cents, u.disabled, u.created_at`
	return map[string]string{
		fetchsms.KindAPIKey:  `SELECT k.id, k.hash, k.revoked_at` + user + ` FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ` + arg,
		fetchsms.KindSession: `SELECT s.id, s.hash, s.revoked_at, s.expires_at` + user + ` FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ` + arg,
		fetchsms.KindGateway: `SELECT id, token_hash, disabled, name, created_at FROM gateways WHERE token_hash = ` + arg,
	}
}

// ScanCredential reads a row of the statement of CredentialQueries for kind.
func ScanCredential(kind string, row Row) (*fetchsms.StoredCredential, error) {
	c := &fetchsms.StoredCredential{Kind: kind}
	var created int64
	if kind == fetchsms.KindGateway {
		g := &fetchsms.Gateway{}
		if err := row.Scan(&c.ID, &c.Hash, &c.Disabled, &g.Name, &created); err != nil {
			return nil, err
		}
		g.ID, g.CreatedAt, c.Gateway = c.ID, FromMS(created), g
		return c, nil
	}
	var revoked, expires sql.NullInt64
	dest := []any{&c.ID, &c.Hash, &revoked}
	if kind == fetchsms.KindSession {
		dest = append(dest, &expires)
	}
	u := &fetchsms.User{}
	if err := row.Scan(append(dest, userDest(u, &created)...)...); err != nil {
		return nil, err
	}
	u.CreatedAt, c.User = FromMS(created), u
	c.RevokedAt, c.ExpiresAt = FromNullMS(revoked), FromNullMS(expires)
	return c, nil
}

// ServiceCols are a services row, for ScanService. An activation code never set
// (NULL: a row from before codes) reads as none.
const ServiceCols = `id, slug, name, price_cents, long_prices, enabled, senders, keywords, COALESCE(activation_code, '')`

// ScanService reads ServiceCols.
func ScanService(row Row) (*fetchsms.Service, error) {
	var s fetchsms.Service
	var c fetchsms.ServiceColumns
	if err := row.Scan(&s.ID, &s.Slug, &s.Name, &s.PriceCents, &c.LongPrices, &s.Enabled, &c.Senders, &c.Keywords, &s.ActivationCode); err != nil {
		return nil, err
	}
	if err := s.SetColumns(c); err != nil {
		return nil, err
	}
	return &s, nil
}

// EndpointCols are a webhook_endpoints row, for ScanEndpoint.
const EndpointCols = `id, user_id, url, secret, events, enabled, disabled_reason, failing_since, created_at, previous_until`

// ScanEndpoint reads EndpointCols.
func ScanEndpoint(row Row) (*fetchsms.WebhookEndpoint, error) {
	var e fetchsms.WebhookEndpoint
	var events string
	var failing sql.NullInt64
	var created, prevUntil int64
	if err := row.Scan(&e.ID, &e.UserID, &e.URL, &e.Secret, &events, &e.Enabled, &e.DisabledReason, &failing, &created, &prevUntil); err != nil {
		return nil, err
	}
	if prevUntil > 0 {
		e.PreviousUntil = FromMS(prevUntil)
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, err
	}
	e.FailingSince, e.CreatedAt = FromNullMS(failing), FromMS(created)
	return &e, nil
}

// ScanSubscriber reads an endpoint's id and events (JSON).
func ScanSubscriber(row Row) (*fetchsms.WebhookEndpoint, error) {
	var e fetchsms.WebhookEndpoint
	var events string
	if err := row.Scan(&e.ID, &events); err != nil {
		return nil, err
	}
	return &e, json.Unmarshal([]byte(events), &e.Events)
}

// DeliveryCols are a delivery joined with its event (ev) and endpoint (e), for ScanDelivery.
const DeliveryCols = `d.seq, d.id, d.event_id, ev.type, d.endpoint_id, e.user_id, e.url, e.secret, e.previous_secret, e.previous_until, ev.payload, d.status, d.attempts, d.next_attempt_at, d.delivered_at, d.created_at`

// ScanDelivery reads DeliveryCols, and the row's seq.
func ScanDelivery(row Row) (*fetchsms.Delivery, int64, error) {
	var d fetchsms.Delivery
	var seq, next, created, prevUntil int64
	var delivered sql.NullInt64
	var payload string
	if err := row.Scan(&seq, &d.ID, &d.EventID, &d.EventType, &d.EndpointID, &d.UserID, &d.URL, &d.Secret, &d.PreviousSecret, &prevUntil, &payload, &d.Status, &d.Attempts, &next, &delivered, &created); err != nil {
		return nil, 0, err
	}
	d.Payload, d.NextAttemptAt, d.DeliveredAt, d.CreatedAt = []byte(payload), FromMS(next), FromNullMS(delivered), FromMS(created)
	if prevUntil > 0 {
		d.PreviousUntil = FromMS(prevUntil)
	}
	return &d, seq, nil
}

// ScanTicket reads a ticket row (seq, id, user_id, user email, subject, status,
// verification_id, rental_id, created_at, updated_at).
func ScanTicket(sc Row) (*fetchsms.Ticket, int64, error) {
	t := &fetchsms.Ticket{}
	var seq, created, updated int64
	var v, r sql.NullString
	if err := sc.Scan(&seq, &t.ID, &t.UserID, &t.UserEmail, &t.Subject, &t.Status, &v, &r, &created, &updated); err != nil {
		return nil, 0, err
	}
	t.VerificationID, t.RentalID, t.CreatedAt, t.UpdatedAt = v.String, r.String, FromMS(created), FromMS(updated)
	return t, seq, nil
}

// MessageCols are an inbound message row as a rental lists it, for ScanMessage.
const MessageCols = `seq, id, rental_id, sender, body, code, received_at, link`

// ScanMessage reads MessageCols, and the row's seq.
func ScanMessage(row Row) (*fetchsms.Message, int64, error) {
	m := &fetchsms.Message{}
	var seq, received int64
	var rental, code, link sql.NullString
	if err := row.Scan(&seq, &m.ID, &rental, &m.Sender, &m.Body, &code, &received, &link); err != nil {
		return nil, 0, err
	}
	m.RentalID, m.Code, m.Link, m.ReceivedAt = rental.String, code.String, link.String, FromMS(received)
	return m, seq, nil
}

// Rows is a query's result: *sql.Rows, pgx.Rows, or the SQLite writer's rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// closeRows closes rows, whichever driver made them.
func closeRows(rows Rows) {
	switch r := rows.(type) {
	case interface{ Close() error }:
		r.Close()
	case interface{ Close() }:
		r.Close()
	}
}

// All reads every row of a query with scan, and closes the rows. err is the
// query's own error: when it is set, All returns it.
func All[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer closeRows(rows)
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Page reads the rows of a page query for limit+1 items with scan (each item
// and its seq), as All does, and returns the first limit of them and the cursor
// of the next page (see Trim).
func Page[T any](rows Rows, err error, limit int, scan func(Row) (T, int64, error)) ([]T, int64, error) {
	var seqs []int64
	out, err := All(rows, err, func(r Row) (T, error) {
		x, seq, err := scan(r)
		seqs = append(seqs, seq)
		return x, err
	})
	if err != nil {
		return nil, 0, err
	}
	out, next := Trim(out, seqs, limit)
	return out, next, nil
}

// NoSeq adapts a scanner that also reads the row's seq for All.
func NoSeq[T any](scan func(Row) (T, int64, error)) func(Row) (T, error) {
	return func(r Row) (T, error) {
		x, _, err := scan(r)
		return x, err
	}
}

// EndpointEvents is how an endpoint's event list is stored (JSON, "[]" for every event).
func EndpointEvents(events []string) string {
	if events == nil {
		events = []string{}
	}
	b, _ := json.Marshal(events)
	return string(b)
}

// DueDeliveries numbers the due deliveries of enabled endpoints per account,
// oldest first (rn), for a fair claim: bind due and now (in that order). A
// subquery: PostgreSQL does not lock rows in a query with window functions.
const DueDeliveries = `SELECT d2.id AS cid, d2.next_attempt_at AS cdue, ROW_NUMBER() OVER (PARTITION BY e2.user_id ORDER BY d2.next_attempt_at, d2.seq) AS rn
	FROM deliveries d2 JOIN webhook_endpoints e2 ON e2.id = d2.endpoint_id
	WHERE d2.status = 'pending' AND d2.next_attempt_at <= %s AND d2.lease_until <= %s AND e2.enabled AND e2.deleted_at IS NULL`

// DeliveryFrom joins a delivery (d) with its event (ev) and endpoint (e), for DeliveryCols.
const DeliveryFrom = ` FROM deliveries d JOIN events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id`

// AttemptCols are a delivery_attempts row, for ScanAttempt.
const AttemptCols = `attempted_at, status_code, error, latency_ms`

// ScanAttempt reads AttemptCols.
func ScanAttempt(row Row) (fetchsms.DeliveryAttempt, error) {
	var a fetchsms.DeliveryAttempt
	var at, latency int64
	if err := row.Scan(&at, &a.StatusCode, &a.Error, &latency); err != nil {
		return a, err
	}
	a.At, a.Latency = FromMS(at), time.Duration(latency)*time.Millisecond
	return a, nil
}

// Histories reads the attempts of each delivery, oldest first, with query (which
// runs the attempts' query for one delivery id).
func Histories(ds []*fetchsms.Delivery, query func(deliveryID string) (Rows, error)) error {
	for _, d := range ds {
		rows, err := query(d.ID)
		if d.History, err = All(rows, err, ScanAttempt); err != nil {
			return err
		}
	}
	return nil
}

// TicketCols are a support ticket (t) with its author's email (u), and TicketFrom
// the join, for ScanTicket.
const (
	TicketCols = `t.seq, t.id, t.user_id, u.email, t.subject, t.status, t.verification_id, t.rental_id, t.created_at, t.updated_at`
	TicketFrom = ` FROM support_tickets t JOIN users u ON u.id = t.user_id`
)

// TicketMessageCols are a support_messages row, for ScanTicketMessage.
const TicketMessageCols = `id, ticket_id, author_id, staff, body, created_at`

// ScanTicketMessage reads TicketMessageCols.
func ScanTicketMessage(row Row) (*fetchsms.TicketMessage, error) {
	m := &fetchsms.TicketMessage{}
	var created int64
	if err := row.Scan(&m.ID, &m.TicketID, &m.AuthorID, &m.Staff, &m.Body, &created); err != nil {
		return nil, err
	}
	m.CreatedAt = FromMS(created)
	return m, nil
}

// ScanSales reads a group of purchases for the stats: service_id, status,
// whether a refund was paid, how many, and the sum of their prices.
func ScanSales(row Row) (fetchsms.SalesGroup, error) {
	var g fetchsms.SalesGroup
	var n, cost int64
	err := row.Scan(&g.ServiceID, &g.Status, &g.Refunded, &n, &cost)
	g.Count, g.CostCents = int(n), fetchsms.Cents(cost)
	return g, err
}

// ScanCodeWait reads a verification's service_id and its wait for the code in milliseconds.
func ScanCodeWait(row Row) (fetchsms.CodeWait, error) {
	var w fetchsms.CodeWait
	err := row.Scan(&w.ServiceID, &w.Millis)
	return w, err
}

// PoolNumberCols are a pool number (n) with its gateway's name (g), and
// PoolNumberFrom the join, for ScanPoolNumber.
const (
	PoolNumberCols = `n.seq, n.id, n.e164, n.gateway_id, g.name, n.status, coalesce(n.holder, ''), n.used_at IS NULL, n.withdrawn, n.device_id, n.sim_slot, n.created_at`
	PoolNumberFrom = ` FROM numbers n JOIN gateways g ON g.id = n.gateway_id`
)

// ScanPoolNumber reads PoolNumberCols, and the row's seq.
func ScanPoolNumber(row Row) (*fetchsms.PoolNumber, int64, error) {
	n := &fetchsms.PoolNumber{}
	var seq, created int64
	if err := row.Scan(&seq, &n.ID, &n.E164, &n.GatewayID, &n.GatewayName, &n.Status, &n.Holder, &n.Pristine, &n.Withdrawn, &n.DeviceID, &n.SimSlot, &created); err != nil {
		return nil, 0, err
	}
	n.CreatedAt = FromMS(created)
	return n, seq, nil
}

// GatewayCountsByID reads rows of (gateway id, numbers, for sale, messages,
// unmatched) into a map by id.
func GatewayCountsByID(rows Rows, err error) (map[string]fetchsms.GatewayCounts, error) {
	out := map[string]fetchsms.GatewayCounts{}
	_, err = All(rows, err, func(r Row) (struct{}, error) {
		var id string
		var c fetchsms.GatewayCounts
		err := r.Scan(&id, &c.Numbers, &c.ForSale, &c.Messages, &c.Unmatched)
		out[id] = c
		return struct{}{}, err
	})
	return out, err
}

// InboundLogCols are a stored SMS (m) with its gateway (g), detected service (s)
// and the purchase it reached (v or r), and InboundLogFrom the joins, for
// ScanInboundLog.
const (
	InboundLogCols = `m.seq, m.id, m.gateway_id, coalesce(g.name, ''), m.to_number, m.sender, m.body,
		coalesce(m.code, ''), coalesce(m.detected_service, 0), coalesce(s.name, ''),
		coalesce(m.verification_id, ''), coalesce(v.ref, ''), coalesce(m.rental_id, ''), coalesce(r.ref, ''), m.received_at, m.gateway_msg_id`
	InboundLogFrom = ` FROM messages m
		LEFT JOIN gateways g ON g.id = m.gateway_id
		LEFT JOIN services s ON s.id = m.detected_service
		LEFT JOIN verifications v ON v.id = m.verification_id
		LEFT JOIN rentals r ON r.id = m.rental_id`
)

// ScanInboundLog reads InboundLogCols, and the row's seq.
func ScanInboundLog(row Row) (*fetchsms.InboundLogEntry, int64, error) {
	e := &fetchsms.InboundLogEntry{}
	var seq, received int64
	if err := row.Scan(&seq, &e.ID, &e.GatewayID, &e.GatewayName, &e.To, &e.Sender, &e.Body, &e.Code, &e.ServiceID, &e.ServiceName,
		&e.VerificationID, &e.VerificationRef, &e.RentalID, &e.RentalRef, &received, &e.GatewayMsgID); err != nil {
		return nil, 0, err
	}
	e.ReceivedAt = FromMS(received)
	return e, seq, nil
}

// StoredPartCols are an sms_parts row, for ScanStoredPart.
const StoredPartCols = `group_id, gateway_id, sender, to_number, device_id, sim_slot, ref, part_index, part_count, gateway_msg_id, body, received_at, created_at, coalesce(message_id, '')`

// ScanStoredPart reads StoredPartCols.
func ScanStoredPart(row Row) (*fetchsms.StoredPart, error) {
	p := &fetchsms.StoredPart{}
	var received, created int64
	if err := row.Scan(&p.GroupID, &p.GatewayID, &p.Sender, &p.To, &p.DeviceID, &p.SimSlot, &p.Ref, &p.Index, &p.Count, &p.GatewayMsgID, &p.Body,
		&received, &created, &p.MessageID); err != nil {
		return nil, err
	}
	p.ReceivedAt, p.CreatedAt = FromMS(received), FromMS(created)
	return p, nil
}

// MessagePartCols are an sms_parts row as a part of a joined message, for ScanMessagePart.
const MessagePartCols = `part_index, part_count, gateway_msg_id, body, received_at`

// ScanMessagePart reads MessagePartCols.
func ScanMessagePart(row Row) (*fetchsms.MessagePart, error) {
	p := &fetchsms.MessagePart{}
	var received int64
	if err := row.Scan(&p.Index, &p.Count, &p.GatewayMsgID, &p.Body, &received); err != nil {
		return nil, err
	}
	p.ReceivedAt = FromMS(received)
	return p, nil
}

// AttachParts reads the parts of each joined message of an inbound log page,
// by index, with query (which runs the parts' query for one message id).
func AttachParts(es []*fetchsms.InboundLogEntry, query func(messageID string) (Rows, error)) error {
	for _, e := range es {
		if !strings.HasPrefix(e.GatewayMsgID, "parts:") {
			continue
		}
		rows, err := query(e.ID)
		if e.Parts, err = All(rows, err, ScanMessagePart); err != nil {
			return err
		}
	}
	return nil
}

// LedgerCols are a ledger row, for ScanLedgerEntry.
const LedgerCols = `seq, id, user_id, kind, amount_cents, balance_after_cents, verification_id, rental_id, deposit_id, reason, created_at`

// ScanLedgerEntry reads LedgerCols, and the row's seq.
func ScanLedgerEntry(row Row) (*fetchsms.LedgerEntry, int64, error) {
	e := &fetchsms.LedgerEntry{}
	var seq, created int64
	var v, r, d sql.NullString
	if err := row.Scan(&seq, &e.ID, &e.UserID, &e.Kind, &e.AmountCents, &e.BalanceAfterCents, &v, &r, &d, &e.Reason, &created); err != nil {
		return nil, 0, err
	}
	e.VerificationID, e.RentalID, e.DepositID, e.CreatedAt = v.String, r.String, d.String, FromMS(created)
	return e, seq, nil
}

// LedgerSubjectCols are a ledger row (l) with the service name and number of
// its verification (v) or rental (x) and their service (s), for
// ScanLedgerSubject; LedgerSubjectJoins joins them.
const LedgerSubjectCols = `l.seq, l.id, l.user_id, l.kind, l.amount_cents, l.balance_after_cents, l.verification_id, l.rental_id, l.deposit_id, l.reason, l.created_at,
	COALESCE(s.name, ''), COALESCE(v.number, x.number, '')`

// LedgerSubjectJoins is the FROM clause of LedgerSubjectCols.
const LedgerSubjectJoins = `ledger l LEFT JOIN verifications v ON v.id = l.verification_id LEFT JOIN rentals x ON x.id = l.rental_id
	LEFT JOIN services s ON s.id = COALESCE(v.service_id, x.service_id)`

// ScanLedgerSubject reads LedgerSubjectCols, and the row's seq.
func ScanLedgerSubject(row Row) (*fetchsms.LedgerEntry, int64, error) {
	e := &fetchsms.LedgerEntry{}
	var seq, created int64
	var v, r, d sql.NullString
	if err := row.Scan(&seq, &e.ID, &e.UserID, &e.Kind, &e.AmountCents, &e.BalanceAfterCents, &v, &r, &d, &e.Reason, &created, &e.ServiceName, &e.Number); err != nil {
		return nil, 0, err
	}
	e.VerificationID, e.RentalID, e.DepositID, e.CreatedAt = v.String, r.String, d.String, FromMS(created)
	return e, seq, nil
}

// DepositCols are a deposits row, for ScanDeposit.
const DepositCols = `id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at, payment_ref, refunded_cents, disputed_cents, owed_cents, forgiven_cents`

// ScanDeposit reads DepositCols.
func ScanDeposit(row Row) (*fetchsms.Deposit, error) {
	var d fetchsms.Deposit
	var created int64
	if err := row.Scan(&d.ID, &d.UserID, &d.AmountCents, &d.Status, &d.Provider, &d.ProviderRef, &d.CheckoutURL, &created,
		&d.PaymentRef, &d.RefundedCents, &d.DisputedCents, &d.OwedCents, &d.ForgivenCents); err != nil {
		return nil, err
	}
	d.CreatedAt = FromMS(created)
	return &d, nil
}

// ScanDepositSeq reads the row's seq, then DepositCols.
func ScanDepositSeq(row Row) (*fetchsms.Deposit, int64, error) {
	var d fetchsms.Deposit
	var seq, created int64
	if err := row.Scan(&seq, &d.ID, &d.UserID, &d.AmountCents, &d.Status, &d.Provider, &d.ProviderRef, &d.CheckoutURL, &created,
		&d.PaymentRef, &d.RefundedCents, &d.DisputedCents, &d.OwedCents, &d.ForgivenCents); err != nil {
		return nil, 0, err
	}
	d.CreatedAt = FromMS(created)
	return &d, seq, nil
}

// UnmatchedCols are an unmatched message (u) with its gateway's name (g), after the row's seq.
const (
	UnmatchedCols = `u.seq, u.gateway_id, coalesce(g.name, ''), u.gateway_msg_id, u.to_number, u.device_id, u.sim_slot, u.sender, u.body, u.received_at, u.created_at`
	UnmatchedFrom = ` FROM unmatched_messages u LEFT JOIN gateways g ON g.id = u.gateway_id`
)

// ScanUnmatched reads UnmatchedCols.
func ScanUnmatched(row Row) (*fetchsms.UnmatchedMessage, int64, error) {
	var m fetchsms.UnmatchedMessage
	var seq, received, created int64
	if err := row.Scan(&seq, &m.GatewayID, &m.GatewayName, &m.GatewayMsgID, &m.To, &m.DeviceID, &m.SimSlot, &m.Sender, &m.Body, &received, &created); err != nil {
		return nil, 0, err
	}
	m.ReceivedAt, m.CreatedAt = FromMS(received), FromMS(created)
	return &m, seq, nil
}

// PaymentEventCols are a payment_events row without its payload, for ScanPaymentEvent.
const PaymentEventCols = `seq, provider, event_id, type, deposit_id, amount_cents, currency, result, received_at`

// ScanPaymentEvent reads PaymentEventCols, and the row's seq.
func ScanPaymentEvent(row Row) (*fetchsms.PaymentEvent, int64, error) {
	var e fetchsms.PaymentEvent
	var seq, received int64
	if err := row.Scan(&seq, &e.Provider, &e.ID, &e.Type, &e.DepositID, &e.AmountCents, &e.Currency, &e.Result, &received); err != nil {
		return nil, 0, err
	}
	e.ReceivedAt = FromMS(received)
	return &e, seq, nil
}

// ScanString reads a row of one text column.
func ScanString(row Row) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

// Migration is one schema migration of an engine: migrations/<version>_<name>.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the migrations in fsys (an engine's embedded migrations/
// folder) in version order.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		m := Migration{Name: name}
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%d_", &m.Version); err != nil {
			return nil, fmt.Errorf("bad migration name %s", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		m.SQL = string(body)
		out = append(out, m)
	}
	return out, nil
}

// CheckInvariants checks the money and inventory invariants over a whole
// database (see fetchsms.LedgerCheck), with the statements the two engines share;
// query and queryRow read one snapshot of it. now is business time.
func CheckInvariants(query func(q string) (Rows, error), queryRow func(q string) Row, now time.Time) (*fetchsms.LedgerCheck, error) {
	c := &fetchsms.LedgerCheck{}
	rows, err := query(`SELECT u.id, u.balance_cents, CAST(COALESCE((SELECT sum(amount_cents) FROM ledger l WHERE l.user_id = u.id), 0) AS BIGINT) FROM users u`)
	_, err = All(rows, err, func(r Row) (struct{}, error) {
		var id string
		var bal, sum int64
		if err := r.Scan(&id, &bal, &sum); err != nil {
			return struct{}{}, err
		}
		c.Users++
		if bal != sum {
			c.BalanceMismatches = append(c.BalanceMismatches, fmt.Sprintf("%s: balance %d, ledger %d", id, bal, sum))
		}
		if bal < 0 {
			c.NegativeBalances = append(c.NegativeBalances, id)
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	for _, q := range []struct {
		dst   *int
		query string
	}{
		{&c.DoubleRefunds, `SELECT count(*) FROM (SELECT COALESCE(verification_id, rental_id) p FROM ledger WHERE kind = 'refund' GROUP BY p HAVING count(*) > 1) d`},
		{&c.DoubleHeldNumbers, `SELECT count(*) FROM (SELECT number_id FROM (
			SELECT number_id FROM verifications WHERE status = 'waiting'
			UNION ALL SELECT number_id FROM rentals WHERE status IN ('waiting', 'received')) h
			GROUP BY number_id HAVING count(*) > 1) d`},
		// One NOT EXISTS per kind of purchase, so that each is an index lookup
		// (an OR of the two made it a scan of the ledger per refund).
		{&c.RefundsWithoutBuys, `SELECT count(*) FROM ledger r WHERE kind = 'refund' AND CASE
			WHEN r.verification_id IS NOT NULL THEN NOT EXISTS (SELECT 1 FROM ledger p
				WHERE p.kind = 'purchase' AND p.verification_id IS NOT NULL AND p.verification_id = r.verification_id)
			WHEN r.rental_id IS NOT NULL THEN NOT EXISTS (SELECT 1 FROM ledger p
				WHERE p.kind = 'purchase' AND p.rental_id IS NOT NULL AND p.rental_id = r.rental_id)
			ELSE TRUE END`},
		{&c.ReceivedRefunded, `SELECT count(*) FROM verifications v WHERE (v.status = 'received' OR v.code IS NOT NULL) AND EXISTS (
			SELECT 1 FROM ledger l WHERE l.kind = 'refund' AND l.verification_id = v.id)`},
		{&c.WaitingPastExpiry, `SELECT count(*) FROM verifications WHERE status = 'waiting' AND expires_at <= ` + strconv.FormatInt(Ms(now), 10)},
		// What the ledger holds for a deposit: its credit, less what the
		// provider took back, except what is still owed or was forgiven.
		{&c.DepositMismatches, `SELECT count(*) FROM deposits d WHERE COALESCE((SELECT sum(amount_cents) FROM ledger l WHERE l.deposit_id = d.id), 0) <>
			CASE WHEN d.status IN ('succeeded', 'refunded', 'disputed')
				THEN d.amount_cents - d.refunded_cents - d.disputed_cents + d.owed_cents + d.forgiven_cents ELSE 0 END`},
		{&c.OwedMismatches, `SELECT count(*) FROM users u WHERE u.owed_cents <> COALESCE((SELECT sum(owed_cents) FROM deposits d WHERE d.user_id = u.id), 0)`},
		{&c.WithdrawnMismatches, `SELECT count(*) FROM numbers n JOIN gateways g ON g.id = n.gateway_id
			WHERE (CASE WHEN n.withdrawn THEN 1 ELSE 0 END) <> (CASE WHEN g.withdrawn_at IS NULL THEN 0 ELSE 1 END)`},
		{&c.WaitingOnWithdrawn, `SELECT count(*) FROM verifications v JOIN numbers n ON n.id = v.number_id WHERE v.status = 'waiting' AND n.withdrawn`},
		{&c.LedgerBreaks, `SELECT count(*) FROM (SELECT balance_after_cents - amount_cents AS before,
			lag(balance_after_cents, 1, 0) OVER (PARTITION BY user_id ORDER BY seq) AS previous FROM ledger) l WHERE before <> previous`},
	} {
		if err := queryRow(q.query).Scan(q.dst); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ReportRates reads the report rates of up to limit numbers and of every
// gateway with a report through query (either engine's; the statements bind
// nothing).
func ReportRates(query func(q string) (Rows, error), limit int) (numbers, gateways []fetchsms.ReportRate, err error) {
	rows, err := query(reportRatesNumbers + ` LIMIT ` + strconv.Itoa(limit))
	if numbers, err = All(rows, err, scanNumberRate); err != nil {
		return nil, nil, err
	}
	rows, err = query(reportRatesGateways)
	gateways, err = All(rows, err, scanGatewayRate)
	return numbers, gateways, err
}

// reportRatesNumbers selects the reported numbers, most reports first, for
// scanNumberRate: reports over the verifications ever sold on the number.
const reportRatesNumbers = `SELECT n.id, n.e164, g.name, count(*) AS reports,
	(SELECT count(*) FROM verifications v WHERE v.number_id = n.id) AS sold,
	CASE WHEN n.status = 'disabled' THEN 1 ELSE 0 END
	FROM number_reports r JOIN numbers n ON n.id = r.number_id JOIN gateways g ON g.id = n.gateway_id
	GROUP BY n.id, n.e164, g.name, n.status ORDER BY reports DESC, n.e164`

// reportRatesGateways selects every gateway with a report, most reports first,
// for scanGatewayRate.
const reportRatesGateways = `SELECT g.id, g.name, count(*) AS reports,
	(SELECT count(*) FROM verifications v JOIN numbers n ON n.id = v.number_id WHERE n.gateway_id = g.id) AS sold
	FROM number_reports r JOIN gateways g ON g.id = r.gateway_id
	GROUP BY g.id, g.name ORDER BY reports DESC, g.name`

// scanNumberRate reads a row of reportRatesNumbers.
func scanNumberRate(row Row) (fetchsms.ReportRate, error) {
	var r fetchsms.ReportRate
	var disabled int
	err := row.Scan(&r.ID, &r.Name, &r.Gateway, &r.Reports, &r.Sold, &disabled)
	r.Disabled = disabled == 1
	return r, err
}

// scanGatewayRate reads a row of reportRatesGateways.
func scanGatewayRate(row Row) (fetchsms.ReportRate, error) {
	var r fetchsms.ReportRate
	err := row.Scan(&r.ID, &r.Name, &r.Reports, &r.Sold)
	return r, err
}

// ScanEvent reads an event row (seq, id, user_id, type, payload, created_at).
func ScanEvent(row Row) (*fetchsms.Event, error) {
	var ev fetchsms.Event
	var payload string
	var created int64
	if err := row.Scan(&ev.Seq, &ev.ID, &ev.UserID, &ev.Type, &payload, &created); err != nil {
		return nil, err
	}
	ev.Payload, ev.CreatedAt = []byte(payload), FromMS(created)
	return &ev, nil
}

// ScanOutcome reads (service_id, status, seconds, count), for VerificationOutcomes.
func ScanOutcome(row Row) (fetchsms.OutcomeCount, error) {
	var o fetchsms.OutcomeCount
	var secs, n int64
	err := row.Scan(&o.ServiceID, &o.Status, &secs, &n)
	o.Seconds, o.Count = int(secs), int(n)
	return o, err
}
