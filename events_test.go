package fetchsms

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
)

func TestParseEventID(t *testing.T) {
	for _, c := range []struct {
		in   string
		seq  int64
		ok   bool
		fail bool
	}{
		{"", 0, false, false}, {"  ", 0, false, false}, {"0", 0, true, false}, {"42", 42, true, false}, {" 42 ", 42, true, false},
		{"-1", 0, false, true}, {"+1", 0, false, true}, {"abc", 0, false, true}, {"1.5", 0, false, true},
		{"99999999999999999999", 0, false, true}, {"0x10", 0, false, true},
	} {
		seq, ok, err := ParseEventID(c.in)
		if seq != c.seq || ok != c.ok || (err != nil) != c.fail {
			t.Errorf("ParseEventID(%q) = %d, %v, %v", c.in, seq, ok, err)
		}
		if err != nil && ErrorCode(err) != EUNPROCESSABLE {
			t.Errorf("ParseEventID(%q): code %s", c.in, ErrorCode(err))
		}
	}
}

func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"", "0", "-0", "17", "-3", "1e3", " 9 ", "9223372036854775807", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, ok, err := ParseEventID(s)
		if err != nil {
			if ok || seq != 0 || ErrorCode(err) != EUNPROCESSABLE {
				t.Fatalf("%q: %d %v %v", s, seq, ok, err)
			}
			return
		}
		if ok {
			// What the stream writes as an id reads back as the same position.
			back, ok2, err2 := ParseEventID(strconv.FormatInt(seq, 10))
			if seq < 0 || !ok2 || err2 != nil || back != seq || strings.TrimLeft(strings.TrimSpace(s), "0") != strings.TrimLeft(strconv.FormatInt(seq, 10), "0") {
				t.Fatalf("%q read as %d", s, seq)
			}
		}
	})
}

func TestChangeEncoding(t *testing.T) {
	c := PurchaseChanged{VerificationID: "v1", UserID: "u1"}
	from, got, ok := DecodeChange(EncodeChange("srv", c))
	if !ok || from != "srv" || got != c {
		t.Fatalf("round trip: %q %+v %v", from, got, ok)
	}
	for _, bad := range []string{"", "x", "|a|b|c", "a|b|c", "a|b|c|d|e"} {
		if _, _, ok := DecodeChange(bad); ok {
			t.Errorf("DecodeChange(%q) accepted", bad)
		}
	}
}

func FuzzDecodeChange(f *testing.F) {
	f.Add("srv|v|r|u")
	f.Add("srv|||")
	f.Add("|||")
	f.Fuzz(func(t *testing.T, msg string) {
		from, c, ok := DecodeChange(msg)
		if ok && EncodeChange(from, c) != msg {
			t.Fatalf("%q decoded to %q %+v, which encodes differently", msg, from, c)
		}
	})
}

func TestUsageEncoding(t *testing.T) {
	used := map[string]int{"k1": 3, "k2": 1}
	msgs := EncodeUsage("srv", 7, used)
	if len(msgs) != 1 {
		t.Fatalf("%d messages for two keys", len(msgs))
	}
	from, got, ok := DecodeUsage(msgs[0])
	if !ok || from != "srv" || !maps.Equal(got, used) {
		t.Fatalf("round trip: %q %v %v", from, got, ok)
	}
	// Nothing used: one message that says the server is there.
	if msgs := EncodeUsage("srv", 8, nil); len(msgs) != 1 {
		t.Fatalf("presence: %q", msgs)
	} else if from, got, ok := DecodeUsage(msgs[0]); !ok || from != "srv" || len(got) != 0 {
		t.Fatalf("presence decoded: %q %v %v", from, got, ok)
	}
	// Many keys: several messages, each under the limit and unique, together all the usage.
	many := map[string]int{}
	for i := range 2000 {
		many[fmt.Sprintf("key-%05d-%s", i, strings.Repeat("x", 20))] = i%5 + 1
	}
	msgs = EncodeUsage("srv", 9, many)
	all := map[string]int{}
	seen := map[string]bool{}
	for _, m := range msgs {
		if len(m) >= 8000 || seen[m] {
			t.Fatalf("a message of %d bytes, or twice", len(m))
		}
		seen[m] = true
		_, got, ok := DecodeUsage(m)
		if !ok {
			t.Fatalf("part not decoded: %.80q", m)
		}
		for k, n := range got {
			all[k] += n
		}
	}
	if len(msgs) < 2 || !maps.Equal(all, many) {
		t.Fatalf("%d messages carry %d of %d keys", len(msgs), len(all), len(many))
	}
	for _, bad := range []string{"", "u|", "u||1|k=1", "u|s|1|k", "u|s|1|k=x", "u|s|1|k=0", "u|s|1|=1", "s|1|k=1"} {
		if _, _, ok := DecodeUsage(bad); ok {
			t.Errorf("DecodeUsage(%q) accepted", bad)
		}
	}
}

func FuzzDecodeUsage(f *testing.F) {
	f.Add("u|srv|1|k=1,j=2")
	f.Add("u|srv|1|")
	f.Add("u|srv|1+|k=9")
	f.Fuzz(func(t *testing.T, msg string) {
		from, used, ok := DecodeUsage(msg)
		if !ok {
			return
		}
		if from == "" {
			t.Fatalf("%q decoded without a server", msg)
		}
		for k, n := range used {
			if k == "" || n <= 0 {
				t.Fatalf("%q decoded to %q=%d", msg, k, n)
			}
		}
	})
}
