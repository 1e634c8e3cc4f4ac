package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

// SeedCatalog inserts the services of cat that the database does not have yet (by
// id); existing rows, which admins may have edited, are left alone.
func (db *DB) SeedCatalog(ctx context.Context, cat []fetchsms.Service) error {
	return engineErr(db.write(ctx, func(tx *wtx) error {
		tx.servicesChanged()
		for i, s := range cat {
			c := s.Columns()
			_, err := tx.ExecContext(ctx, `INSERT INTO services (id, slug, name, price_cents, long_prices, enabled, position, senders, keywords, activation_code)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				s.ID, s.Slug, s.Name, s.PriceCents, c.LongPrices, s.Enabled, i, c.Senders, c.Keywords, s.ActivationCode)
			if err != nil {
				return err
			}
			if s.ActivationCode == "" {
				continue
			}
			_, err = tx.ExecContext(ctx, `UPDATE services SET activation_code = ? WHERE id = ? AND slug = ? AND activation_code IS NULL
				AND NOT EXISTS (SELECT 1 FROM services WHERE activation_code = ?)`, s.ActivationCode, s.ID, s.Slug, s.ActivationCode)
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// AllServices returns the whole catalog in display order, disabled services included.
func (db *DB) AllServices(ctx context.Context) ([]*fetchsms.Service, error) {
	rows, err := db.rp.QueryContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services ORDER BY position, id`)
	out, err := sqlrows.All(rows, err, sqlrows.ScanService)
	return out, engineErr(err)
}

// ServiceByRef resolves a service reference: its numeric id or its slug. An unknown
// or disabled service is ENOTFOUND.
func (db *DB) ServiceByRef(ctx context.Context, ref string) (*fetchsms.Service, error) {
	return serviceByRef(ctx, db.rp, ref)
}

// ServiceByActivationCode returns the service, enabled or not, whose
// SMS-Activate code is code; ErrNoRow when none.
func (db *DB) ServiceByActivationCode(ctx context.Context, code string) (*fetchsms.Service, error) {
	return serviceByActivationCode(ctx, db.rp, code)
}

// ServiceByActivationCode is the read above, in the writer's transaction.
func (t *wtx) ServiceByActivationCode(ctx context.Context, code string) (*fetchsms.Service, error) {
	s, err := serviceByActivationCode(ctx, t, code)
	return s, noRow(err)
}

func serviceByActivationCode(ctx context.Context, q queryer, code string) (*fetchsms.Service, error) {
	s, err := sqlrows.ScanService(q.QueryRowContext(ctx, `SELECT `+sqlrows.ServiceCols+` FROM services WHERE activation_code = ? AND activation_code <> ''`, code))
	return s, engineErr(err)
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

// StockCounts counts the free numbers of the pool.
func (db *DB) StockCounts(ctx context.Context) (fetchsms.StockCounts, error) {
	n := fetchsms.StockCounts{Spent: map[int]int{}}
	err := db.rp.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM numbers WHERE status = 'active' AND holder IS NULL AND withdrawn = 0`).Scan(&n.Free, &n.Pristine)
	if err != nil {
		return n, engineErr(err)
	}
	rows, err := db.rp.QueryContext(ctx, `SELECT u.service_id, count(*) FROM number_services_used u JOIN numbers n ON n.id = u.number_id
		WHERE n.status = 'active' AND n.holder IS NULL AND n.withdrawn = 0 GROUP BY u.service_id`)
	if err != nil {
		return n, engineErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k int
		if err := rows.Scan(&id, &k); err != nil {
			return n, engineErr(err)
		}
		n.Spent[id] = k
	}
	return n, engineErr(rows.Err())
}

// FreeAreaCodes lists the area codes of the free numbers p could pick.
func (db *DB) FreeAreaCodes(ctx context.Context, p fetchsms.NumberPick) ([]string, error) {
	q := `SELECT DISTINCT area_code FROM numbers n WHERE status = 'active' AND holder IS NULL AND withdrawn = 0`
	var args []any
	if p.Pristine {
		q += ` AND used_at IS NULL`
	} else if p.ServiceID != 0 {
		q += ` AND NOT EXISTS (SELECT 1 FROM number_services_used u WHERE u.number_id = n.id AND u.service_id = ?)`
		args = append(args, p.ServiceID)
	}
	rows, err := db.rp.QueryContext(ctx, q, args...)
	out, err := sqlrows.All(rows, err, sqlrows.ScanString)
	return out, engineErr(err)
}

// InsertNumbers adds numbers to a gateway's pool, skipping those it holds.
func (t *wtx) InsertNumbers(ctx context.Context, gatewayID string, numbers []fetchsms.NewNumber, withdrawn bool, now time.Time) (int, error) {
	added := 0
	for _, n := range numbers {
		res, err := t.ExecContext(ctx, `INSERT INTO numbers (id, e164, area_code, gateway_id, device_id, sim_slot, withdrawn, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (e164) DO NOTHING`,
			n.ID, n.E164, n.AreaCode, gatewayID, n.DeviceID, n.SimSlot, withdrawn, sqlrows.Ms(now))
		if err != nil {
			return added, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			added++
		}
	}
	return added, nil
}

// SetNumberDevice ties a number to a device's SIM slot, or unties it; the
// UNIQUE index numbers_device_slot refuses a slot taken in its gateway.
func (t *wtx) SetNumberDevice(ctx context.Context, numberID, deviceID string, slot int) (bool, error) {
	return affected(t.ExecContext(ctx, `UPDATE numbers SET device_id = ?, sim_slot = ? WHERE id = ?`, deviceID, slot, numberID))
}

// PoolNumber returns a pool number by id, or ErrNoRow.
func (db *DB) PoolNumber(ctx context.Context, id string) (*fetchsms.PoolNumber, error) {
	n, _, err := sqlrows.ScanPoolNumber(db.rp.QueryRowContext(ctx, `SELECT `+sqlrows.PoolNumberCols+sqlrows.PoolNumberFrom+` WHERE n.id = ?`, id))
	return n, engineErr(err)
}

// CountNumbers returns how many numbers the pool holds.
func (db *DB) CountNumbers(ctx context.Context) (int, error) {
	var n int
	err := db.rp.QueryRowContext(ctx, `SELECT count(*) FROM numbers`).Scan(&n)
	return n, engineErr(err)
}

// Setting reads a shared setting; "" when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.rp.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, engineErr(err)
}

// SetSetting writes a shared setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	if key == refKeySetting {
		return fmt.Errorf("sqlite: the setting %s is written once, by a migration", key)
	}
	return engineErr(db.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	}))
}
