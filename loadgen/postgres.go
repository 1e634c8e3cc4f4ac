package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The bench on PostgreSQL (`fetchsms bench --database-url …`): the server runs on
// a database of its own, made for the run on the cluster the URL names and dropped
// after it, and pgbench's TPC-B-like script runs on the same cluster in the same
// run, so the purchase figure is read against what the cluster does for a plain
// transactional load at that moment.

// PGBenchClients is how many clients pgbench runs (-c; -j 2 threads).
const PGBenchClients = 8

// PGBenchScale is pgbench's scale factor (-s): as many branches as clients, so
// its clients do not all queue on one branch row.
const PGBenchScale = PGBenchClients

// pgDatabase is the run's own database on the cluster of the operator's URL.
type pgDatabase struct {
	admin  string // the operator's URL, where the database is made and dropped
	name   string
	url    string // the run's database, for the server (pgx)
	libpq  string // the same for pgbench (libpq refuses pgx's own parameters)
	pgbin  string // pgbench's path
	inited bool
}

// newPGDatabase makes a fresh database for the run on the cluster of adminURL.
func newPGDatabase(ctx context.Context, adminURL, pgbench string) (*pgDatabase, error) {
	bin, err := findPGBench(pgbench)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("bench: --database-url wants a postgres://… URL")
	}
	name := "fetchsms_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	adminURL = libpqURL(u)
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("bench: connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return nil, fmt.Errorf("bench: making the run's database (the URL's role needs CREATEDB): %w", err)
	}
	u.Path = "/" + name
	return &pgDatabase{admin: adminURL, name: name, url: u.String(), libpq: libpqURL(u), pgbin: bin}, nil
}

// libpqURL is u without the parameters only pgx knows (pool_max_conns, …),
// which PostgreSQL itself and libpq refuse.
func libpqURL(u *url.URL) string {
	c := *u
	q := c.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" || k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

// findPGBench returns the pgbench to run: path when set, else pgbench on PATH,
// else the newest PostgreSQL's under /usr/lib/postgresql (Debian's layout).
func findPGBench(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errors.New("bench: pgbench not found (install PostgreSQL's client programs, or name it with --pgbench)")
	}
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	return found[len(found)-1], nil
}

// drop removes the run's database (the server has stopped by then).
func (d *pgDatabase) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: the run's database %s is left: %v\n", d.name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+d.name+` WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "bench: the run's database %s is left: %v\n", d.name, err)
	}
}

// initPGBench makes pgbench's tables (in the run's database, dropped with it).
func (d *pgDatabase) initPGBench(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, d.pgbin, "-i", "-q", "-s", strconv.Itoa(PGBenchScale), d.libpq).CombinedOutput()
	if err != nil {
		return fmt.Errorf("bench: pgbench -i: %w: %s", err, strings.TrimSpace(string(out)))
	}
	d.inited = true
	return nil
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs pgbench's TPC-B-like script for d and returns its transactions
// per second.
func (d *pgDatabase) pgbench(ctx context.Context, dur time.Duration) (float64, error) {
	secs := max(1, int(dur.Round(time.Second)/time.Second))
	out, err := exec.CommandContext(ctx, d.pgbin, "-n", "-c", strconv.Itoa(PGBenchClients), "-j", "2", "-T", strconv.Itoa(secs), d.libpq).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("bench: pgbench: %w: %s", err, strings.TrimSpace(string(out)))
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("bench: pgbench printed no tps: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// seedHistoryPG is seedHistory on PostgreSQL: n received verifications added to
// the customer's history in the server's database, one INSERT … SELECT per 50 000.
func seedHistoryPG(ctx context.Context, dbURL, userID string, n int) (before int, first, last int64, err error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	defer conn.Close(context.Background())
	var numberID, number string
	if err := conn.QueryRow(ctx, `SELECT id, e164 FROM numbers ORDER BY seq LIMIT 1`).Scan(&numberID, &number); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM verifications WHERE user_id = $1`, userID).Scan(&before); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	const chunk = 50_000
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		if _, err := conn.Exec(ctx, `INSERT INTO verifications (id, ref, user_id, service_id, number_id, number, status, code, codes, cost_cents, created_at, expires_at, received_at, ended_at)
			SELECT 'bench-' || lpad(i::text, 10, '0'), 'b_' || lpad(i::text, 10, '0'), $3, 4, $4, $5, 'received', '123456', '123456', 70,
				1700000000000 + i, 1700000900000 + i, 1700000060000 + i, 1700000060000 + i
			FROM generate_series($1::bigint, $2::bigint) AS i`,
			done, done+k-1, userID, numberID, number); err != nil {
			return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE verifications`); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: seeding the history: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT min(seq), max(seq) FROM verifications WHERE user_id = $1`, userID).Scan(&first, &last)
	return before, first, last, err
}
