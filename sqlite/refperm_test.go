package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sqlrows"
)

func testPerm(t testing.TB, seed byte) *refPerm {
	key := bytes.Repeat([]byte{seed}, 16)
	p, err := newRefPerm(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRefPermIsABijection: every image stays in the ref space and maps back to its
// counter, at both ends of the space and at random points; consecutive counters
// (what new rows use) never share an image.
func TestRefPermIsABijection(t *testing.T) {
	t.Parallel()
	p := testPerm(t, 7)
	r := rand.New(rand.NewPCG(1, 2))
	check := func(n uint64) {
		m := p.apply(n)
		if m >= refSpace {
			t.Fatalf("apply(%d) = %d, outside the ref space", n, m)
		}
		if back := p.invert(m); back != n {
			t.Fatalf("invert(apply(%d)) = %d", n, back)
		}
	}
	for n := range uint64(1000) {
		check(n)
		check(refSpace - 1 - n)
		check(refStride + n)
	}
	for range 100_000 {
		check(r.Uint64N(refSpace))
	}
	seen := make(map[uint64]uint64, 300_000)
	for n := range uint64(300_000) {
		m := p.apply(n)
		if prev, ok := seen[m]; ok {
			t.Fatalf("counters %d and %d share the image %d", prev, n, m)
		}
		seen[m] = n
	}
}

// TestRefPermDependsOnTheKey: another key gives other refs, and consecutive
// counters do not give refs in order.
func TestRefPermDependsOnTheKey(t *testing.T) {
	t.Parallel()
	a, b := testPerm(t, 1), testPerm(t, 2)
	same, ordered := 0, 0
	for n := range uint64(1000) {
		if a.apply(n) == b.apply(n) {
			same++
		}
		if a.apply(n+1) > a.apply(n) {
			ordered++
		}
	}
	if same > 2 {
		t.Fatalf("%d of 1000 refs equal under two keys", same)
	}
	if ordered < 400 || ordered > 600 {
		t.Fatalf("%d of 1000 consecutive refs in ascending order; want about half", ordered)
	}
}

// TestBase62SortsAsNumbers: ref_key text sorts in counter order, so new rows append
// to the UNIQUE index.
func TestBase62SortsAsNumbers(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		x, y := r.Uint64N(refSpace), r.Uint64N(refSpace)
		sx, sy := string(appendBase62(nil, x)), string(appendBase62(nil, y))
		if len(sx) != refChars || (x < y) != (sx < sy) {
			t.Fatalf("%d -> %q, %d -> %q", x, sx, y, sy)
		}
	}
	if got := string(appendBase62(nil, refSpace-1)); got != "zzzzzz" {
		t.Fatalf("largest: %q", got)
	}
}

// FuzzRefPerm: for any key and counter, invert undoes apply and the image is in range.
func FuzzRefPerm(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), uint64(0))
	f.Add([]byte("fedcba9876543210"), uint64(refSpace-1))
	f.Add([]byte("0000000000000000"), uint64(refStride+12345))
	f.Fuzz(func(t *testing.T, key []byte, n uint64) {
		if len(key) != 16 {
			return
		}
		p, err := newRefPerm(key)
		if err != nil {
			t.Fatal(err)
		}
		n %= refSpace
		m := p.apply(n)
		if m >= refSpace || p.invert(m) != n || p.apply(p.invert(n)) != n {
			t.Fatalf("key %x, n %d: apply %d, invert(apply) %d", key, n, m, p.invert(m))
		}
	})
}

func refTestDB(t *testing.T, path string) (*DB, *fetchsms.User) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	app := appFor(t, db)
	gw, err := app.CreateGateway(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for i := range 20 {
		nums = append(nums, fmt.Sprintf("+1332555%04d", i))
	}
	if _, _, err := app.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(nums)); err != nil {
		t.Fatal(err)
	}
	u, err := app.CreateUser(ctx, "refs@example.com", "password123", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Adjust(ctx, u.ID, 10_000_000, "test"); err != nil {
		t.Fatal(err)
	}
	return db, u
}

func (db *DB) refPermForTest(t *testing.T) *refPerm {
	t.Helper()
	var key string
	if err := db.rp.QueryRowContext(context.Background(), `SELECT value FROM settings WHERE key = ?`, refKeySetting).Scan(&key); err != nil {
		t.Fatal(err)
	}
	p, err := parseRefKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var refFormat = regexp.MustCompile(`^v_[0-9A-Za-z]{6}$`)

// TestVerificationRefs: purchases get distinct refs in the published format, each
// the permutation of its row's seq under the database's key; ref_key follows seq,
// so the UNIQUE index is appended to; a read returns the ref the purchase answered.
func TestVerificationRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u := refTestDB(t, filepath.Join(t.TempDir(), "refs.db"))
	perm := db.refPermForTest(t)
	refs := map[string]bool{}
	for range 300 {
		v, err := appFor(t, db).CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		if !refFormat.MatchString(v.Ref) || refs[v.Ref] {
			t.Fatalf("ref %q: bad format or repeated", v.Ref)
		}
		refs[v.Ref] = true
		got, err := appFor(t, db).Verification(ctx, u.ID, v.ID)
		if err != nil || got.Ref != v.Ref {
			t.Fatalf("read back %+v, %v; want ref %s", got, err, v.Ref)
		}
		var seq int64
		var refKey string
		if err := db.rp.QueryRowContext(ctx, `SELECT seq, ref_key FROM verifications WHERE id = ?`, v.ID).Scan(&seq, &refKey); err != nil {
			t.Fatal(err)
		}
		wantRef, wantKey := perm.verificationRef(uint64(seq))
		if v.Ref != wantRef || refKey != wantKey {
			t.Fatalf("seq %d: ref %s key %s, want %s %s", seq, v.Ref, refKey, wantRef, wantKey)
		}
		if _, err := appFor(t, db).CancelVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	rows, err := db.rp.QueryContext(ctx, `SELECT ref_key FROM verifications ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	if len(keys) != 300 || !sort.StringsAreSorted(keys) {
		t.Fatalf("%d ref_keys, in seq order: %v", len(keys), sort.StringsAreSorted(keys))
	}
	if err := db.SetSetting(ctx, refKeySetting, strings.Repeat("0", 32)); err == nil {
		t.Fatal("changing the ref key: accepted, want refused")
	}
}

// TestVerificationRefAvoidsOldRefs: when a row from before the permutation already
// holds the ref the next seq maps to, the purchase takes the next counter reserved
// for its seq, and both rows keep distinct refs.
func TestVerificationRefAvoidsOldRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u := refTestDB(t, filepath.Join(t.TempDir(), "old.db"))
	perm := db.refPermForTest(t)
	// The old row takes seq 1; the purchase will take seq 2, whose ref it holds.
	taken, _ := perm.verificationRef(2)
	err := db.write(ctx, func(tx *wtx) error {
		var numberID string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM numbers LIMIT 1`).Scan(&numberID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO verifications (id, ref_key, ref, user_id, service_id, number_id, number, status, code, cost_cents, created_at, expires_at)
			VALUES ('old', ?, ?, ?, 4, ?, '+13325550000', 'received', '123456', 70, 0, 0)`, taken, taken, u.ID, numberID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := appFor(t, db).CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := perm.verificationRef(2 + refStride)
	if v.Ref == taken || v.Ref != want {
		t.Fatalf("ref %s; the old row holds %s; want %s", v.Ref, taken, want)
	}
	// Each is found by its ref: the new one through its reserved counter.
	for ref, id := range map[string]string{v.Ref: v.ID, taken: "old"} {
		if got, err := db.LoadVerificationByRef(ctx, u.ID, ref); err != nil || got.ID != id {
			t.Fatalf("by ref %s: %+v %v, want %s", ref, got, err, id)
		}
	}
}

// TestMigrationKeepsOldRefs: a database from before migration 0008 keeps every
// ref it gave, and purchases after it get new ones that repeat none of them.
func TestMigrationKeepsOldRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	raw, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=0")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrationsFS, "migrations/*.sql")
	sort.Strings(names)
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var version int
		fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%d_", &version)
		if version >= 8 {
			break
		}
		body, _ := migrationsFS.ReadFile(name)
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, version)
	}
	// Verifications bought before the upgrade, with random refs (foreign keys are
	// off on this connection: the rows only need their refs).
	old := map[string]string{}
	for i := range 50 {
		id, ref := fmt.Sprint("old-", i), sqlrows.NewRef("v_")
		old[id] = ref
		if _, err := raw.Exec(`INSERT INTO verifications (id, ref, user_id, service_id, number_id, number, status, code, cost_cents, created_at, expires_at)
			VALUES (?, ?, 'u', 4, 'n', '+13325550000', 'received', '123456', 70, 0, 0)`, id, ref); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, u := refTestDB(t, path) // migrates
	for id, ref := range old {
		var gotRef, gotKey string
		if err := db.rp.QueryRowContext(ctx, `SELECT ref, ref_key FROM verifications WHERE id = ?`, id).Scan(&gotRef, &gotKey); err != nil {
			t.Fatal(err)
		}
		if gotRef != ref || gotKey != ref {
			t.Fatalf("%s: ref %s, ref_key %s; want both %s", id, gotRef, gotKey, ref)
		}
		if got, err := db.LoadVerificationByRef(ctx, "u", ref); err != nil || got.ID != id {
			t.Fatalf("old row by its ref %s: %+v %v", ref, got, err)
		}
	}
	perm := db.refPermForTest(t)
	for i := range 20 {
		v, err := appFor(t, db).CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range old {
			if v.Ref == ref {
				t.Fatalf("new ref %s repeats an old one", v.Ref)
			}
		}
		// The rows before the upgrade took seqs 1 to 50.
		if want, _ := perm.verificationRef(uint64(51 + i)); v.Ref != want {
			t.Fatalf("ref after the upgrade %s, want the permutation of seq %d (%s)", v.Ref, 51+i, want)
		}
		old[v.ID] = v.Ref
		if got, err := db.LoadVerificationByRef(ctx, u.ID, v.Ref); err != nil || got.ID != v.ID {
			t.Fatalf("new row by its ref %s: %+v %v", v.Ref, got, err)
		}
		if _, err := appFor(t, db).CancelVerification(ctx, u.ID, v.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkVerificationRef(b *testing.B) {
	p := testPerm(b, 9)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.verificationRef(uint64(i))
	}
}

// appFor runs the domain over db, for tests that buy through it.
func appFor(t testing.TB, db *DB) *fetchsms.App {
	t.Helper()
	a, err := fetchsms.New(context.Background(), db, fetchsms.Options{Detector: fetchsms.NewDetector(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
