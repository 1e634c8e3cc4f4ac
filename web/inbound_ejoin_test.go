package web

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	fetchsms "github.com/fetchsms/fetchsms"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseEjoinPush(t *testing.T) {
	// The push as the device documentation shows it, and as newer firmware
	// sends it (ICCID and IMSI appended), with a delivery report among them.
	body := `{"type": "recv-sms", "sms_num": 3, "sms": [
		[0, "1B", 1466506477, "10010", "13265825775", "` + b64("Telegram code: 482910") + `"],
		[0, "24.01", 1762700191, "Google", "", "` + b64("G-666266 is your Google verification code.") + `", "89610300003433465383", "505038350517698"],
		[1, "3.02", 1466506480, "8613800755500", "13686876620", "0 160620123456"]
	]}`
	got, err := ParseEjoinPush([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []EjoinSMS{
		{PortName: "1B", Port: 1, Slot: 2, Time: time.Unix(1466506477, 0).UTC(), Sender: "10010", Recipient: "13265825775", Body: "Telegram code: 482910"},
		{PortName: "24.01", Port: 24, Slot: 1, Time: time.Unix(1762700191, 0).UTC(), Sender: "Google", Body: "G-666266 is your Google verification code."},
		{Report: true, PortName: "3.02", Port: 3, Slot: 2, Time: time.Unix(1466506480, 0).UTC(), Sender: "8613800755500", Recipient: "13686876620", Body: "0 160620123456"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", got, want)
	}
	in := got[1].Inbound()
	if in.DeviceID != "24" || in.SimSlot != 1 || in.From != "Google" || in.To != "" || !in.ReceivedAt.Equal(want[1].Time) || in.Part != nil {
		t.Fatalf("inbound = %+v", in)
	}
	if again := got[1].Inbound(); again.ID != in.ID || !strings.HasPrefix(in.ID, "ejoin:24.01:1762700191:") || len(in.ID) > 200 {
		t.Fatalf("message id %q then %q: want the same, derived from the message", in.ID, again.ID)
	}
	other := got[1]
	other.Body += "!"
	if other.Inbound().ID == in.ID {
		t.Fatal("two different texts got the same message id")
	}
}

func TestParseEjoinPushRefuses(t *testing.T) {
	ok := `[0, "2.01", 1718662530, "Telegram", "", "` + b64("hi") + `"]`
	for body, detail := range map[string]string{
		``:                                "not an Ejoin push",
		`[]`:                              "not an Ejoin push",
		`{"type": "recv-sms"}`:            "non-empty array",
		`{"type": "recv-sms", "sms": []}`: "non-empty array",
		`{"type": "dev-status", "sms": [` + ok + `]}`:                                                                    `"dev-status"`,
		`{"type": "recv-sms", "sms": [` + ok + `]} {}`:                                                                   "exactly one",
		`{"type": "recv-sms", "sms": [[0, "2.01", 1, "a", "b"]]}`:                                                        "sms[0]: each entry",
		`{"type": "recv-sms", "sms": [` + ok + `, "x"]}`:                                                                 "sms[1]: each entry",
		`{"type": "recv-sms", "sms": [[2, "2.01", 1, "a", "", "aGk="]]}`:                                                 "flag must be 0",
		`{"type": "recv-sms", "sms": [[0.5, "2.01", 1, "a", "", "aGk="]]}`:                                               "flag must be 0",
		`{"type": "recv-sms", "sms": [[0, 2.01, 1, "a", "", "aGk="]]}`:                                                   "field 1",
		`{"type": "recv-sms", "sms": [[0, "12.sp256.101", 1, "a", "", "aGk="]]}`:                                         `port "12.sp256.101"`,
		`{"type": "recv-sms", "sms": [[0, "0.01", 1, "a", "", "aGk="]]}`:                                                 "port",
		`{"type": "recv-sms", "sms": [[0, "2.00", 1, "a", "", "aGk="]]}`:                                                 "port",
		`{"type": "recv-sms", "sms": [[0, "2", 1, "a", "", "aGk="]]}`:                                                    "port",
		`{"type": "recv-sms", "sms": [[0, "2.01", -1, "a", "", "aGk="]]}`:                                                "whole Unix seconds",
		`{"type": "recv-sms", "sms": [[0, "2.01", 1.5, "a", "", "aGk="]]}`:                                               "whole Unix seconds",
		`{"type": "recv-sms", "sms": [[0, "2.01", 1, "", "", "aGk="]]}`:                                                  "sender",
		`{"type": "recv-sms", "sms": [` + ok + `, [0, "2.01", 1, "a", "", "` + b64(strings.Repeat("x", 10_001)) + `"]]}`: "sms[1]: the text is longer",
		`{"type": "recv-sms", "sms": [[0, "2.01", 1, "a", "", "not base64!"]]}`:                                          "base64",
		`{"type": "recv-sms", "sms": [[0, "2.01", 1, "a", "", "` + b64("\xff\xfe") + `"]]}`:                              "not UTF-8",
	} {
		_, err := ParseEjoinPush([]byte(body))
		if fetchsms.ErrorCode(err) != fetchsms.EINVALID || !strings.Contains(fetchsms.ErrorMessage(err), detail) {
			t.Errorf("%.70s: %v, want EINVALID saying %q", body, err, detail)
		}
	}
}

func TestParseEjoinPort(t *testing.T) {
	for s, want := range map[string][2]int{"1.01": {1, 1}, "2.02": {2, 2}, "32.04": {32, 4}, "1A": {1, 1}, "12B": {12, 2}, "64.16": {64, 16}, "7Z": {7, 26}, "999.99": {999, 99}} {
		if p, sl, ok := parseEjoinPort(s); !ok || p != want[0] || sl != want[1] {
			t.Errorf("%q = %d, %d, %v; want %v", s, p, sl, ok, want)
		}
	}
	for _, s := range []string{"", "A", ".01", "1", "1.", "1.0", "1.1x", "1a", "1AB", "01.01", "1000.01", "1.001", "1 .01", "-1.01", "1.-1", "١.01"} {
		if _, _, ok := parseEjoinPort(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParseEjoinPush(f *testing.F) {
	f.Add([]byte(`{"type": "recv-sms", "sms_num": 1, "sms": [[0, "2.01", 1718662530, "Telegram", "", "VGVsZWdyYW0gY29kZTogNDgyOTEw"]]}`))
	f.Add([]byte(`{"type": "recv-sms", "sms": [[1, "3B", 0, "x", "y", "0 1606"], [0, "1A", 5, "a", "b", "", "iccid"]]}`))
	f.Add([]byte(`{"type": "recv-sms", "sms": [[0, "12.sp256.101", 1, "a", "", "aGk="]]}`))
	f.Add([]byte(`{"type": "recv-sms", "sms": [[0e0, "9.99", 1e3, "\u0000", "", "//79"]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := ParseEjoinPush(b)
		if err != nil {
			if fetchsms.ErrorCode(err) != fetchsms.EINVALID || fetchsms.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not EINVALID with a detail", err)
			}
			return
		}
		if len(msgs) == 0 {
			t.Fatal("a push parsed to no message")
		}
		entries := make([][]any, 0, len(msgs))
		for _, m := range msgs {
			if m.Port < 1 || m.Port > 999 || m.Slot < 1 || m.Sender == "" || !utf8.ValidString(m.Body) || !utf8.ValidString(m.Sender) {
				t.Fatalf("parsed %+v", m)
			}
			if p, s, ok := parseEjoinPort(m.PortName); !ok || p != m.Port || s != m.Slot {
				t.Fatalf("port %q parsed to %d %d", m.PortName, m.Port, m.Slot)
			}
			in := m.Inbound()
			if len(in.ID) > 200 || in.DeviceID == "" || in.SimSlot != m.Slot || in.ID != m.Inbound().ID {
				t.Fatalf("inbound %+v", in)
			}
			flag, content := 0, b64(m.Body)
			if m.Report {
				flag, content = 1, m.Body
			}
			entries = append(entries, []any{flag, m.PortName, m.Time.Unix() * int64(boolInt(!m.Time.IsZero())), m.Sender, m.Recipient, content})
		}
		// What was read, written again as a push, reads back the same.
		again, err := json.Marshal(map[string]any{"type": "recv-sms", "sms": entries})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseEjoinPush(again)
		if err != nil || !reflect.DeepEqual(back, msgs) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, msgs)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
