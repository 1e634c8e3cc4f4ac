package postgres

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// CreateTicket opens a ticket with its first message. A verification or rental that
// is not the user's own is ENOTFOUND.
func (db *DB) CreateTicket(ctx context.Context, userID string, req fetchsms.TicketRequest) (*fetchsms.Ticket, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := db.Clock.Now()
	t := &fetchsms.Ticket{ID: newID(), UserID: userID, Subject: req.Subject, Status: fetchsms.TicketOpen,
		VerificationID: req.VerificationID, RentalID: req.RentalID, CreatedAt: now, UpdatedAt: now}
	m := &fetchsms.TicketMessage{ID: newID(), TicketID: t.ID, AuthorID: userID, Body: req.Body, CreatedAt: now}
	err := db.tx(ctx, "postgres.CreateTicket", func(tx pgx.Tx) error {
		var one int
		if req.VerificationID != "" {
			err := tx.QueryRow(ctx, `SELECT 1 FROM verifications WHERE id = $1 AND user_id = $2`, req.VerificationID, userID).Scan(&one)
			if err != nil {
				return notFound(err, "verification not found")
			}
		}
		if req.RentalID != "" {
			err := tx.QueryRow(ctx, `SELECT 1 FROM rentals WHERE id = $1 AND user_id = $2`, req.RentalID, userID).Scan(&one)
			if err != nil {
				return notFound(err, "rental not found")
			}
		}
		if err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, userID).Scan(&t.UserEmail); err != nil {
			return notFound(err, "user not found")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO support_tickets (id, user_id, subject, status, verification_id, rental_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, userID, t.Subject, t.Status, sqlrows.NullStr(t.VerificationID), sqlrows.NullStr(t.RentalID), sqlrows.Ms(now), sqlrows.Ms(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO support_messages (id, ticket_id, author_id, staff, body, created_at) VALUES ($1, $2, $3, false, $4, $5)`,
			m.ID, t.ID, userID, m.Body, sqlrows.Ms(now))
		return err
	})
	if err != nil {
		return nil, err
	}
	t.Messages = []*fetchsms.TicketMessage{m}
	return t, nil
}

const ticketColumns = `t.seq, t.id, t.user_id, u.email, t.subject, t.status, t.verification_id, t.rental_id, t.created_at, t.updated_at`

// Tickets lists tickets newest first: one user's, or everyone's when f.UserID is "",
// optionally of one status.
func (db *DB) Tickets(ctx context.Context, f fetchsms.TicketFilter, p fetchsms.Page) ([]*fetchsms.Ticket, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT `+ticketColumns+` FROM support_tickets t JOIN users u ON u.id = t.user_id
		WHERE ($1 = '' OR t.user_id = $1) AND ($2 = '' OR t.status = $2) AND t.seq < $3 ORDER BY t.seq DESC LIMIT $4`,
		f.UserID, f.Status, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.Tickets", err)
	}
	defer rows.Close()
	var out []*fetchsms.Ticket
	var seqs []int64
	for rows.Next() {
		t, seq, err := sqlrows.ScanTicket(rows)
		if err != nil {
			return nil, 0, wrap("postgres.Tickets", err)
		}
		out = append(out, t)
		seqs = append(seqs, seq)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	return out, next, wrap("postgres.Tickets", rows.Err())
}

// Ticket returns a ticket with its messages, oldest first. userID "" reads any
// ticket (staff); another user's ticket is ENOTFOUND.
func (db *DB) Ticket(ctx context.Context, userID, id string) (*fetchsms.Ticket, error) {
	t, _, err := sqlrows.ScanTicket(db.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM support_tickets t JOIN users u ON u.id = t.user_id
		WHERE t.id = $1 AND ($2 = '' OR t.user_id = $2)`, id, userID))
	if err != nil {
		return nil, wrap("postgres.Ticket", notFound(err, "ticket not found"))
	}
	rows, err := db.pool.Query(ctx, `SELECT id, author_id, staff, body, created_at FROM support_messages WHERE ticket_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap("postgres.Ticket", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := &fetchsms.TicketMessage{TicketID: id}
		var created int64
		if err := rows.Scan(&m.ID, &m.AuthorID, &m.Staff, &m.Body, &created); err != nil {
			return nil, wrap("postgres.Ticket", err)
		}
		m.CreatedAt = sqlrows.FromMS(created)
		t.Messages = append(t.Messages, m)
	}
	return t, wrap("postgres.Ticket", rows.Err())
}

// AddTicketMessage appends a message; a staff reply marks the ticket answered, a
// customer's marks it open (reopening a closed one).
func (db *DB) AddTicketMessage(ctx context.Context, userID, ticketID string, staff bool, body string) (*fetchsms.TicketMessage, error) {
	body, err := fetchsms.ValidateTicketBody(body)
	if err != nil {
		return nil, err
	}
	now := db.Clock.Now()
	m := &fetchsms.TicketMessage{ID: newID(), TicketID: ticketID, AuthorID: userID, Staff: staff, Body: body, CreatedAt: now}
	status := fetchsms.TicketOpen
	owner := userID
	if staff {
		status, owner = fetchsms.TicketAnswered, ""
	}
	err = db.tx(ctx, "postgres.AddTicketMessage", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE support_tickets SET status = $1, updated_at = $2 WHERE id = $3 AND ($4 = '' OR user_id = $4)`,
			status, sqlrows.Ms(now), ticketID, owner)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "ticket not found")
		}
		_, err = tx.Exec(ctx, `INSERT INTO support_messages (id, ticket_id, author_id, staff, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			m.ID, ticketID, userID, staff, body, sqlrows.Ms(now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// CloseTicket closes a ticket; closing a closed one changes nothing.
func (db *DB) CloseTicket(ctx context.Context, id string) (*fetchsms.Ticket, error) {
	now := db.Clock.Now()
	err := db.tx(ctx, "postgres.CloseTicket", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM support_tickets WHERE id = $1`, id).Scan(&one); err != nil {
			return notFound(err, "ticket not found")
		}
		_, err := tx.Exec(ctx, `UPDATE support_tickets SET status = 'closed', updated_at = $1 WHERE id = $2 AND status <> 'closed'`, sqlrows.Ms(now), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.Ticket(ctx, "", id)
}

// ServiceStats returns per-service sales of purchases made since a time, busiest
// first. Verification revenue is what codes earned (refunded purchases earn
// nothing); rental revenue is every rental not refunded so far.
func (db *DB) ServiceStats(ctx context.Context, since time.Time) ([]fetchsms.ServiceStats, error) {
	const op = "postgres.ServiceStats"
	byID := map[int]*fetchsms.ServiceStats{}
	get := func(id int) *fetchsms.ServiceStats {
		if s := byID[id]; s != nil {
			return s
		}
		s := &fetchsms.ServiceStats{ServiceID: id}
		byID[id] = s
		return s
	}
	rows, err := db.pool.Query(ctx, `SELECT service_id, count(*),
		count(*) FILTER (WHERE status = 'received'),
		count(*) FILTER (WHERE status IN ('received', 'expired', 'cancelled')),
		coalesce(sum(cost_cents) FILTER (WHERE status = 'received'), 0)::bigint
		FROM verifications WHERE created_at >= $1 GROUP BY service_id`, sqlrows.Ms(since))
	if err != nil {
		return nil, wrap(op, err)
	}
	for rows.Next() {
		var id int
		var n, recv, ended, rev int64
		if err := rows.Scan(&id, &n, &recv, &ended, &rev); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		s := get(id)
		s.Purchases, s.Received, s.Ended, s.RevenueCents = int(n), int(recv), int(ended), fetchsms.Cents(rev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	rows, err = db.pool.Query(ctx, `SELECT r.service_id, count(*),
		coalesce(sum(r.cost_cents) FILTER (WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.rental_id = r.id AND l.kind = 'refund')), 0)::bigint
		FROM rentals r WHERE r.created_at >= $1 GROUP BY r.service_id`, sqlrows.Ms(since))
	if err != nil {
		return nil, wrap(op, err)
	}
	for rows.Next() {
		var id int
		var n, rev int64
		if err := rows.Scan(&id, &n, &rev); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		s := get(id)
		s.Purchases += int(n)
		s.RevenueCents += fetchsms.Cents(rev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	rows, err = db.pool.Query(ctx, `SELECT service_id, received_at - created_at FROM verifications
		WHERE status = 'received' AND received_at IS NOT NULL AND created_at >= $1`, sqlrows.Ms(since))
	if err != nil {
		return nil, wrap(op, err)
	}
	waits := map[int][]int64{}
	for rows.Next() {
		var id int
		var d int64
		if err := rows.Scan(&id, &d); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		waits[id] = append(waits[id], d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	rows, err = db.pool.Query(ctx, `SELECT id, name FROM services`)
	if err != nil {
		return nil, wrap(op, err)
	}
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		if s := byID[id]; s != nil {
			s.ServiceName = name
		}
	}
	rows.Close()
	return fetchsms.SortStats(byID, waits), wrap(op, rows.Err())
}

// ListNumbers lists the pool newest first with each number's gateway and state.
func (db *DB) ListNumbers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.PoolNumber, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.pool.Query(ctx, `SELECT n.seq, n.id, n.e164, n.gateway_id, g.name, n.status, coalesce(n.holder, ''), n.used_at IS NULL, n.created_at
		FROM numbers n JOIN gateways g ON g.id = n.gateway_id WHERE n.seq < $1 ORDER BY n.seq DESC LIMIT $2`, before, limit+1)
	if err != nil {
		return nil, 0, wrap("postgres.ListNumbers", err)
	}
	defer rows.Close()
	var out []*fetchsms.PoolNumber
	var seqs []int64
	for rows.Next() {
		n := &fetchsms.PoolNumber{}
		var seq, created int64
		if err := rows.Scan(&seq, &n.ID, &n.E164, &n.GatewayID, &n.GatewayName, &n.Status, &n.Holder, &n.Pristine, &created); err != nil {
			return nil, 0, wrap("postgres.ListNumbers", err)
		}
		n.CreatedAt = sqlrows.FromMS(created)
		out = append(out, n)
		seqs = append(seqs, seq)
	}
	out, next := sqlrows.Trim(out, seqs, limit)
	return out, next, wrap("postgres.ListNumbers", rows.Err())
}
