package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// MaxEndpoints is how many live webhook endpoints one account may have.
const MaxEndpoints = 20

// notify wakes this server's delivery worker after a commit that may have enqueued
// deliveries. Other servers are woken by the NOTIFY that enqueue sends.
func (db *DB) notify() {
	select {
	case db.notifyCh <- struct{}{}:
	default:
	}
}

// DeliveriesDue returns the channel that is signalled when deliveries may be due:
// after a local commit that enqueued some, and on a NOTIFY from any server.
func (db *DB) DeliveriesDue() <-chan struct{} { return db.notifyCh }

// enqueue writes an event and one pending delivery per enabled endpoint of its owner
// that wants it, inside the transaction of the change it announces. The NOTIFY is
// sent by PostgreSQL at commit, and never if the transaction rolls back.
func (tx *ptx) Enqueue(ctx context.Context, ev *fetchsms.Event, onlyEndpoint string) error {
	tx.queued = true
	if _, err := tx.Exec(ctx, `INSERT INTO events (id, user_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
		ev.ID, ev.UserID, ev.Type, string(ev.Payload), sqlrows.Ms(ev.CreatedAt)); err != nil {
		return err
	}
	q := `SELECT id, events FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL AND enabled`
	args := []any{ev.UserID}
	if onlyEndpoint != "" {
		q = `SELECT id, events FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL AND id = $2`
		args = append(args, onlyEndpoint)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	var targets []string
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			rows.Close()
			return err
		}
		e := fetchsms.WebhookEndpoint{}
		json.Unmarshal([]byte(events), &e.Events)
		if e.Wants(ev.Type) {
			targets = append(targets, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range targets {
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)`,
			newID(), ev.ID, id, sqlrows.Ms(ev.CreatedAt)); err != nil {
			return err
		}
	}
	if len(targets) > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
			return err
		}
	}
	return nil
}

// CreateEndpoint registers a webhook endpoint with a fresh signing secret. The URL
// must already be checked by the caller (it needs the network to do so). More than
// MaxEndpoints is ECONFLICT: the user's row is locked while counting, so two
// servers cannot both add the last one.
func (db *DB) CreateEndpoint(ctx context.Context, userID, url string, events []string) (*fetchsms.WebhookEndpoint, error) {
	if err := fetchsms.ValidateEvents(events); err != nil {
		return nil, err
	}
	if events == nil {
		events = []string{}
	}
	evJSON, _ := json.Marshal(events)
	e := &fetchsms.WebhookEndpoint{ID: newID(), UserID: userID, URL: url, Secret: strings.Replace(fetchsms.NewToken("whsec_"), "-", "A", -1), Events: events, Enabled: true, CreatedAt: db.RealClock.Now().Truncate(time.Millisecond)}
	err := db.tx(ctx, "postgres.CreateEndpoint", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "at most %d webhook endpoints per account: delete one first", MaxEndpoints)
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (id, user_id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.ID, userID, url, e.Secret, string(evJSON), sqlrows.Ms(e.CreatedAt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Endpoints lists the user's live endpoints, newest first.
func (db *DB) Endpoints(ctx context.Context, userID string) ([]*fetchsms.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL ORDER BY seq DESC`, userID)
	if err != nil {
		return nil, wrap("postgres.Endpoints", err)
	}
	defer rows.Close()
	var out []*fetchsms.WebhookEndpoint
	for rows.Next() {
		e, err := sqlrows.ScanEndpoint(rows)
		if err != nil {
			return nil, wrap("postgres.Endpoints", err)
		}
		out = append(out, e)
	}
	return out, wrap("postgres.Endpoints", rows.Err())
}

// Endpoint returns one of the user's live endpoints, or ENOTFOUND.
func (db *DB) Endpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	e, err := sqlrows.ScanEndpoint(db.pool.QueryRow(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID))
	if err != nil {
		return nil, wrap("postgres.Endpoint", notFound(err, "webhook endpoint not found"))
	}
	return e, nil
}

// DeleteEndpoint removes an endpoint; its pending deliveries are abandoned.
func (db *DB) DeleteEndpoint(ctx context.Context, userID, id string) error {
	now := sqlrows.Ms(db.RealClock.Now())
	return db.tx(ctx, "postgres.DeleteEndpoint", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET deleted_at = $1, enabled = false WHERE id = $2 AND user_id = $3 AND deleted_at IS NULL`, now, id, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries SET status = 'failed' WHERE endpoint_id = $1 AND status = 'pending'`, id)
		return err
	})
}

// EnableEndpoint re-enables an endpoint that was disabled for failing; its pending
// deliveries are retried at once.
func (db *DB) EnableEndpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	now := sqlrows.Ms(db.Clock.Now())
	err := db.tx(ctx, "postgres.EnableEndpoint", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = true, disabled_reason = '', failing_since = NULL WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries SET next_attempt_at = $1, attempts = 0 WHERE endpoint_id = $2 AND status = 'pending'`, now, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.notify()
	return db.Endpoint(ctx, userID, id)
}

// SendTestEvent enqueues a test event for one endpoint and returns its delivery id.
func (db *DB) SendTestEvent(ctx context.Context, userID, endpointID string) (string, error) {
	var id string
	err := db.tx(ctx, "postgres.SendTestEvent", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, endpointID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		ev := fetchsms.TestEvent(userID, endpointID, db.Clock.Now())
		ev.ID = newID()
		if err := (&ptx{Tx: tx}).Enqueue(ctx, ev, endpointID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM deliveries WHERE event_id = $1`, ev.ID).Scan(&id)
	})
	if err != nil {
		return "", err
	}
	db.notify()
	return id, nil
}

// Redeliver schedules a delivery of the user's endpoint to be sent again now, whatever
// became of it. An unknown delivery or endpoint is ENOTFOUND.
func (db *DB) Redeliver(ctx context.Context, userID, endpointID, deliveryID string) error {
	now := sqlrows.Ms(db.Clock.Now())
	err := db.tx(ctx, "postgres.Redeliver", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = 0
			WHERE id = $2 AND endpoint_id = (SELECT id FROM webhook_endpoints WHERE id = $3 AND user_id = $4 AND deleted_at IS NULL)`, now, deliveryID, endpointID, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "delivery not found")
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel)
		return err
	})
	if err == nil {
		db.notify()
	}
	return err
}

const deliveryFrom = ` FROM deliveries d JOIN events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id`

// EndpointDeliveries lists the deliveries of the user's endpoint newest first, each
// with every attempt.
func (db *DB) EndpointDeliveries(ctx context.Context, userID, endpointID string, p fetchsms.Page) ([]*fetchsms.Delivery, int64, error) {
	if _, err := db.Endpoint(ctx, userID, endpointID); err != nil {
		return nil, 0, err
	}
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.DeliveryCols+deliveryFrom+` WHERE d.endpoint_id = $1 AND d.seq < $2 ORDER BY d.seq DESC LIMIT $3`, endpointID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.EndpointDeliveries", err)
	}
	var out []*fetchsms.Delivery
	var seqs []int64
	for rows.Next() {
		d, seq, err := sqlrows.ScanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, 0, wrap("postgres.EndpointDeliveries", err)
		}
		out = append(out, d)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("postgres.EndpointDeliveries", err)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	for _, d := range out {
		arows, err := db.pool.Query(ctx, `SELECT attempted_at, status_code, error, latency_ms FROM delivery_attempts WHERE delivery_id = $1 ORDER BY seq`, d.ID)
		if err != nil {
			return nil, 0, wrap("postgres.EndpointDeliveries", err)
		}
		for arows.Next() {
			var a fetchsms.DeliveryAttempt
			var at, lat int64
			if err := arows.Scan(&at, &a.StatusCode, &a.Error, &lat); err != nil {
				arows.Close()
				return nil, 0, wrap("postgres.EndpointDeliveries", err)
			}
			a.At, a.Latency = sqlrows.FromMS(at), time.Duration(lat)*time.Millisecond
			d.History = append(d.History, a)
		}
		arows.Close()
		if err := arows.Err(); err != nil {
			return nil, 0, wrap("postgres.EndpointDeliveries", err)
		}
	}
	return out, next, nil
}

// ClaimDeliveries leases up to limit due deliveries of enabled endpoints for lease,
// so no other worker, on this server or another, sends them meanwhile. FOR UPDATE
// SKIP LOCKED lets servers claiming at the same moment take disjoint rows instead
// of queueing; the lease (wall time) keeps them out of every claim until it lapses.
func (db *DB) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*fetchsms.Delivery, error) {
	now := db.Clock.Now()
	real := db.RealClock.Now()
	var out []*fetchsms.Delivery
	err := db.tx(ctx, "postgres.ClaimDeliveries", func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT `+sqlrows.DeliveryCols+deliveryFrom+`
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.lease_until <= $2 AND e.enabled AND e.deleted_at IS NULL
			ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED`, sqlrows.Ms(now), sqlrows.Ms(real), limit)
		if err != nil {
			return err
		}
		ids := []string{}
		for rows.Next() {
			d, _, err := sqlrows.ScanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
			ids = append(ids, d.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries SET lease_until = $1 WHERE id = ANY($2)`, sqlrows.Ms(real.Add(lease)), ids)
		return err
	})
	return out, err
}

// RecordAttempt stores the outcome of one POST and schedules what follows: done on
// success; otherwise a retry after the next step of the schedule (with jitter), or
// failed once the schedule is spent. An endpoint that has failed without a success
// for DisableAfter is disabled with the reason.
func (db *DB) RecordAttempt(ctx context.Context, d *fetchsms.Delivery, a fetchsms.DeliveryAttempt) error {
	now := db.Clock.Now()
	return db.tx(ctx, "postgres.RecordAttempt", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, latency_ms) VALUES ($1, $2, $3, $4, $5)`,
			d.ID, sqlrows.Ms(a.At), a.StatusCode, a.Error, a.Latency.Milliseconds()); err != nil {
			return err
		}
		if a.OK() {
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, lease_until = 0 WHERE id = $2`, sqlrows.Ms(now), d.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1`, d.EndpointID)
			return err
		}
		attempts := d.Attempts + 1
		if attempts > len(fetchsms.RetrySchedule) {
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'failed', attempts = $1, lease_until = 0 WHERE id = $2`, attempts, d.ID); err != nil {
				return err
			}
		} else {
			wait := fetchsms.RetrySchedule[attempts-1]
			wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET attempts = $1, next_attempt_at = $2, lease_until = 0 WHERE id = $3`, attempts, sqlrows.Ms(now.Add(wait)), d.ID); err != nil {
				return err
			}
		}
		var since sql.NullInt64
		if err := tx.QueryRow(ctx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING failing_since`, sqlrows.Ms(now), d.EndpointID).Scan(&since); err != nil {
			return err
		}
		if since.Valid && now.Sub(sqlrows.FromMS(since.Int64)) >= fetchsms.DisableAfter {
			reason := "disabled after failing for 3 days without a successful delivery; last error: " + truncateReason(a)
			_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1 WHERE id = $2`, reason, d.EndpointID)
			return err
		}
		return nil
	})
}

func truncateReason(a fetchsms.DeliveryAttempt) string {
	s := a.Error
	if s == "" {
		s = "HTTP " + itoa(int64(a.StatusCode))
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// PendingDeliveries counts deliveries not yet delivered nor given up.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending'`).Scan(&n)
	return n, wrap("postgres.PendingDeliveries", err)
}
