package sqlite

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// SeedCatalog inserts the services of cat that the database does not have yet (by
// id); existing rows, which admins may have edited, are left alone.
func (db *DB) SeedCatalog(ctx context.Context, cat []fetchsms.Service) error {
	return db.tx(ctx, "sqlite.SeedCatalog", func(tx *wtx) error {
		tx.servicesChanged()
		for i, s := range cat {
			c := s.Columns()
			_, err := tx.ExecContext(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				s.ID, s.Slug, s.Name, s.PriceCents, c.LongPrices, s.Enabled, i, c.Senders, c.Keywords)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// AllServices returns the whole catalog in display order, disabled services included.
func (db *DB) AllServices(ctx context.Context) ([]*fetchsms.Service, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services ORDER BY position, id`)
	if err != nil {
		return nil, wrap("sqlite.AllServices", err)
	}
	defer rows.Close()
	var out []*fetchsms.Service
	for rows.Next() {
		s, err := sqlrows.ScanService(rows)
		if err != nil {
			return nil, wrap("sqlite.AllServices", err)
		}
		out = append(out, s)
	}
	return out, wrap("sqlite.AllServices", rows.Err())
}

// ServiceByRef resolves a service reference: its numeric id or its slug. An unknown
// or disabled service is ENOTFOUND.
func (db *DB) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return serviceByRef(ctx, db.rp, ref)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) row
	QueryContext(ctx context.Context, query string, args ...any) (rowsIter, error)
}

func serviceByRef(ctx context.Context, q queryer, ref string) (*fetchsms.Service, error) {
	ref = strings.TrimSpace(ref)
	var r row
	if id, err := strconv.Atoi(ref); err == nil {
		r = q.QueryRowContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = ? AND enabled = 1`, id)
	} else {
		r = q.QueryRowContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE slug = ? AND enabled = 1`, strings.ToLower(ref))
	}
	s, err := sqlrows.ScanService(r)
	return s, engineErr(err)
}

// Catalog returns the enabled services in display order with live stock:
// short_available counts free numbers that never delivered a code for the service,
// long_available counts free pristine numbers.
func (db *DB) Catalog(ctx context.Context) ([]fetchsms.ServiceStock, error) {
	services, err := db.AllServices(ctx)
	if err != nil {
		return nil, err
	}
	var free, pristine int
	err = db.rp.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM numbers WHERE status = 'active' AND holder IS NULL`).Scan(&free, &pristine)
	if err != nil {
		return nil, wrap("sqlite.Catalog", err)
	}
	spent := map[int]int{}
	rows, err := db.rp.QueryContext(ctx, `SELECT u.service_id, count(*) FROM number_services_used u JOIN numbers n ON n.id = u.number_id
		WHERE n.status = 'active' AND n.holder IS NULL GROUP BY u.service_id`)
	if err != nil {
		return nil, wrap("sqlite.Catalog", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrap("sqlite.Catalog", err)
		}
		spent[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("sqlite.Catalog", err)
	}
	out := make([]fetchsms.ServiceStock, 0, len(services))
	for _, s := range services {
		if !s.Enabled {
			continue
		}
		st := fetchsms.ServiceStock{Service: *s, LongAvailable: pristine}
		if s.IsLongTerm() {
			st.ShortAvailable = 0
		} else {
			st.ShortAvailable = free - spent[s.ID]
		}
		out = append(out, st)
	}
	return out, nil
}

// AreaCodes lists the area codes with a free number: for mode "long" only pristine
// numbers; for "short" with a service, only numbers that can still serve it.
func (db *DB) AreaCodes(ctx context.Context, mode string, service *fetchsms.Service) ([]string, error) {
	q := `SELECT DISTINCT area_code FROM numbers n WHERE status = 'active' AND holder IS NULL`
	var args []any
	if mode == "long" {
		q += ` AND used_at IS NULL`
	} else if service != nil {
		q += ` AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)`
		args = append(args, service.ID)
	}
	rows, err := db.rp.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("sqlite.AreaCodes", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ac string
		if err := rows.Scan(&ac); err != nil {
			return nil, wrap("sqlite.AreaCodes", err)
		}
		out = append(out, ac)
	}
	sort.Strings(out)
	return out, wrap("sqlite.AreaCodes", rows.Err())
}

// ImportNumbers adds E.164 numbers to the pool for a gateway, all or nothing: any bad
// number fails the whole import with EUNPROCESSABLE naming them; numbers already in
// the pool are skipped.
func (db *DB) ImportNumbers(ctx context.Context, gatewayID string, numbers []string) (added, skipped int, err error) {
	var bad []string
	seen := map[string]bool{}
	var clean []string
	for _, n := range numbers {
		if _, err := fetchsms.ParseE164(n); err != nil {
			bad = append(bad, n)
			continue
		}
		if seen[n] {
			skipped++
			continue
		}
		seen[n] = true
		clean = append(clean, n)
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "…")
		}
		return 0, 0, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "not valid US E.164 numbers, nothing imported: %s", strings.Join(bad, ", "))
	}
	now := sqlrows.Ms(db.RealClock.Now())
	err = db.tx(ctx, "sqlite.ImportNumbers", func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM gateways WHERE id = ?`, gatewayID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "gateway not found")
		}
		for _, e := range clean {
			res, err := tx.ExecContext(ctx, `INSERT INTO numbers (id, e164, area_code, gateway_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (e164) DO NOTHING`,
				newID(), e, fetchsms.AreaCodeOf(e), gatewayID, now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				added++
			} else {
				skipped++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return added, skipped, nil
}

// CountNumbers returns how many numbers the pool holds.
func (db *DB) CountNumbers(ctx context.Context) (int, error) {
	var n int
	err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM numbers`).Scan(&n)
	return n, wrap("sqlite.CountNumbers", err)
}

// Setting reads a shared setting; "" when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.rp.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, wrap("sqlite.Setting", err)
}

// SetSetting writes a shared setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	if key == refKeySetting {
		return fetchsms.Errorf(fetchsms.EINVALID, "the setting %s is written once, by a migration", key)
	}
	return db.tx(ctx, "sqlite.SetSetting", func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}
