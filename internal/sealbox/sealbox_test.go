package sealbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenRotate(t *testing.T) {
	old, err := New(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	v := old.Seal([]byte("fsg_secret"), "gateway:1")
	if strings.Contains(v, "fsg_secret") || !strings.HasPrefix(v, "v1.") {
		t.Fatalf("sealed = %q", v)
	}
	if p, err := old.Open(v, "gateway:1"); err != nil || string(p) != "fsg_secret" {
		t.Fatalf("open: %q %v", p, err)
	}
	if v2 := old.Seal([]byte("fsg_secret"), "gateway:1"); v2 == v {
		t.Fatal("two seals of one secret are equal (nonce reused)")
	}
	for name, c := range map[string]struct{ v, ctx string }{
		"another row": {v, "gateway:2"}, "changed": {v[:len(v)-2] + "AA", "gateway:1"}, "garbage": {"v1.x.y", "gateway:1"},
		"empty": {"", "gateway:1"}, "v2": {"v2" + v[2:], "gateway:1"},
	} {
		if _, err := old.Open(c.v, c.ctx); err != ErrOpen {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	// Rotation: the new key seals; the old one still opens what it sealed.
	both, _ := New(testKey(2), testKey(1))
	if p, err := both.Open(v, "gateway:1"); err != nil || string(p) != "fsg_secret" {
		t.Fatalf("open under the old key after rotation: %q %v", p, err)
	}
	if both.Current(v) || !both.Current(both.Seal([]byte("x"), "c")) {
		t.Fatal("Current does not tell the key in use")
	}
	onlyNew, _ := New(testKey(2))
	if _, err := onlyNew.Open(v, "gateway:1"); err != ErrOpen {
		t.Fatalf("a box without the old key opened its value: %v", err)
	}
}

func TestParseKeysAndFile(t *testing.T) {
	k := NewKey()
	keys, err := ParseKeys(" " + k + " , " + NewKey() + "\n")
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeys: %v %v", len(keys), err)
	}
	for _, bad := range []string{"", "not base64!", "YWJj", k + ",,"} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "fetchsms.db.key")
	b1, err := FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	b2, err := FromFile(path) // read back, not made again
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b2.Open(b1.Seal([]byte("s"), "c"), "c"); err != nil || string(p) != "s" {
		t.Fatalf("a box from the same file cannot open: %v", err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := FromFile(path); err == nil {
		t.Fatal("a bad key file was accepted")
	}
}

func FuzzOpen(f *testing.F) {
	b, _ := New(testKey(7))
	f.Add(b.Seal([]byte("x"), "c"), "c")
	f.Add("v1..", "")
	f.Fuzz(func(t *testing.T, sealed, ctx string) {
		p, err := b.Open(sealed, ctx) // never panics
		if err != nil {
			return
		}
		if q, err := b.Open(b.Seal(p, ctx), ctx); err != nil || !bytes.Equal(p, q) {
			t.Fatalf("%q opened to %q, which does not seal and open again: %q %v", sealed, p, q, err)
		}
	})
}
