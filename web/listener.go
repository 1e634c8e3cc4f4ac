package web

import (
	"errors"
	"net"
	"sync"
)

// Listener is the server's listener, able to take back a connection that a
// parked long-poll has answered (park.go): the connection then serves its
// client's next request as a kept-alive connection would, instead of being
// closed. http.Server.Serve reads new and returned connections alike from
// Accept. Serving without it (Server.Listener nil) closes each parked
// long-poll's connection after its answer.
//
// It must be the outermost listener: a returned TLS connection is the
// *tls.Conn the handshake made, which http.Server takes as it is.
type Listener struct {
	net.Listener
	accepted chan accepted
	back     chan net.Conn
	done     chan struct{}
	mu       sync.Mutex
	closed   bool
}

type accepted struct {
	c   net.Conn
	err error
}

// NewListener wraps ln.
func NewListener(ln net.Listener) *Listener {
	l := &Listener{Listener: ln, accepted: make(chan accepted), back: make(chan net.Conn, 1024), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return // Serve has had the error
		}
		// Other errors (too many open files) are Serve's to wait out: it
		// calls Accept again after a pause, which paces this loop.
	}
}

// Accept returns the next new or returned connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	default:
	}
	select {
	case c := <-l.back:
		return c, nil
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// giveBack returns an answered connection for its next request; false when
// the listener is closed or full (the caller closes the connection).
func (l *Listener) giveBack(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	select {
	case l.back <- c:
		return true
	default:
		return false
	}
}

// Close stops accepting, and closes the connections not yet taken back.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	for {
		select {
		case c := <-l.back:
			c.Close()
		default:
			return l.Listener.Close()
		}
	}
}
