package reqid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, id := range []string{"a", "0190f0c2-7b1e-7cc4-9a61-1f4fbd2c8a11", "Root=1-67891233-abcdef012345678912345678", "dGVzdA==", strings.Repeat("x", MaxLen)} {
		if !Valid(id) {
			t.Errorf("Valid(%q) = false", id)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", MaxLen+1), "a b", "a\nb", "a\"b", "é", "a\x00", "<script>"} {
		if Valid(id) {
			t.Errorf("Valid(%q) = true", id)
		}
	}
	if Of("bad id") == "bad id" || !Valid(Of("bad id")) || Of("good") != "good" {
		t.Error("Of keeps a bad id or replaces a good one")
	}
	if a, b := New(), New(); a == b || len(a) != 32 {
		t.Errorf("New: %q %q", a, b)
	}
}

func TestHandlerAddsTheContextsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	log.InfoContext(With(context.Background(), "req-1"), "hello")
	log.InfoContext(context.Background(), "no id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["request_id"] != "req-1" || first["component"] != "test" {
		t.Errorf("first line %v", first)
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("second line %v has an id", second)
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "0190f0c2-7b1e-7cc4-9a61-1f4fbd2c8a11", "\r\n", "x=y/z+w", strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Of(s)
		if !Valid(got) {
			t.Fatalf("Of(%q) = %q, not valid", s, got)
		}
		if Valid(s) {
			if got != s {
				t.Fatalf("Of(%q) = %q", s, got)
			}
			if strings.ContainsAny(s, " \t\r\n\"\\<>") || len(s) > MaxLen {
				t.Fatalf("Valid(%q) but unsafe", s)
			}
		}
	})
}
