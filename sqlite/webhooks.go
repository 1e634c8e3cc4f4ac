package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// notify wakes the delivery worker after a commit that may have enqueued deliveries.
func (db *DB) notify() {
	select {
	case db.notifyCh <- struct{}{}:
	default:
	}
}

// DeliveriesDue returns the channel that is signalled when deliveries may be due.
func (db *DB) DeliveriesDue() <-chan struct{} { return db.notifyCh }

// Subscribers returns the user's live, enabled endpoints, or the one named.
func (t *wtx) Subscribers(ctx context.Context, userID, only string) ([]*fetchsms.WebhookEndpoint, error) {
	q := `SELECT id, events FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL AND enabled = 1`
	args := []any{userID}
	if only != "" {
		q = `SELECT id, events FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL AND id = ?`
		args = append(args, only)
	}
	rows, err := t.QueryContext(ctx, q, args...)
	return sqlrows.All(rows, err, sqlrows.ScanSubscriber)
}

// Queue stores an event and its pending deliveries.
func (t *wtx) Queue(ctx context.Context, ev *fetchsms.Event, deliveries []*fetchsms.Delivery) error {
	t.queued = t.queued || len(deliveries) > 0
	if _, err := t.ExecContext(ctx, `INSERT INTO events (id, user_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, ev.UserID, ev.Type, string(ev.Payload), sqlrows.Ms(ev.CreatedAt)); err != nil {
		return err
	}
	for _, d := range deliveries {
		if _, err := t.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)`,
			d.ID, ev.ID, d.EndpointID, sqlrows.Ms(ev.CreatedAt), sqlrows.Ms(ev.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// CountEndpoints counts the user's live endpoints.
func (t *wtx) CountEndpoints(ctx context.Context, userID string) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL`, userID).Scan(&n)
	return n, err
}

// InsertEndpoint stores an endpoint.
func (t *wtx) InsertEndpoint(ctx context.Context, e *fetchsms.WebhookEndpoint) error {
	_, err := t.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, user_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ID, e.UserID, e.URL, e.Secret, sqlrows.EndpointEvents(e.Events), sqlrows.Ms(e.CreatedAt))
	return err
}

// HasEndpoint tells whether id is one of the user's live endpoints.
func (t *wtx) HasEndpoint(ctx context.Context, userID, id string) (bool, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID).Scan(&n)
	return n > 0, err
}

// MarkEndpointDeleted deletes and disables the user's live endpoint.
func (t *wtx) MarkEndpointDeleted(ctx context.Context, userID, id string, now time.Time) (bool, error) {
	return changed(t.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = ?, enabled = 0 WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, sqlrows.Ms(now), id, userID))
}

// ReenableEndpoint enables the user's live endpoint and clears its failure.
func (t *wtx) ReenableEndpoint(ctx context.Context, userID, id string) (bool, error) {
	return changed(t.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 1, disabled_reason = '', failing_since = NULL WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID))
}

// DisableEndpoint disables an endpoint with a reason.
func (t *wtx) DisableEndpoint(ctx context.Context, id, reason string) error {
	_, err := t.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ? WHERE id = ?`, reason, id)
	return err
}

// EndpointFailing sets failing_since unless it is set, and returns it.
func (t *wtx) EndpointFailing(ctx context.Context, id string, now time.Time) (time.Time, error) {
	var since int64
	err := t.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ? RETURNING failing_since`, sqlrows.Ms(now), id).Scan(&since)
	return sqlrows.FromMS(since), noRow(err)
}

// EndpointRecovered clears failing_since.
func (t *wtx) EndpointRecovered(ctx context.Context, id string) error {
	_, err := t.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?`, id)
	return err
}

// FailPendingDeliveries marks the endpoint's pending deliveries failed.
func (t *wtx) FailPendingDeliveries(ctx context.Context, endpointID string) error {
	_, err := t.ExecContext(ctx, `UPDATE deliveries SET status = 'failed' WHERE endpoint_id = ? AND status = 'pending'`, endpointID)
	return err
}

// RetryPendingDeliveries makes the endpoint's pending deliveries due at, afresh.
func (t *wtx) RetryPendingDeliveries(ctx context.Context, endpointID string, at time.Time) error {
	t.queued = true
	_, err := t.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?, attempts = 0 WHERE endpoint_id = ? AND status = 'pending'`, sqlrows.Ms(at), endpointID)
	return err
}

// ResetDelivery makes a delivery of the user's live endpoint pending and due at, afresh.
func (t *wtx) ResetDelivery(ctx context.Context, userID, endpointID, deliveryID string, at time.Time) (bool, error) {
	t.queued = true
	return changed(t.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0
		WHERE id = ? AND endpoint_id = (SELECT id FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL)`, sqlrows.Ms(at), deliveryID, endpointID, userID))
}

// EventDelivery returns the id of an event's delivery.
func (t *wtx) EventDelivery(ctx context.Context, eventID string) (string, error) {
	var id string
	err := t.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE event_id = ?`, eventID).Scan(&id)
	return id, noRow(err)
}

// InsertAttempt appends an attempt to a delivery's history.
func (t *wtx) InsertAttempt(ctx context.Context, deliveryID string, a fetchsms.DeliveryAttempt) error {
	_, err := t.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, latency_ms) VALUES (?, ?, ?, ?, ?)`,
		deliveryID, sqlrows.Ms(a.At), a.StatusCode, a.Error, a.Latency.Milliseconds())
	return err
}

// DeliverySucceeded marks a delivery delivered.
func (t *wtx) DeliverySucceeded(ctx context.Context, id string, at time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, lease_until = 0 WHERE id = ?`, sqlrows.Ms(at), id)
	return err
}

// RetryDelivery schedules a delivery's next attempt.
func (t *wtx) RetryDelivery(ctx context.Context, id string, attempts int, at time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE deliveries SET attempts = ?, next_attempt_at = ?, lease_until = 0 WHERE id = ?`, attempts, sqlrows.Ms(at), id)
	return err
}

// GiveUpDelivery marks a delivery failed.
func (t *wtx) GiveUpDelivery(ctx context.Context, id string, attempts int) error {
	_, err := t.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', attempts = ?, lease_until = 0 WHERE id = ?`, attempts, id)
	return err
}

// changed tells whether a statement changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Endpoints lists the user's live endpoints, newest first.
func (db *DB) Endpoints(ctx context.Context, userID string) ([]*fetchsms.WebhookEndpoint, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE user_id = ? AND deleted_at IS NULL ORDER BY seq DESC`, userID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanEndpoint)
	return out, engineErr(err)
}

// LoadEndpoint returns one of the user's live endpoints, or ErrNoRow.
func (db *DB) LoadEndpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	e, err := sqlrows.ScanEndpoint(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID))
	return e, engineErr(err)
}

// LoadDeliveries lists an endpoint's deliveries newest first, each with every attempt.
func (db *DB) LoadDeliveries(ctx context.Context, endpointID string, p fetchsms.Page) ([]*fetchsms.Delivery, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.DeliveryCols+sqlrows.DeliveryFrom+` WHERE d.endpoint_id = +? AND d.seq < +? ORDER BY d.seq DESC LIMIT +?`, endpointID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDelivery)
	if err == nil {
		err = sqlrows.Histories(out, func(id string) (sqlrows.Rows, error) {
			return db.rp.QueryContext(ctx, `SELECT `+sqlrows.AttemptCols+` FROM delivery_attempts WHERE delivery_id = ? ORDER BY seq`, id)
		})
	}
	return out, next, engineErr(err)
}

// LeaseDeliveries leases the deliveries c asks for. The writer is alone: what it
// selects, no other transaction can lease before it does.
func (db *DB) LeaseDeliveries(ctx context.Context, c fetchsms.DeliveryClaim) ([]*fetchsms.Delivery, error) {
	// A cheap read first: most wake-ups find nothing, and need no write lock.
	var due int
	if err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1)`,
		sqlrows.Ms(c.Due), sqlrows.Ms(c.Now)).Scan(&due); err != nil || due == 0 {
		return nil, engineErr(err)
	}
	var out []*fetchsms.Delivery
	err := db.write(ctx, func(t *wtx) error {
		rows, err := t.QueryContext(ctx, `SELECT `+sqlrows.DeliveryCols+sqlrows.DeliveryFrom+`
			JOIN (`+fmt.Sprintf(sqlrows.DueDeliveries, "?", "?")+`) c ON c.cid = d.id
			WHERE c.rn <= ? ORDER BY c.cdue LIMIT ?`, sqlrows.Ms(c.Due), sqlrows.Ms(c.Now), c.RankCap(), c.Candidates())
		if out, err = sqlrows.All(rows, err, sqlrows.NoSeq(sqlrows.ScanDelivery)); err != nil {
			return err
		}
		out = c.Fair(out)
		for _, d := range out {
			if _, err := t.ExecContext(ctx, `UPDATE deliveries SET lease_until = ? WHERE id = ?`, sqlrows.Ms(c.Until), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, engineErr(err)
	}
	return out, nil
}

// PendingDeliveries counts deliveries not yet delivered nor given up.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending'`).Scan(&n)
	return n, engineErr(err)
}

// StoredSecrets lists every webhook endpoint's stored secret (and previous
// secret, when it has one) and every gateway's sealed token.
func (db *DB) StoredSecrets(ctx context.Context) ([]fetchsms.StoredSecret, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT '`+fetchsms.SecretWebhook+`', id, secret FROM webhook_endpoints
		UNION ALL SELECT '`+fetchsms.SecretWebhookPrevious+`', id, previous_secret FROM webhook_endpoints WHERE previous_secret <> ''
		UNION ALL SELECT '`+fetchsms.SecretGateway+`', id, token_sealed FROM gateways WHERE token_sealed <> ''`)
	out, err := sqlrows.All(rows, err, func(r sqlrows.Row) (fetchsms.StoredSecret, error) {
		var s fetchsms.StoredSecret
		return s, r.Scan(&s.Kind, &s.ID, &s.Value)
	})
	return out, engineErr(err)
}

// ReplaceSecret replaces a stored secret when it is still old.
func (t *wtx) ReplaceSecret(ctx context.Context, s fetchsms.StoredSecret, old string) (bool, error) {
	if s.Kind == fetchsms.SecretGateway {
		return affected(t.ExecContext(ctx, `UPDATE gateways SET token_sealed = ? WHERE id = ? AND token_sealed = ?`, s.Value, s.ID, old))
	}
	if s.Kind == fetchsms.SecretWebhookPrevious {
		return affected(t.ExecContext(ctx, `UPDATE webhook_endpoints SET previous_secret = ? WHERE id = ? AND previous_secret = ?`, s.Value, s.ID, old))
	}
	return affected(t.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = ? WHERE id = ? AND secret = ?`, s.Value, s.ID, old))
}

// RotateEndpointSecret keeps the live endpoint's secret as its previous one
// until until and stores secret in its place.
func (t *wtx) RotateEndpointSecret(ctx context.Context, userID, id, secret string, until time.Time) (bool, error) {
	return affected(t.ExecContext(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, previous_until = ?, secret = ?
		WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, sqlrows.Ms(until), secret, id, userID))
}
