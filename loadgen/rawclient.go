package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// rawClient is the load generator's HTTP/1.1 client: one keep-alive connection,
// requests written in one piece and responses read with a minimal parser. The bench
// runs it on the same cores as the server, so it is kept as light as a wrk-style
// client: net/http's client costs several times more per request, and that CPU
// would be taken from the server being measured.
type rawClient struct {
	addr string // host:port, also sent as Host
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
	body []byte
}

func newRawClient(base string) (*rawClient, error) {
	host, ok := strings.CutPrefix(base, "http://")
	if !ok {
		return nil, fmt.Errorf("bench: %s: only http:// is supported", base)
	}
	host, _, _ = strings.Cut(host, "/")
	return &rawClient{addr: host}, nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends one request and returns the status and the body, which is valid until
// the next call. A broken connection is redialled once.
func (c *rawClient) do(method, path, token string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		st, out, err := c.try(method, path, token, body)
		if err == nil || attempt == 1 {
			return st, out, err
		}
		c.close()
	}
}

func (c *rawClient) try(method, path, token string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	b := append(c.buf[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\n"...)
	if token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, token...)
		b = append(b, "\r\n"...)
	}
	if body != nil || method == "POST" {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.buf = b
	if _, err := c.conn.Write(b); err != nil {
		return 0, nil, err
	}
	return c.readResponse()
}

var errBadResponse = errors.New("bench: malformed HTTP response")

// maxAnswer bounds the body the client accepts (the catalog is about 20 KB).
const maxAnswer = 16 << 20

func (c *rawClient) readResponse() (int, []byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, errBadResponse
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, errBadResponse
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, errBadResponse
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length > maxAnswer {
				return 0, nil, errBadResponse
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	out := c.body[:0]
	switch {
	case chunked:
		for {
			h, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			h, _, _ = bytes.Cut(bytes.TrimRight(h, "\r\n"), []byte(";"))
			n, err := strconv.ParseInt(string(h), 16, 32)
			if err != nil || n < 0 || len(out)+int(n) > maxAnswer {
				return 0, nil, errBadResponse
			}
			if n == 0 {
				// Trailers (none expected) end with an empty line.
				for {
					t, err := c.r.ReadSlice('\n')
					if err != nil {
						return 0, nil, err
					}
					if len(bytes.TrimRight(t, "\r\n")) == 0 {
						break
					}
				}
				break
			}
			start := len(out)
			out = append(out, make([]byte, n)...)
			if _, err := io.ReadFull(c.r, out[start:]); err != nil {
				return 0, nil, err
			}
			if _, err := c.r.Discard(2); err != nil {
				return 0, nil, err
			}
		}
	case length >= 0:
		if cap(out) < length {
			out = make([]byte, length)
		}
		out = out[:length]
		if _, err := io.ReadFull(c.r, out); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errBadResponse
	}
	c.body = out
	if closing {
		c.close()
	}
	return status, out, nil
}
