package sqlrows

import (
	"regexp"
	"testing"
	"testing/fstest"

	fetchsms "github.com/fetchsms/fetchsms"
)

func TestMigrationsInVersionOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0010_ten.sql": {Data: []byte("ten")},
		"migrations/0002_two.sql": {Data: []byte("two")},
		"migrations/0001_one.sql": {Data: []byte("one")},
		"migrations/README":       {Data: []byte("not a migration")},
	}
	ms, err := Migrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range ms {
		got = append(got, m.Version)
	}
	if len(ms) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 10 || ms[2].SQL != "ten" {
		t.Fatalf("migrations %+v", ms)
	}
	if _, err := Migrations(fstest.MapFS{"migrations/first.sql": {Data: []byte("x")}}); err == nil {
		t.Fatal("a migration without a version was accepted")
	}
}

func TestPageArgs(t *testing.T) {
	for _, c := range []struct {
		p      fetchsms.Page
		limit  int
		before int64
	}{
		{fetchsms.Page{}, 50, 1<<62 - 1},
		{fetchsms.Page{Limit: 500, Cursor: 7}, 200, 7},
		{fetchsms.Page{Limit: -3, Cursor: -1}, 50, 1<<62 - 1},
		{fetchsms.Page{Limit: 1}, 1, 1<<62 - 1},
	} {
		if l, b := PageArgs(c.p); l != c.limit || b != c.before {
			t.Errorf("PageArgs(%+v) = %d, %d", c.p, l, b)
		}
	}
	items, next := Trim([]string{"a", "b", "c"}, []int64{30, 20, 10}, 2)
	if len(items) != 2 || next != 20 {
		t.Errorf("Trim: %v %d", items, next)
	}
	if _, next := Trim([]string{"a"}, []int64{30}, 2); next != 0 {
		t.Errorf("Trim of a last page: next %d", next)
	}
}

func TestNewRef(t *testing.T) {
	re := regexp.MustCompile(`^r_[0-9A-Za-z]{6}$`)
	seen := map[string]bool{}
	for range 1000 {
		r := NewRef("r_")
		if !re.MatchString(r) {
			t.Fatalf("ref %q", r)
		}
		seen[r] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct refs in 1000", len(seen))
	}
}
