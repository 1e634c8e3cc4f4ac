package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// MaxEndpoints is how many live webhook endpoints one account may have.
const MaxEndpoints = 20

// notify wakes the delivery worker after a commit that may have enqueued deliveries.
func (db *DB) notify() {
	select {
	case db.notifyCh <- struct{}{}:
	default:
	}
}

// DeliveriesDue returns the channel that is signalled when deliveries may be due.
func (db *DB) DeliveriesDue() <-chan struct{} { return db.notifyCh }

// Enqueue writes an event and one pending delivery per enabled endpoint of its
// owner that wants it, inside the transaction of the change it announces.
func (tx *wtx) Enqueue(ctx context.Context, ev *fetchsms.Event, onlyEndpoint string) error {
	tx.queued = true
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, user_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, ev.UserID, ev.Type, string(ev.Payload), sqlrows.Ms(ev.CreatedAt)); err != nil {
		return err
	}
	q := `SELECT id, events FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL AND enabled = 1`
	args := []any{ev.UserID}
	if onlyEndpoint != "" {
		q = `SELECT id, events FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL AND id = ?`
		args = append(args, onlyEndpoint)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)`,
			newID(), ev.ID, id, sqlrows.Ms(ev.CreatedAt), sqlrows.Ms(ev.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// CreateEndpoint registers a webhook endpoint with a fresh signing secret. The URL
// must already be checked by the caller (it needs the network to do so).
func (db *DB) CreateEndpoint(ctx context.Context, userID, url string, events []string) (*fetchsms.WebhookEndpoint, error) {
	if err := fetchsms.ValidateEvents(events); err != nil {
		return nil, err
	}
	if events == nil {
		events = []string{}
	}
	evJSON, _ := json.Marshal(events)
	e := &fetchsms.WebhookEndpoint{ID: newID(), UserID: userID, URL: url, Secret: strings.Replace(fetchsms.NewToken("whsec_"), "-", "A", -1), Events: events, Enabled: true, CreatedAt: db.RealClock.Now().Truncate(time.Millisecond)}
	err := db.tx(ctx, "sqlite.CreateEndpoint", func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "at most %d webhook endpoints per account: delete one first", MaxEndpoints)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, user_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
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
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL ORDER BY seq DESC`, userID)
	if err != nil {
		return nil, wrap("sqlite.Endpoints", err)
	}
	defer rows.Close()
	var out []*fetchsms.WebhookEndpoint
	for rows.Next() {
		e, err := sqlrows.ScanEndpoint(rows)
		if err != nil {
			return nil, wrap("sqlite.Endpoints", err)
		}
		out = append(out, e)
	}
	return out, wrap("sqlite.Endpoints", rows.Err())
}

// Endpoint returns one of the user's live endpoints, or ENOTFOUND.
func (db *DB) Endpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	e, err := sqlrows.ScanEndpoint(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID))
	if err != nil {
		return nil, wrap("sqlite.Endpoint", notFound(err, "webhook endpoint not found"))
	}
	return e, nil
}

// DeleteEndpoint removes an endpoint; its pending deliveries are abandoned.
func (db *DB) DeleteEndpoint(ctx context.Context, userID, id string) error {
	now := sqlrows.Ms(db.RealClock.Now())
	return db.tx(ctx, "sqlite.DeleteEndpoint", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = ?, enabled = 0 WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, now, id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'failed' WHERE endpoint_id = ? AND status = 'pending'`, id)
		return err
	})
}

// EnableEndpoint re-enables an endpoint that was disabled for failing; its pending
// deliveries are retried at once.
func (db *DB) EnableEndpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	now := sqlrows.Ms(db.Clock.Now())
	err := db.tx(ctx, "sqlite.EnableEndpoint", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 1, disabled_reason = '', failing_since = NULL WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?, attempts = 0 WHERE endpoint_id = ? AND status = 'pending'`, now, id)
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
	err := db.tx(ctx, "sqlite.SendTestEvent", func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, endpointID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "webhook endpoint not found")
		}
		ev := fetchsms.TestEvent(userID, endpointID, db.Clock.Now())
		ev.ID = newID()
		if err := tx.Enqueue(ctx, ev, endpointID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE event_id = ?`, ev.ID).Scan(&id)
	})
	if err != nil {
		return "", err
	}
	db.notify()
	return id, nil
}

// Redeliver schedules a delivery of the user's endpoint to be sent again now, whatever
// became of it.
func (db *DB) Redeliver(ctx context.Context, userID, endpointID, deliveryID string) error {
	now := sqlrows.Ms(db.Clock.Now())
	err := db.tx(ctx, "sqlite.Redeliver", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0
			WHERE id = ? AND endpoint_id = (SELECT id FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL)`, now, deliveryID, endpointID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "delivery not found")
		}
		return nil
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
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.DeliveryCols+deliveryFrom+` WHERE d.endpoint_id = +? AND d.seq < +? ORDER BY d.seq DESC LIMIT +?`, endpointID, before, limit+1)
	if err != nil {
		return nil, 0, wrap("sqlite.EndpointDeliveries", err)
	}
	var out []*fetchsms.Delivery
	var seqs []int64
	for rows.Next() {
		d, seq, err := sqlrows.ScanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, 0, wrap("sqlite.EndpointDeliveries", err)
		}
		out = append(out, d)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("sqlite.EndpointDeliveries", err)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	for _, d := range out {
		arows, err := db.rp.QueryContext(ctx, `SELECT attempted_at, status_code, error, latency_ms FROM delivery_attempts WHERE delivery_id = ? ORDER BY seq`, d.ID)
		if err != nil {
			return nil, 0, wrap("sqlite.EndpointDeliveries", err)
		}
		for arows.Next() {
			var a fetchsms.DeliveryAttempt
			var at, lat int64
			if err := arows.Scan(&at, &a.StatusCode, &a.Error, &lat); err != nil {
				arows.Close()
				return nil, 0, wrap("sqlite.EndpointDeliveries", err)
			}
			a.At, a.Latency = sqlrows.FromMS(at), time.Duration(lat)*time.Millisecond
			d.History = append(d.History, a)
		}
		arows.Close()
	}
	return out, next, nil
}

// ClaimDeliveries leases up to limit due deliveries of enabled endpoints for lease,
// so no other worker (in this process or another) sends them meanwhile.
func (db *DB) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*fetchsms.Delivery, error) {
	now := db.Clock.Now()
	real := db.RealClock.Now()
	var out []*fetchsms.Delivery
	// A cheap read first: most wake-ups find nothing, and need no write lock.
	var due int
	if err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1)`,
		sqlrows.Ms(now), sqlrows.Ms(real)).Scan(&due); err != nil || due == 0 {
		return nil, wrap("sqlite.ClaimDeliveries", err)
	}
	err := db.tx(ctx, "sqlite.ClaimDeliveries", func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sqlrows.DeliveryCols+deliveryFrom+`
			WHERE d.status = 'pending' AND d.next_attempt_at <= +? AND d.lease_until <= +? AND e.enabled = 1 AND e.deleted_at IS NULL
			ORDER BY d.next_attempt_at LIMIT +?`, sqlrows.Ms(now), sqlrows.Ms(real), limit) // +?: see Authenticate
		if err != nil {
			return err
		}
		for rows.Next() {
			d, _, err := sqlrows.ScanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_until = ? WHERE id = ?`, sqlrows.Ms(real.Add(lease)), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// RecordAttempt stores the outcome of one POST and schedules what follows: done on
// success; otherwise a retry after the next step of the schedule (with jitter), or
// failed once the schedule is spent. An endpoint that has failed without a success
// for DisableAfter is disabled with the reason.
func (db *DB) RecordAttempt(ctx context.Context, d *fetchsms.Delivery, a fetchsms.DeliveryAttempt) error {
	now := db.Clock.Now()
	return db.tx(ctx, "sqlite.RecordAttempt", func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, latency_ms) VALUES (?, ?, ?, ?, ?)`,
			d.ID, sqlrows.Ms(a.At), a.StatusCode, a.Error, a.Latency.Milliseconds()); err != nil {
			return err
		}
		if a.OK() {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, lease_until = 0 WHERE id = ?`, sqlrows.Ms(now), d.ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?`, d.EndpointID)
			return err
		}
		attempts := d.Attempts + 1
		if attempts > len(fetchsms.RetrySchedule) {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', attempts = ?, lease_until = 0 WHERE id = ?`, attempts, d.ID); err != nil {
				return err
			}
		} else {
			wait := fetchsms.RetrySchedule[attempts-1]
			wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempts = ?, next_attempt_at = ?, lease_until = 0 WHERE id = ?`, attempts, sqlrows.Ms(now.Add(wait)), d.ID); err != nil {
				return err
			}
		}
		var since sql.NullInt64
		if err := tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ? RETURNING failing_since`, sqlrows.Ms(now), d.EndpointID).Scan(&since); err != nil {
			return err
		}
		if since.Valid && now.Sub(sqlrows.FromMS(since.Int64)) >= fetchsms.DisableAfter {
			reason := "disabled after failing for 3 days without a successful delivery; last error: " + truncateReason(a)
			_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ? WHERE id = ?`, reason, d.EndpointID)
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
	err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending'`).Scan(&n)
	return n, wrap("sqlite.PendingDeliveries", err)
}
