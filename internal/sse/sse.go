// Package sse writes and reads Server-Sent Events (the text/event-stream
// format of the HTML standard): the server's GET /v1/events writes them, tests
// and the load generator read them.
package sse

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// Event is one dispatched event. ID is the stream's last event id when it was
// dispatched (an event without an id: field keeps the previous one).
type Event struct {
	ID    string
	Type  string // "message" when the event named none
	Data  string
	Retry string // the last retry: field seen, if any
}

// Write appends one event to buf. data is split at line ends (\n, \r\n, \r)
// into data lines, which a reader joins back with "\n". id and event must not
// hold line ends.
func Write(buf *bytes.Buffer, id, event string, data []byte) {
	if id != "" {
		buf.WriteString("id: " + id + "\n")
	}
	if event != "" {
		buf.WriteString("event: " + event + "\n")
	}
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		buf.WriteString("data: ")
		buf.Write(data[:i])
		buf.WriteByte('\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\n")
}

// Comment appends a comment line (a heartbeat), which readers ignore.
func Comment(buf *bytes.Buffer, text string) {
	buf.WriteString(": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(text) + "\n\n")
}

// Reader reads events from a stream as the HTML standard's event stream
// interpretation does.
type Reader struct {
	r      *bufio.Reader
	lastID string
	retry  string
	// Comments counts the comment lines read (heartbeats).
	Comments int
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 4096)} }

// MaxLine bounds one line: a longer line is an error, not an allocation.
const MaxLine = 1 << 20

// ErrLineTooLong is returned for a line over MaxLine.
var ErrLineTooLong = io.ErrShortBuffer

// readLine returns one line without its end (\n, \r\n or \r).
func (rd *Reader) readLine() (string, error) {
	var b []byte
	for {
		c, err := rd.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF // a last line without its end is dropped
			}
			return "", err
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			if n, err := rd.r.Peek(1); err == nil && n[0] == '\n' {
				rd.r.ReadByte()
			}
			return string(b), nil
		}
		if len(b) >= MaxLine {
			return "", ErrLineTooLong
		}
		b = append(b, c)
	}
}

// Next returns the next event: io.EOF (or another error) when the stream ends
// first. An event is dispatched at a blank line when it has data.
func (rd *Reader) Next() (Event, error) {
	var data strings.Builder
	hasData := false
	typ := ""
	first := true
	for {
		line, err := rd.readLine()
		if err != nil {
			return Event{}, err
		}
		if first {
			line = strings.TrimPrefix(line, "\uFEFF")
			first = false
		}
		if line == "" {
			if !hasData {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return Event{ID: rd.lastID, Type: typ, Data: data.String(), Retry: rd.retry}, nil
		}
		if line[0] == ':' {
			rd.Comments++
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				rd.lastID = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				rd.retry = value
			}
		}
	}
}
