package sqlite

import (
	"context"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// ServiceByID returns a service, enabled or not.
func (db *DB) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	s, err := serviceByID(ctx, db.rp, id)
	return s, wrap("sqlite.ServiceByID", err)
}

// serviceByID reads service id, enabled or not; ENOTFOUND when there is none.
func serviceByID(ctx context.Context, q queryer, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(q.QueryRowContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = ?`, id))
	return s, engineErr(err)
}

// CreateService adds a service after the last one, with the next free id.
func (db *DB) CreateService(ctx context.Context, s fetchsms.Service) (*fetchsms.Service, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := s.Columns()
	err := db.tx(ctx, "sqlite.CreateService", func(tx *wtx) error {
		tx.servicesChanged()
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) + 1 FROM services`).Scan(&s.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords)
			VALUES (?, ?, ?, ?, '{}', ?, (SELECT COALESCE(max(position), 0) + 1 FROM services), ?, ?)`,
			s.ID, s.Slug, s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords)
		if isUnique(err) {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "a service with slug %q already exists", s.Slug)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.ServiceByID(ctx, s.ID)
}

// UpdateService edits a service's name, price, state and detection rules.
func (db *DB) UpdateService(ctx context.Context, id int, u fetchsms.ServiceUpdate) (*fetchsms.Service, error) {
	err := db.tx(ctx, "sqlite.UpdateService", func(tx *wtx) error {
		tx.servicesChanged()
		cur, err := serviceByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next := u.Apply(*cur)
		if err := next.Validate(); err != nil {
			return err
		}
		c := next.Columns()
		_, err = tx.ExecContext(ctx, `UPDATE services SET name = ?, price_cents = ?, enabled = ?, senders = ?, keywords = ? WHERE id = ?`,
			next.Name, next.PriceCents, next.Enabled, c.Senders, c.Keywords, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.ServiceByID(ctx, id)
}
