package postgres

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// SeedCatalog inserts the services of cat that the database does not have yet (by
// id); existing rows, which admins may have edited, are left alone. ON CONFLICT
// without a target: servers seeding at once wait for each other and skip.
func (db *DB) SeedCatalog(ctx context.Context, cat []fetchsms.Service) error {
	return db.tx(ctx, "postgres.SeedCatalog", func(tx pgx.Tx) error {
		for i, s := range cat {
			c := s.Columns()
			_, err := tx.Exec(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
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
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services ORDER BY position, id`)
	if err != nil {
		return nil, wrap("postgres.AllServices", err)
	}
	defer rows.Close()
	var out []*fetchsms.Service
	for rows.Next() {
		s, err := sqlrows.ScanService(rows)
		if err != nil {
			return nil, wrap("postgres.AllServices", err)
		}
		out = append(out, s)
	}
	return out, wrap("postgres.AllServices", rows.Err())
}

// ServiceByRef resolves a service reference: its numeric id or its slug. An unknown
// or disabled service is ENOTFOUND.
func (db *DB) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return serviceByRef(ctx, db.pool, ref)
}

func serviceByRef(ctx context.Context, q querier, ref string) (*fetchsms.Service, error) {
	ref = strings.TrimSpace(ref)
	var row pgx.Row
	if id, err := strconv.Atoi(ref); err == nil && id >= -1<<31 && id < 1<<31 {
		row = q.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE id = $1 AND enabled`, id)
	} else {
		row = q.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE slug = $1 AND enabled`, strings.ToLower(ref))
	}
	s, err := sqlrows.ScanService(row)
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
	err = db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM numbers WHERE status = 'active' AND holder IS NULL`).Scan(&free, &pristine)
	if err != nil {
		return nil, wrap("postgres.Catalog", err)
	}
	spent := map[int]int{}
	rows, err := db.pool.Query(ctx, `SELECT u.service_id, count(*) FROM number_services_used u JOIN numbers n ON n.id = u.number_id
		WHERE n.status = 'active' AND n.holder IS NULL GROUP BY u.service_id`)
	if err != nil {
		return nil, wrap("postgres.Catalog", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrap("postgres.Catalog", err)
		}
		spent[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("postgres.Catalog", err)
	}
	out := make([]fetchsms.ServiceStock, 0, len(services))
	for _, s := range services {
		if !s.Enabled {
			continue
		}
		st := fetchsms.ServiceStock{Service: *s, LongAvailable: pristine}
		if !s.IsLongTerm() {
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
		q += ` AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = $1)`
		args = append(args, service.ID)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("postgres.AreaCodes", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ac string
		if err := rows.Scan(&ac); err != nil {
			return nil, wrap("postgres.AreaCodes", err)
		}
		out = append(out, ac)
	}
	sort.Strings(out)
	return out, wrap("postgres.AreaCodes", rows.Err())
}

// ImportNumbers adds E.164 numbers to the pool for a gateway, all or nothing: any bad
// number fails the whole import with EUNPROCESSABLE naming them; numbers already in
// the pool are skipped. An unknown gateway is ENOTFOUND.
func (db *DB) ImportNumbers(ctx context.Context, gatewayID string, numbers []string) (added, skipped int, err error) {
	var bad []string
	seen := map[string]bool{}
	var clean, ids, areas []string
	dupes := 0
	for _, n := range numbers {
		if _, err := fetchsms.ParseE164(n); err != nil {
			bad = append(bad, n)
			continue
		}
		if seen[n] {
			dupes++
			continue
		}
		seen[n] = true
		clean = append(clean, n)
		ids = append(ids, newID())
		areas = append(areas, fetchsms.AreaCodeOf(n))
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "…")
		}
		return 0, 0, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "not valid US E.164 numbers, nothing imported: %s", strings.Join(bad, ", "))
	}
	now := sqlrows.Ms(db.RealClock.Now())
	err = db.tx(ctx, "postgres.ImportNumbers", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM gateways WHERE id = $1`, gatewayID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fetchsms.Errorf(fetchsms.ENOTFOUND, "gateway not found")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO numbers (id, e164, area_code, gateway_id, created_at)
			SELECT id, e164, area_code, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS t (id, e164, area_code)
			ON CONFLICT (e164) DO NOTHING`, ids, clean, areas, gatewayID, now)
		if err != nil {
			return err
		}
		added = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return added, len(clean) - added + dupes, nil
}

// CountNumbers returns how many numbers the pool holds.
func (db *DB) CountNumbers(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM numbers`).Scan(&n)
	return n, wrap("postgres.CountNumbers", err)
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (db *DB) NumberGateway(ctx context.Context, e164 string) (string, error) {
	var g string
	err := db.pool.QueryRow(ctx, `SELECT gateway_id FROM numbers WHERE e164 = $1`, e164).Scan(&g)
	return g, wrap("postgres.NumberGateway", notFound(err, e164+" is not a number of the pool"))
}

// Setting reads a shared setting; "" when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, wrap("postgres.Setting", err)
}

// AddSetting adds delta to an integer setting (0 when unset) in one statement, so
// servers adding at once lose no addition, and returns the new value.
func (db *DB) AddSetting(ctx context.Context, key string, delta int64) (int64, error) {
	var v int64
	err := db.tx(ctx, "postgres.AddSetting", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2::bigint::text)
			ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + $2::bigint)::text RETURNING value::bigint`, key, delta).Scan(&v)
	})
	return v, err
}

// SetSetting writes a shared setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	return db.tx(ctx, "postgres.SetSetting", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}
