package postgres

import (
	"context"
	"errors"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// ServiceByID returns a service, enabled or not.
func (db *DB) ServiceByID(ctx context.Context, id int) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(db.pool.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fetchsms.Errorf(fetchsms.ENOTFOUND, "service not found")
	}
	if err != nil {
		return nil, wrap("postgres.ServiceByID", err)
	}
	return s, nil
}

// CreateService adds a service after the last one, with the next free id. The
// table lock serialises concurrent creations so ids never collide.
func (db *DB) CreateService(ctx context.Context, s fetchsms.Service) (*fetchsms.Service, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := s.Columns()
	err := db.tx(ctx, "postgres.CreateService", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE services IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE slug = $1)`, s.Slug).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fetchsms.Errorf(fetchsms.ECONFLICT, "a service with slug %q already exists", s.Slug)
		}
		return tx.QueryRow(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords)
			VALUES ((SELECT COALESCE(max(id), 0) + 1 FROM services), $1, $2, $3, '{}', $4, (SELECT COALESCE(max(position), 0) + 1 FROM services), $5, $6)
			RETURNING id`,
			s.Slug, s.Name, s.PriceCents, s.Enabled, c.Senders, c.Keywords).Scan(&s.ID)
	})
	if err != nil {
		return nil, err
	}
	return db.ServiceByID(ctx, s.ID)
}

// UpdateService edits a service's name, price, state and detection rules.
func (db *DB) UpdateService(ctx context.Context, id int, u fetchsms.ServiceUpdate) (*fetchsms.Service, error) {
	err := db.tx(ctx, "postgres.UpdateService", func(tx pgx.Tx) error {
		cur, err := sqlrows.ScanService(tx.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "service not found")
		}
		if err != nil {
			return err
		}
		next := u.Apply(*cur)
		if err := next.Validate(); err != nil {
			return err
		}
		c := next.Columns()
		_, err = tx.Exec(ctx, `UPDATE services SET name = $1, price_cents = $2, enabled = $3, senders = $4, keywords = $5 WHERE id = $6`,
			next.Name, next.PriceCents, next.Enabled, c.Senders, c.Keywords, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.ServiceByID(ctx, id)
}
