// Package smtpsink is a small SMTP server for tests: it accepts every message
// (EHLO, AUTH PLAIN, MAIL, RCPT, DATA) on loopback and keeps them, so tests
// prove that mail really leaves the server over SMTP.
package smtpsink

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message received.
type Message struct {
	From, To string
	Auth     string // the AUTH PLAIN user, "" when none
	Header   mail.Header
	Body     string
}

// Sink is a running SMTP server.
type Sink struct {
	Addr string // host:port
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	cond chan struct{}
}

// Start runs a sink on a free loopback port until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String(), ln: ln, cond: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

// URL is the sink's smtp:// URL with a user and password.
func (s *Sink) URL() string { return "smtp://sink:secret@" + s.Addr }

// Messages returns what was received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor returns the first message to `to` whose subject contains subject,
// waiting up to d; ok false when none came.
func (s *Sink) WaitFor(to, subject string, d time.Duration) (Message, bool) {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.EqualFold(m.To, to) && strings.Contains(m.Header.Get("Subject"), subject) {
				s.mu.Unlock()
				return m, true
			}
		}
		ch := s.cond
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return Message{}, false
		}
	}
}

func (s *Sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *Sink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 sink ESMTP")
	var m Message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			tp.PrintfLine("250-sink")
			tp.PrintfLine("250-AUTH PLAIN")
			tp.PrintfLine("250 8BITMIME")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				tp.PrintfLine("504 unsupported")
				continue
			}
			if resp == "" {
				tp.PrintfLine("334 ")
				if resp, err = tp.ReadLine(); err != nil {
					return
				}
			}
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if err != nil || len(parts) != 3 || parts[2] != "secret" {
				tp.PrintfLine("535 bad credentials")
				continue
			}
			m.Auth = parts[1]
			tp.PrintfLine("235 ok")
		case "MAIL":
			m.From = addr(arg)
			tp.PrintfLine("250 ok")
		case "RCPT":
			m.To = addr(arg)
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			raw, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(raw))))
			if err != nil {
				tp.PrintfLine("554 bad message")
				continue
			}
			body, _ := io.ReadAll(msg.Body)
			m.Header, m.Body = msg.Header, decodeBody(msg.Header, string(body))
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			close(s.cond)
			s.cond = make(chan struct{})
			s.mu.Unlock()
			m = Message{Auth: m.Auth}
			tp.PrintfLine("250 queued")
		case "RSET", "NOOP":
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

// addr reads the address of "FROM:<a@b>" or "TO:<a@b>".
func addr(arg string) string {
	if i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>'); i >= 0 && j > i {
		return arg[i+1 : j]
	}
	return arg
}

// decodeBody undoes a quoted-printable or base64 transfer encoding.
func decodeBody(h mail.Header, body string) string {
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(body))
		if err == nil {
			return string(b)
		}
	case "quoted-printable":
		b, err := io.ReadAll(newQP(body))
		if err == nil {
			return string(b)
		}
	}
	return body
}
