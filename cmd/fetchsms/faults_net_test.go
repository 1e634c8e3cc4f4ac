//go:build unix

package main

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/postgres"
)

// Modes of a faultProxy.
const (
	proxyPass  = iota // bytes flow
	proxyDelay        // each chunk waits delay before it is passed on
	proxyStall        // nothing flows; connections stay open (a silent partition)
	proxyCut          // connections are refused: accepted and closed at once
)

// faultProxy is a TCP proxy between the server and PostgreSQL that delays,
// stalls, cuts and resets the connections passing through it.
type faultProxy struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	delay  time.Duration
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wake   chan struct{} // closed and renewed when the mode changes
}

func newFaultProxy(t *testing.T, target string, delay time.Duration) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, delay: delay, conns: map[net.Conn]bool{}, wake: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.reset()
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) set(mode int32) {
	p.mode.Store(mode)
	p.mu.Lock()
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// reset closes every open connection with a TCP RST (linger 0) on both sides.
func (p *faultProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
		delete(p.conns, c)
	}
}

func (p *faultProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
}

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.mode.Load() == proxyCut {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c)
		p.track(up)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst as the mode says, until either side closes.
func (p *faultProxy) pipe(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for {
				p.mu.Lock()
				wake := p.wake
				p.mu.Unlock()
				mode := p.mode.Load()
				if mode == proxyStall {
					<-wake // held until the mode changes
					continue
				}
				if mode == proxyCut {
					return
				}
				if mode == proxyDelay {
					time.Sleep(p.delay)
				}
				break
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: both sides close
		}
	}
}

// TestPostgresNetworkFaults puts a proxy between the server and PostgreSQL and,
// under load, delays, resets, cuts and stalls the connections: every answer
// comes within a bounded time, 2xx or 503 unavailable (never a 500 or a hang);
// the server serves again by itself each time the network heals; a purchase or
// a cancel whose answer was lost is resolved by its key on retry (one purchase
// per key, no refund doubled, balances equal their ledgers).
func TestPostgresNetworkFaults(t *testing.T) {
	t.Parallel()
	pg := newPGCluster(t)
	proxy := newFaultProxy(t, fmt.Sprintf("127.0.0.1:%d", pg.port), 200*time.Millisecond)
	url := strings.Replace(pg.URL, fmt.Sprintf("127.0.0.1:%d", pg.port), proxy.addr(), 1)
	s := startServerWith(t, []string{"--database-url", url}, pg.URL, "--sandbox", "--simulator=false")
	// A stalled statement fails after postgres.StatementTimeout (10 s), a
	// stalled dial after postgres.ConnectTimeout (3 s), and the first failure
	// ends the request.
	l := startFaultLoad(t, s, postgres.StatementTimeout+5*time.Second)

	time.Sleep(time.Second)
	t.Log("delay: 200 ms on every chunk")
	proxy.set(proxyDelay)
	time.Sleep(2 * time.Second)
	proxy.set(proxyPass)
	t.Log("reset: every connection gets a RST, twice")
	for range 2 {
		proxy.reset()
		time.Sleep(500 * time.Millisecond)
	}
	t.Log("cut: connections refused for 5 s, those open reset")
	proxy.set(proxyCut)
	proxy.reset()
	time.Sleep(5 * time.Second)
	proxy.set(proxyPass)
	l.waitServing(t, 20*time.Second)
	t.Log("stall: nothing flows for 12 s")
	proxy.set(proxyStall)
	time.Sleep(12 * time.Second)
	proxy.set(proxyPass)
	l.waitServing(t, 20*time.Second)
	time.Sleep(time.Second)
	l.finish(t)
	if l.probed503.Load() == 0 {
		t.Errorf("no probe saw a 503 while the network failed")
	}
	checkInvariants(t, pg.URL)
}
