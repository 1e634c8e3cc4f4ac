package sqlite

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// ServiceByID returns a service, enabled or not.
func (db *DB) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	return serviceByID(ctx, db.rp, id)
}

// serviceByID reads service id, enabled or not; ENOTFOUND when there is none.
func serviceByID(ctx context.Context, q queryer, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(q.QueryRowContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = ?`, id))
	return s, engineErr(err)
}

// LockService reads a service for a change (the writer is alone), or ErrNoRow.
func (t *wtx) LockService(ctx context.Context, id int) (*fetchsms.Service, error) {
	return serviceByID(ctx, t, id)
}

// InsertService adds s after the last service, with the next free id.
func (t *wtx) InsertService(ctx context.Context, s *fetchsms.Service) error {
	t.servicesChanged()
	if err := t.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) + 1 FROM services`).Scan(&s.ID); err != nil {
		return err
	}
	c := s.Columns()
	_, err := t.ExecContext(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords, activation_code)
		VALUES (?, ?, ?, ?, '{}', ?, (SELECT COALESCE(max(position), 0) + 1 FROM services), ?, ?, ?)`,
		s.ID, s.Slug, s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords, s.ActivationCode)
	return engineErr(err)
}

// SaveService writes a service's name, price, state, detection rules and
// activation code.
func (t *wtx) SaveService(ctx context.Context, s *fetchsms.Service) error {
	t.servicesChanged()
	c := s.Columns()
	_, err := t.ExecContext(ctx, `UPDATE services SET name = ?, price_cents = ?, enabled = ?, senders = ?, keywords = ?, activation_code = ? WHERE id = ?`,
		s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords, s.ActivationCode, s.ID)
	return engineErr(err)
}
