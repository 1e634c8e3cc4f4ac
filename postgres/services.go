package postgres

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// ServiceByID returns a service, enabled or not.
func (db *DB) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(db.pool.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1`, id))
	return s, engineErr(err)
}

// LockService reads a service and locks its row for a change, or ErrNoRow.
func (t *ptx) LockService(ctx context.Context, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(t.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1 FOR UPDATE`, id))
	return s, noRow(err)
}

// InsertService adds s after the last service, with the next free id. The table
// lock serialises concurrent creations (on any server), so ids never collide and
// a taken slug is seen before the insert.
func (t *ptx) InsertService(ctx context.Context, s *fetchsms.Service) error {
	if _, err := t.Exec(ctx, `LOCK TABLE services IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	var exists bool
	if err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE slug = $1)`, s.Slug).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return fetchsms.ErrDuplicate
	}
	c := s.Columns()
	err := t.QueryRow(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords, activation_code)
		VALUES ((SELECT COALESCE(max(id), 0) + 1 FROM services), $1, $2, $3, '{}', $4, (SELECT COALESCE(max(position), 0) + 1 FROM services), $5, $6, $7)
		RETURNING id`,
		s.Slug, s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords, s.ActivationCode).Scan(&s.ID)
	return engineErr(err)
}

// SaveService writes a service's name, price, state, detection rules and
// activation code.
func (t *ptx) SaveService(ctx context.Context, s *fetchsms.Service) error {
	c := s.Columns()
	_, err := t.Exec(ctx, `UPDATE services SET name = $1, price_cents = $2, enabled = $3, senders = $4, keywords = $5, activation_code = $6 WHERE id = $7`,
		s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords, s.ActivationCode, s.ID)
	if err != nil {
		return engineErr(err)
	}
	// A service's name is in every read of its verifications: every server's
	// cache drops them all (vcache.go).
	t.changed = append(t.changed, "*")
	return nil
}
