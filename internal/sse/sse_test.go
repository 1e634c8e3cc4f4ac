package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWriteThenRead(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("retry: 2000\n")
	Comment(&buf, "connected")
	Write(&buf, "7", "sms.received", []byte("{\n  \"a\": 1\n}"))
	Comment(&buf, "ping")
	Write(&buf, "", "", []byte("one\r\ntwo\rthree"))
	Write(&buf, "9", "x", nil)
	rd := NewReader(&buf)
	want := []Event{
		{ID: "7", Type: "sms.received", Data: "{\n  \"a\": 1\n}", Retry: "2000"},
		{ID: "7", Type: "message", Data: "one\ntwo\nthree", Retry: "2000"},
		{ID: "9", Type: "x", Data: "", Retry: "2000"},
	}
	for i, w := range want {
		got, err := rd.Next()
		if err != nil || got != w {
			t.Fatalf("event %d: %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want EOF", err)
	}
	if rd.Comments != 2 {
		t.Fatalf("comments %d, want 2", rd.Comments)
	}
}

func TestReaderFollowsTheStandard(t *testing.T) {
	// Examples from the HTML standard's event stream section.
	in := "\uFEFFdata: first\ndata\n\nid\ndata:no space\n\n: comment\nevent: e\n\ndata:  two spaces\nid: 3\x00x\nunknown: field\n\ndata: cut"
	rd := NewReader(strings.NewReader(in))
	for i, w := range []Event{
		{Type: "message", Data: "first\n"},
		{Type: "message", Data: "no space"},
		{Type: "message", Data: " two spaces"}, // event: e had no data: dropped, and its type with it
	} {
		got, err := rd.Next()
		if err != nil || got != w {
			t.Fatalf("event %d: %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := rd.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("an unfinished event: %v", err)
	}
}

func TestLineTooLong(t *testing.T) {
	rd := NewReader(strings.NewReader("data: " + strings.Repeat("x", MaxLine+10) + "\n\n"))
	if _, err := rd.Next(); err != ErrLineTooLong {
		t.Fatalf("got %v", err)
	}
}

// FuzzRoundTrip: whatever data and names are written, the reader gives them
// back (line ends as \n), and it never fails on any input.
func FuzzRoundTrip(f *testing.F) {
	f.Add("12", "sms.received", "{\n  \"code\": \"482910\"\n}", "")
	f.Add("", "", "a\r\nb\rc\n", "data: x\n\n")
	f.Add("1", "e", "", ":\n\nid: \x00\n")
	f.Fuzz(func(t *testing.T, id, event, data, junk string) {
		// Arbitrary bytes: the reader returns events or an error, never panics.
		rd := NewReader(strings.NewReader(junk))
		for i := 0; i < 100; i++ {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
		if strings.ContainsAny(id+event, "\r\n\x00") || strings.HasPrefix(id, " ") || strings.HasPrefix(event, " ") {
			return
		}
		var buf bytes.Buffer
		Write(&buf, id, event, []byte(data))
		got, err := NewReader(&buf).Next()
		if err != nil {
			t.Fatal(err)
		}
		wantType := event
		if wantType == "" {
			wantType = "message"
		}
		wantData := strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
		if got.ID != id || got.Type != wantType || got.Data != wantData {
			t.Fatalf("got %+v, want id %q type %q data %q", got, id, wantType, wantData)
		}
	})
}
