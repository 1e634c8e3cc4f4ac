package loadgen

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// TestRawClient reads answers of every shape net/http writes: a length, chunks, a
// closing connection; and sends what the server expects.
func TestRawClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answers := []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}",
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
	}
	requests := make(chan string, len(answers))
	go func() {
		i := 0
		for i < len(answers) {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			for i < len(answers) {
				var req strings.Builder
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						c.Close()
						goto next
					}
					req.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				if strings.Contains(req.String(), "Content-Length: 2\r\n") {
					b := make([]byte, 2)
					io.ReadFull(r, b)
					req.Write(b)
				}
				requests <- req.String()
				c.Write([]byte(answers[i]))
				i++
				if strings.Contains(answers[i-1], "Connection: close") {
					c.Close()
					goto next
				}
			}
		next:
		}
	}()
	c, err := newRawClient("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	want := []struct {
		status int
		body   string
	}{{200, `{"a": true}`}, {201, "hello world"}, {404, ""}, {200, "ok"}}
	for i, w := range want {
		var st int
		var body []byte
		if i == 1 {
			st, body, err = c.do("POST", "/v1/verifications", "fsk_x", []byte("{}"))
		} else {
			st, body, err = c.do("GET", "/v1/services", "", nil)
		}
		if err != nil || st != w.status || string(body) != w.body {
			t.Fatalf("answer %d: %d %q %v, want %d %q", i, st, body, err, w.status, w.body)
		}
	}
	if r := <-requests; !strings.HasPrefix(r, "GET /v1/services HTTP/1.1\r\nHost: ") || strings.Contains(r, "Authorization") {
		t.Errorf("first request: %q", r)
	}
	if r := <-requests; !strings.Contains(r, "POST /v1/verifications HTTP/1.1\r\n") || !strings.Contains(r, "Authorization: Bearer fsk_x\r\n") ||
		!strings.HasSuffix(r, "Content-Length: 2\r\n\r\n{}") {
		t.Errorf("second request: %q", r)
	}
}

// FuzzRawClientResponse feeds arbitrary bytes to the response parser: it must return
// an answer or an error, never panic or hang.
func FuzzRawClientResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &rawClient{r: bufio.NewReader(bytes.NewReader(data))}
		st, body, err := c.readResponse()
		if err == nil && (st < 0 || st > 999 || len(body) > maxAnswer) {
			t.Fatalf("status %d, %d bytes", st, len(body))
		}
	})
}
