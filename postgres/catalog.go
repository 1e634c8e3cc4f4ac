package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// SeedCatalog inserts the services of cat that the database does not have yet (by
// id); existing rows, which admins may have edited, are left alone. ON CONFLICT
// without a target: servers seeding at once wait for each other and skip.
func (db *DB) SeedCatalog(ctx context.Context, cat []fetchsms.Service) error {
	return engineErr(db.run(ctx, func(tx pgx.Tx) error {
		for i, s := range cat {
			c := s.Columns()
			_, err := tx.Exec(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords, activation_code)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
				s.ID, s.Slug, s.Name, s.PriceCents, c.LongPrices, s.Enabled, i, c.Senders, c.Keywords, s.ActivationCode)
			if err != nil {
				return err
			}
			if s.ActivationCode == "" {
				continue
			}
			// ON CONFLICT DO NOTHING: two servers filling at once skip each other.
			_, err = tx.Exec(ctx, `UPDATE services SET activation_code = $1 WHERE id = $2 AND slug = $3 AND activation_code IS NULL
				AND NOT EXISTS (SELECT 1 FROM services WHERE activation_code = $1)`, s.ActivationCode, s.ID, s.Slug)
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// AllServices returns the whole catalog in display order, disabled services included.
func (db *DB) AllServices(ctx context.Context) ([]*fetchsms.Service, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services ORDER BY position, id`)
	out, err := sqlrows.All(rows, err, sqlrows.ScanService)
	return out, engineErr(err)
}

// ServiceByRef resolves a service reference: its numeric id or its slug. An unknown
// or disabled service is ENOTFOUND.
func (db *DB) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return serviceByRef(ctx, db.pool, ref)
}

// ServiceByActivationCode returns the service, enabled or not, whose
// SMS-Activate code is code; ErrNoRow when none.
func (db *DB) ServiceByActivationCode(ctx context.Context, code string) (*fetchsms.Service, error) {
	return serviceByActivationCode(ctx, db.pool, code)
}

// ServiceByActivationCode is the read above, in the transaction.
func (t *ptx) ServiceByActivationCode(ctx context.Context, code string) (*fetchsms.Service, error) {
	return serviceByActivationCode(ctx, t, code)
}

func serviceByActivationCode(ctx context.Context, q querier, code string) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(q.QueryRow(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE activation_code = $1 AND activation_code <> ''`, code))
	return s, engineErr(err)
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

// StockCounts counts the free numbers of the pool.
func (db *DB) StockCounts(ctx context.Context) (fetchsms.StockCounts, error) {
	n := fetchsms.StockCounts{Spent: map[int]int{}}
	err := db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM numbers WHERE status = 'active' AND holder IS NULL AND NOT withdrawn`).Scan(&n.Free, &n.Pristine)
	if err != nil {
		return n, engineErr(err)
	}
	rows, err := db.pool.Query(ctx, `SELECT u.service_id, count(*) FROM number_services_used u JOIN numbers n ON n.id = u.number_id
		WHERE n.status = 'active' AND n.holder IS NULL AND NOT n.withdrawn GROUP BY u.service_id`)
	if err != nil {
		return n, engineErr(err)
	}
	var id, k int
	_, err = pgx.ForEachRow(rows, []any{&id, &k}, func() error { n.Spent[id] = k; return nil })
	return n, engineErr(err)
}

// FreeAreaCodes lists the area codes of the free numbers p could pick.
func (db *DB) FreeAreaCodes(ctx context.Context, p fetchsms.NumberPick) ([]string, error) {
	q := `SELECT DISTINCT area_code FROM numbers n WHERE status = 'active' AND holder IS NULL AND NOT withdrawn`
	var args []any
	if p.Pristine {
		q += ` AND used_at IS NULL`
	} else if p.ServiceID != 0 {
		q += ` AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = $1)`
		args = append(args, p.ServiceID)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}

// InsertNumbers adds numbers to a gateway's pool in one statement, skipping those
// the pool holds (also when another server adds them at once).
func (t *ptx) InsertNumbers(ctx context.Context, gatewayID string, numbers []fetchsms.NewNumber, withdrawn bool, now time.Time) (int, error) {
	var ids, e164s, areas, devices []string
	var slots []int32
	for _, n := range numbers {
		ids, e164s, areas = append(ids, n.ID), append(e164s, n.E164), append(areas, n.AreaCode)
		devices, slots = append(devices, n.DeviceID), append(slots, int32(n.SimSlot))
	}
	tag, err := t.Exec(ctx, `INSERT INTO numbers (id, e164, area_code, device_id, sim_slot, gateway_id, withdrawn, created_at)
		SELECT id, e164, area_code, device_id, sim_slot, $6, $7, $8
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) AS t (id, e164, area_code, device_id, sim_slot)
		ON CONFLICT (e164) DO NOTHING`, ids, e164s, areas, devices, slots, gatewayID, withdrawn, sqlrows.Ms(now))
	return int(tag.RowsAffected()), err
}

// SetNumberDevice ties a number to a device's SIM slot, or unties it; the
// UNIQUE index numbers_device_slot refuses a slot taken in its gateway.
func (t *ptx) SetNumberDevice(ctx context.Context, numberID, deviceID string, slot int) (bool, error) {
	return affected(t.Exec(ctx, `UPDATE numbers SET device_id = $1, sim_slot = $2 WHERE id = $3`, deviceID, slot, numberID))
}

// PoolNumber returns a pool number by id, or ErrNoRow.
func (db *DB) PoolNumber(ctx context.Context, id string) (*fetchsms.PoolNumber, error) {
	n, _, err := sqlrows.ScanPoolNumber(db.pool.QueryRow(ctx, `SELECT `+sqlrows.PoolNumberCols+sqlrows.PoolNumberFrom+` WHERE n.id = $1`, id))
	return n, engineErr(err)
}

// CountNumbers returns how many numbers the pool holds.
func (db *DB) CountNumbers(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM numbers`).Scan(&n)
	return n, engineErr(err)
}

// NumberGateway returns the id of the gateway that owns a pool number, or ENOTFOUND.
func (db *DB) NumberGateway(ctx context.Context, e164 string) (string, error) {
	var g string
	err := db.pool.QueryRow(ctx, `SELECT gateway_id FROM numbers WHERE e164 = $1`, e164).Scan(&g)
	return g, engineErr(err)
}

// Setting reads a shared setting; "" when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, engineErr(err)
}

// AddSetting adds delta to an integer setting (0 when unset) in one statement, so
// servers adding at once lose no addition, and returns the new value.
func (db *DB) AddSetting(ctx context.Context, key string, delta int64) (int64, error) {
	var v int64
	err := db.run(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2::bigint::text)
			ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + $2::bigint)::text RETURNING value::bigint`, key, delta).Scan(&v)
	})
	return v, err
}

// SetSetting writes a shared setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	return engineErr(db.run(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	}))
}
