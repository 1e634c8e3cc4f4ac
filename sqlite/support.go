package sqlite

import (
	"context"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// InsertTicket stores a ticket.
func (t *wtx) InsertTicket(ctx context.Context, tk *fetchsms.Ticket) error {
	_, err := t.ExecContext(ctx, `INSERT INTO support_tickets (id, user_id, subject, status, verification_id, rental_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tk.ID, tk.UserID, tk.Subject, tk.Status, sqlrows.NullStr(tk.VerificationID), sqlrows.NullStr(tk.RentalID), sqlrows.Ms(tk.CreatedAt), sqlrows.Ms(tk.UpdatedAt))
	return err
}

// InsertTicketMessage appends a message to its ticket's thread.
func (t *wtx) InsertTicketMessage(ctx context.Context, m *fetchsms.TicketMessage) error {
	_, err := t.ExecContext(ctx, `INSERT INTO support_messages (id, ticket_id, author_id, staff, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.TicketID, m.AuthorID, m.Staff, m.Body, sqlrows.Ms(m.CreatedAt))
	return err
}

// LockTicket reads a ticket inside the writer's transaction (which no other
// writer can interleave with), or ErrNoRow.
func (t *wtx) LockTicket(ctx context.Context, id string) (*fetchsms.Ticket, error) {
	tk, _, err := sqlrows.ScanTicket(t.QueryRowContext(ctx, `SELECT `+sqlrows.TicketCols+sqlrows.TicketFrom+` WHERE t.id = ?`, id))
	return tk, noRow(err)
}

// SetTicketStatus sets a ticket's status.
func (t *wtx) SetTicketStatus(ctx context.Context, id, status string, now time.Time) error {
	_, err := t.ExecContext(ctx, `UPDATE support_tickets SET status = ?, updated_at = ? WHERE id = ?`, status, sqlrows.Ms(now), id)
	return err
}

// SetNumberStatus sets a pool number's status; false when there is none.
func (t *wtx) SetNumberStatus(ctx context.Context, numberID, status string) (bool, error) {
	return changed(t.ExecContext(ctx, `UPDATE numbers SET status = ? WHERE id = ?`, status, numberID))
}

// Tickets lists tickets newest first: one user's, or everyone's when f.UserID is "",
// optionally of one status.
func (db *DB) Tickets(ctx context.Context, f fetchsms.TicketFilter, p fetchsms.Page) ([]*fetchsms.Ticket, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.TicketCols+sqlrows.TicketFrom+`
		WHERE (? = '' OR t.user_id = ?) AND (? = '' OR t.status = ?) AND t.seq < ? ORDER BY t.seq DESC LIMIT ?`,
		f.UserID, f.UserID, f.Status, f.Status, before, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanTicket)
	return out, next, engineErr(err)
}

// LoadTicket returns a ticket with its messages, oldest first, or ErrNoRow.
func (db *DB) LoadTicket(ctx context.Context, id string) (*fetchsms.Ticket, error) {
	t, _, err := sqlrows.ScanTicket(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.TicketCols+sqlrows.TicketFrom+` WHERE t.id = ?`, id))
	if err == nil {
		rows, qerr := db.rp.QueryContext(ctx, `SELECT `+sqlrows.TicketMessageCols+` FROM support_messages WHERE ticket_id = ? ORDER BY seq`, id)
		t.Messages, err = sqlrows.All(rows, qerr, sqlrows.ScanTicketMessage)
	}
	if err != nil {
		return nil, engineErr(err)
	}
	return t, nil
}

// VerificationSales counts the verifications bought since a time by service and status.
func (db *DB) VerificationSales(ctx context.Context, since time.Time) ([]fetchsms.SalesGroup, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT service_id, status, FALSE, count(*), sum(cost_cents) FROM verifications WHERE created_at >= ? GROUP BY 1, 2`, sqlrows.Ms(since))
	out, err := sqlrows.All(rows, err, sqlrows.ScanSales)
	return out, engineErr(err)
}

// RentalSales counts the rentals bought since a time by service, status and refund.
func (db *DB) RentalSales(ctx context.Context, since time.Time) ([]fetchsms.SalesGroup, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT r.service_id, r.status, EXISTS (SELECT 1 FROM ledger l WHERE l.rental_id = r.id AND l.kind = 'refund'), count(*), sum(r.cost_cents)
		FROM rentals r WHERE r.created_at >= ? GROUP BY 1, 2, 3`, sqlrows.Ms(since))
	out, err := sqlrows.All(rows, err, sqlrows.ScanSales)
	return out, engineErr(err)
}

// CodeWaits lists the purchase-to-code waits of the verifications bought since a time.
func (db *DB) CodeWaits(ctx context.Context, since time.Time) ([]fetchsms.CodeWait, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT service_id, received_at - created_at FROM verifications
		WHERE status = 'received' AND received_at IS NOT NULL AND created_at >= ?`, sqlrows.Ms(since))
	out, err := sqlrows.All(rows, err, sqlrows.ScanCodeWait)
	return out, engineErr(err)
}

// ListNumbers lists the pool newest first with each number's gateway and state.
func (db *DB) ListNumbers(ctx context.Context, p fetchsms.Page) ([]*fetchsms.PoolNumber, int64, error) {
	limit, before := sqlrows.PageArgs(p)
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.PoolNumberCols+sqlrows.PoolNumberFrom+` WHERE n.seq < ? AND (? = '' OR instr(n.e164, ?) > 0) ORDER BY n.seq DESC LIMIT ?`, before, p.Query, p.Query, limit+1)
	out, next, err := sqlrows.Page(rows, err, limit, sqlrows.ScanPoolNumber)
	return out, next, engineErr(err)
}
