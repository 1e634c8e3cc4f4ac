package postgres

import (
	"context"
	"fmt"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// notify wakes this server's delivery worker after a commit that may have enqueued
// deliveries. Other servers are woken by the NOTIFY that Update sends after such a commit.
func (db *DB) notify() {
	select {
	case db.notifyCh <- struct{}{}:
	default:
	}
}

// DeliveriesDue returns the channel that is signalled when deliveries may be due:
// after a local commit that enqueued some, and on a NOTIFY from any server.
func (db *DB) DeliveriesDue() <-chan struct{} { return db.notifyCh }

// Subscribers returns the user's live, enabled endpoints, or the one named.
func (t *ptx) Subscribers(ctx context.Context, userID, only string) ([]*fetchsms.WebhookEndpoint, error) {
	q := `SELECT id, events FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL AND enabled`
	args := []any{userID}
	if only != "" {
		q = `SELECT id, events FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL AND id = $2`
		args = append(args, only)
	}
	rows, err := t.Query(ctx, q, args...)
	return sqlrows.All(rows, err, sqlrows.ScanSubscriber)
}

// Queue stores an event and its pending deliveries. Every server's worker is
// woken after the commit (Update's announce), never if the transaction rolls back.
// Its writes are deferred (pipetx.go): sent with the next statement or the commit.
func (t *ptx) Queue(ctx context.Context, ev *fetchsms.Event, deliveries []*fetchsms.Delivery) error {
	// The user's event-log lock (eventLogLock) and the insert in one statement:
	// the row to insert is made from the lock's, so the lock is taken first and
	// the seq is drawn after it.
	t.Defer(`WITH l AS (SELECT pg_advisory_xact_lock($6, hashtext($2)))
		INSERT INTO events (id, user_id, type, payload, created_at) SELECT $1, $2, $3, $4, $5 FROM l`,
		ev.ID, ev.UserID, ev.Type, string(ev.Payload), sqlrows.Ms(ev.CreatedAt), int32(eventLogLock))
	for _, d := range deliveries {
		t.Defer(`INSERT INTO deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)`,
			d.ID, ev.ID, d.EndpointID, sqlrows.Ms(ev.CreatedAt))
	}
	if len(deliveries) == 0 {
		return nil
	}
	t.queued = true
	return nil
}

// CountEndpoints counts the user's live endpoints, with the user's row locked
// first: two servers cannot both add the last endpoint allowed.
func (t *ptx) CountEndpoints(ctx context.Context, userID string) (int, error) {
	if _, err := t.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
		return 0, err
	}
	var n int
	err := t.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL`, userID).Scan(&n)
	return n, err
}

// InsertEndpoint stores an endpoint.
func (t *ptx) InsertEndpoint(ctx context.Context, e *fetchsms.WebhookEndpoint) error {
	_, err := t.Exec(ctx, `INSERT INTO webhook_endpoints (id, user_id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, e.UserID, e.URL, e.Secret, sqlrows.EndpointEvents(e.Events), sqlrows.Ms(e.CreatedAt))
	return err
}

// HasEndpoint tells whether id is one of the user's live endpoints.
func (t *ptx) HasEndpoint(ctx context.Context, userID, id string) (bool, error) {
	var n int
	err := t.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID).Scan(&n)
	return n > 0, err
}

// MarkEndpointDeleted deletes and disables the user's live endpoint.
func (t *ptx) MarkEndpointDeleted(ctx context.Context, userID, id string, now time.Time) (bool, error) {
	return changed(t.Exec(ctx, `UPDATE webhook_endpoints SET deleted_at = $1, enabled = false WHERE id = $2 AND user_id = $3 AND deleted_at IS NULL`, sqlrows.Ms(now), id, userID))
}

// ReenableEndpoint enables the user's live endpoint and clears its failure.
func (t *ptx) ReenableEndpoint(ctx context.Context, userID, id string) (bool, error) {
	return changed(t.Exec(ctx, `UPDATE webhook_endpoints SET enabled = true, disabled_reason = '', failing_since = NULL WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID))
}

// DisableEndpoint disables an endpoint with a reason.
func (t *ptx) DisableEndpoint(ctx context.Context, id, reason string) error {
	_, err := t.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1 WHERE id = $2`, reason, id)
	return err
}

// EndpointFailing sets failing_since unless it is set, and returns it.
func (t *ptx) EndpointFailing(ctx context.Context, id string, now time.Time) (time.Time, error) {
	var since int64
	err := t.QueryRow(ctx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING failing_since`, sqlrows.Ms(now), id).Scan(&since)
	return sqlrows.FromMS(since), noRow(err)
}

// EndpointRecovered clears failing_since.
func (t *ptx) EndpointRecovered(ctx context.Context, id string) error {
	_, err := t.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1`, id)
	return err
}

// FailPendingDeliveries marks the endpoint's pending deliveries failed.
func (t *ptx) FailPendingDeliveries(ctx context.Context, endpointID string) error {
	_, err := t.Exec(ctx, `UPDATE deliveries SET status = 'failed' WHERE endpoint_id = $1 AND status = 'pending'`, endpointID)
	return err
}

// RetryPendingDeliveries makes the endpoint's pending deliveries due at, afresh,
// and has every server's worker woken after the commit.
func (t *ptx) RetryPendingDeliveries(ctx context.Context, endpointID string, at time.Time) error {
	if _, err := t.Exec(ctx, `UPDATE deliveries SET next_attempt_at = $1, attempts = 0 WHERE endpoint_id = $2 AND status = 'pending'`, sqlrows.Ms(at), endpointID); err != nil {
		return err
	}
	t.queued = true
	return nil
}

// ResetDelivery makes a delivery of the user's live endpoint pending and due at,
// afresh, and wakes every server's worker at the commit.
func (t *ptx) ResetDelivery(ctx context.Context, userID, endpointID, deliveryID string, at time.Time) (bool, error) {
	ok, err := changed(t.Exec(ctx, `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = 0
		WHERE id = $2 AND endpoint_id = (SELECT id FROM webhook_endpoints WHERE id = $3 AND user_id = $4 AND deleted_at IS NULL)`, sqlrows.Ms(at), deliveryID, endpointID, userID))
	if err != nil || !ok {
		return ok, err
	}
	t.queued = true // every server's worker is woken after the commit (Update)
	return true, nil
}

// EventDelivery returns the id of an event's delivery.
func (t *ptx) EventDelivery(ctx context.Context, eventID string) (string, error) {
	var id string
	err := t.QueryRow(ctx, `SELECT id FROM deliveries WHERE event_id = $1`, eventID).Scan(&id)
	return id, noRow(err)
}

// InsertAttempt appends an attempt to a delivery's history.
func (t *ptx) InsertAttempt(ctx context.Context, deliveryID string, a fetchsms.DeliveryAttempt) error {
	_, err := t.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, latency_ms) VALUES ($1, $2, $3, $4, $5)`,
		deliveryID, sqlrows.Ms(a.At), a.StatusCode, a.Error, a.Latency.Milliseconds())
	return err
}

// DeliverySucceeded marks a delivery delivered.
func (t *ptx) DeliverySucceeded(ctx context.Context, id string, at time.Time) error {
	_, err := t.Exec(ctx, `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, lease_until = 0 WHERE id = $2`, sqlrows.Ms(at), id)
	return err
}

// RetryDelivery schedules a delivery's next attempt.
func (t *ptx) RetryDelivery(ctx context.Context, id string, attempts int, at time.Time) error {
	_, err := t.Exec(ctx, `UPDATE deliveries SET attempts = $1, next_attempt_at = $2, lease_until = 0 WHERE id = $3`, attempts, sqlrows.Ms(at), id)
	return err
}

// GiveUpDelivery marks a delivery failed.
func (t *ptx) GiveUpDelivery(ctx context.Context, id string, attempts int) error {
	_, err := t.Exec(ctx, `UPDATE deliveries SET status = 'failed', attempts = $1, lease_until = 0 WHERE id = $2`, attempts, id)
	return err
}

// changed tells whether a statement changed a row.
func changed(tag pgconn.CommandTag, err error) (bool, error) {
	return tag.RowsAffected() > 0, err
}

// Endpoints lists the user's live endpoints, newest first.
func (db *DB) Endpoints(ctx context.Context, userID string) ([]*fetchsms.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL ORDER BY seq DESC`, userID)
	out, err := sqlrows.All(rows, err, sqlrows.ScanEndpoint)
	return out, engineErr(err)
}

// LoadEndpoint returns one of the user's live endpoints, or ErrNoRow.
func (db *DB) LoadEndpoint(ctx context.Context, userID, id string) (*fetchsms.WebhookEndpoint, error) {
	e, err := sqlrows.ScanEndpoint(db.pool.QueryRow(ctx, `SELECT `+sqlrows.EndpointCols+` FROM webhook_endpoints WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`, id, userID))
	return e, engineErr(err)
}

// LoadDeliveries lists an endpoint's deliveries newest first, each with every attempt.
func (db *DB) LoadDeliveries(ctx context.Context, endpointID string, p fetchsms.Page) ([]*fetchsms.Delivery, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.DeliveryCols+sqlrows.DeliveryFrom+` WHERE d.endpoint_id = $1 AND d.seq < $2 ORDER BY d.seq DESC LIMIT $3`, endpointID, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanDelivery)
	if err == nil {
		err = sqlrows.Histories(out, func(id string) (sqlrows.Rows, error) {
			return db.pool.Query(ctx, `SELECT `+sqlrows.AttemptCols+` FROM delivery_attempts WHERE delivery_id = $1 ORDER BY seq`, id)
		})
	}
	return out, next, engineErr(err)
}

// LeaseDeliveries leases the deliveries c asks for, so that no other worker, on
// this server or another, sends them meanwhile. FOR UPDATE SKIP LOCKED lets
// servers claiming at the same moment take disjoint rows instead of queueing;
// the lease keeps them out of every claim until it lapses.
func (db *DB) LeaseDeliveries(ctx context.Context, c fetchsms.DeliveryClaim) ([]*fetchsms.Delivery, error) {
	var out []*fetchsms.Delivery
	err := db.run(ctx, func(tx pgx.Tx) error {
		var cands []string
		rows, err := tx.Query(ctx, `SELECT cid FROM (`+fmt.Sprintf(sqlrows.DueDeliveries, "$1", "$2")+`) c WHERE rn <= $3 ORDER BY cdue LIMIT $4`,
			sqlrows.Ms(c.Due), sqlrows.Ms(c.Now), c.RankCap(), c.Candidates())
		if cands, err = sqlrows.All(rows, err, sqlrows.ScanString); err != nil || len(cands) == 0 {
			return err
		}
		// Lock what another server has not taken meanwhile, then keep a fair share.
		rows, err = tx.Query(ctx, `SELECT `+sqlrows.DeliveryCols+sqlrows.DeliveryFrom+`
			WHERE d.id = ANY($1) AND d.status = 'pending' AND d.lease_until <= $2
			ORDER BY d.next_attempt_at FOR UPDATE OF d SKIP LOCKED`, cands, sqlrows.Ms(c.Now))
		if out, err = sqlrows.All(rows, err, sqlrows.NoSeq(sqlrows.ScanDelivery)); err != nil {
			return err
		}
		if out = c.Fair(out); len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		for i, d := range out {
			ids[i] = d.ID
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries SET lease_until = $1 WHERE id = ANY($2)`, sqlrows.Ms(c.Until), ids)
		return err
	})
	if err != nil {
		return nil, engineErr(err)
	}
	return out, nil
}

// PendingDeliveries counts deliveries not yet delivered nor given up.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending'`).Scan(&n)
	return n, engineErr(err)
}

// StoredSecrets lists every webhook endpoint's stored secret (and previous
// secret, when it has one) and every gateway's sealed token.
func (db *DB) StoredSecrets(ctx context.Context) ([]fetchsms.StoredSecret, error) {
	rows, err := db.pool.Query(ctx, `SELECT '`+fetchsms.SecretWebhook+`', id, secret FROM webhook_endpoints
		UNION ALL SELECT '`+fetchsms.SecretWebhookPrevious+`', id, previous_secret FROM webhook_endpoints WHERE previous_secret <> ''
		UNION ALL SELECT '`+fetchsms.SecretGateway+`', id, token_sealed FROM gateways WHERE token_sealed <> ''`)
	out, err := sqlrows.All(rows, err, func(r sqlrows.Row) (fetchsms.StoredSecret, error) {
		var s fetchsms.StoredSecret
		return s, r.Scan(&s.Kind, &s.ID, &s.Value)
	})
	return out, engineErr(err)
}

// ReplaceSecret replaces a stored secret when it is still old.
func (t *ptx) ReplaceSecret(ctx context.Context, s fetchsms.StoredSecret, old string) (bool, error) {
	if s.Kind == fetchsms.SecretGateway {
		return affected(t.Exec(ctx, `UPDATE gateways SET token_sealed = $1 WHERE id = $2 AND token_sealed = $3`, s.Value, s.ID, old))
	}
	if s.Kind == fetchsms.SecretWebhookPrevious {
		return affected(t.Exec(ctx, `UPDATE webhook_endpoints SET previous_secret = $1 WHERE id = $2 AND previous_secret = $3`, s.Value, s.ID, old))
	}
	return affected(t.Exec(ctx, `UPDATE webhook_endpoints SET secret = $1 WHERE id = $2 AND secret = $3`, s.Value, s.ID, old))
}

// RotateEndpointSecret keeps the live endpoint's secret as its previous one
// until until and stores secret in its place.
func (t *ptx) RotateEndpointSecret(ctx context.Context, userID, id, secret string, until time.Time) (bool, error) {
	return affected(t.Exec(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $1, secret = $2
		WHERE id = $3 AND user_id = $4 AND deleted_at IS NULL`, sqlrows.Ms(until), secret, id, userID))
}
