package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sse"
)

// Parking. A request that has to wait — a long-poll with nothing new yet, an
// event stream between events — would otherwise hold, for up to a minute or
// for hours, net/http's two goroutines for its connection (the handler's, with
// a stack grown through the middleware, and the connection's background
// reader) and about 10 KB of buffers: some 35 KB a waiting client, 350 MB for
// 10 000 (docs/PERFORMANCE.md). Once such a request knows it must wait, it
// takes its connection from net/http (Hijack) and leaves it here, where a
// waiting client is a socket and a small struct.
//
// A parked long-poll keeps its request and its look function. When a change
// to its key is announced, or its timer fires (the wait runs out, the
// purchase's window ends, or, with several servers, the recheck), look runs
// again; once look has the answer, the lot writes it as a whole HTTP/1.1
// response and hands the connection back to the server's Listener for the
// client's next request (or, without one, closes it: Connection: close). Polls woken together that ask the same
// thing (the same account and URL) share one read and one rendered answer.
//
// A parked event stream keeps the id of the last event it was sent. A change
// to its account runs the account's pump, which reads the account's log once
// for all the account's streams and writes each the events it has not had;
// every HeartbeatEvery the pump also writes a heartbeat (which finds clients
// that left) and re-reads the log (a lost wake-up only delays an event).
//
// Only HTTP/1.x connections can be taken; an HTTP/2 request (TLS with ALPN)
// waits in its handler as before (longPoll, streamInHandler).

// parkedWriteTimeout bounds each write to a parked connection. A pump writes
// to an account's streams in turn, so one client that does not take its bytes
// must not hold up the others for long: it is dropped, and reconnects with its
// Last-Event-ID, losing nothing.
const parkedWriteTimeout = 2 * time.Second

// lookFunc reads what a long-poll shows. Unless final, it writes nothing and
// returns false while there is nothing new (until, when > 0, is when the
// answer will change without an announcement: a window ending). Otherwise it
// writes the whole answer to w (or the error) and returns true.
type lookFunc func(w http.ResponseWriter, r *http.Request, final bool) (done bool, until time.Duration)

type lot struct {
	s       *Server
	mu      sync.Mutex
	polls   map[string]map[*parkedPoll]struct{} // by waiters key
	groups  map[string]*streamGroup             // by account id
	closed  bool
	beating bool // the heartbeat goroutine runs
}

type parkedPoll struct {
	key      string
	memo     string // polls with the same memo ask the same thing
	deadline time.Time
	start    time.Time
	look     lookFunc

	// Set when the connection is taken; read by the goroutine that runs it.
	conn   net.Conn
	r      *http.Request // its context outlives the handler
	header http.Header   // what the middleware had set when it parked
	reuse  bool          // the connection may serve the client's next request

	mu      sync.Mutex
	running bool // the handler or a run owns it: wakes only set pending
	pending bool // woken while running: look again
	done    bool
	timer   *time.Timer
}

type streamGroup struct {
	streams map[*parkedStream]struct{}
	running bool // a pump runs for the account
	again   bool // woken while the pump ran
	ping    bool // the next pump writes heartbeats
}

type parkedStream struct {
	conn    net.Conn
	userID  string
	after   int64 // the last event id it was sent
	r       *http.Request
	start   time.Time
	bytes   int64
	release func() // its place among the account's streams
	ended   sync.Once
}

// add registers p under its key before its first look, so that no change
// between that look and the park is missed. False when the server is closing.
func (l *lot) add(p *parkedPoll) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.polls == nil {
		l.polls = map[string]map[*parkedPoll]struct{}{}
	}
	set := l.polls[p.key]
	if set == nil {
		set = map[*parkedPoll]struct{}{}
		l.polls[p.key] = set
	}
	set[p] = struct{}{}
	return true
}

func (l *lot) remove(p *parkedPoll) {
	l.mu.Lock()
	if set := l.polls[p.key]; set != nil {
		delete(set, p)
		if len(set) == 0 {
			delete(l.polls, p.key)
		}
	}
	l.mu.Unlock()
	p.mu.Lock()
	p.done = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
}

// wake runs the parked polls of the keys and the pumps of the accounts
// (userKey) among them; no keys wakes everything.
func (l *lot) wake(keys ...string) {
	var batch []*parkedPoll
	var accounts []string
	claim := func(set map[*parkedPoll]struct{}) {
		for p := range set {
			if p.claim() {
				batch = append(batch, p)
			}
		}
	}
	l.mu.Lock()
	if len(keys) == 0 {
		for _, set := range l.polls {
			claim(set)
		}
		for id := range l.groups {
			accounts = append(accounts, id)
		}
	} else {
		for _, k := range keys {
			if k == "" {
				continue
			}
			claim(l.polls[k])
			if id, ok := accountOfKey(k); ok && l.groups[id] != nil {
				accounts = append(accounts, id)
			}
		}
	}
	l.mu.Unlock()
	if len(batch) > 0 {
		go l.runPolls(batch)
	}
	for _, id := range accounts {
		l.kickGroup(id, false)
	}
}

// claim makes the caller the one to run p; false when p is done or already
// running (it is then marked to look again).
func (p *parkedPoll) claim() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.done:
		return false
	case p.running:
		p.pending = true
		return false
	}
	p.running = true
	if p.timer != nil {
		p.timer.Stop()
	}
	return true
}

// settle hands p, whose connection has just been taken, to the lot: it waits
// for a wake-up or its timer, unless one came while the handler looked.
func (l *lot) settle(p *parkedPoll, until time.Duration) {
	p.mu.Lock()
	if p.pending {
		p.mu.Unlock()
		go l.runPolls([]*parkedPoll{p})
		return
	}
	l.arm(p, until)
	p.running = false
	p.mu.Unlock()
}

// arm sets p's timer (p.mu held): the wait's end, the window's end, or with
// several servers the recheck, whichever is first.
func (l *lot) arm(p *parkedPoll, until time.Duration) {
	left := time.Until(p.deadline)
	if until > 0 && until+10*time.Millisecond < left {
		left = until + 10*time.Millisecond
	}
	if l.s.App != nil && l.s.App.Shared() && left > RecheckEvery {
		left = RecheckEvery // a wake-up from another server may be lost
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(left, func() {
			if p.claim() {
				l.runPolls([]*parkedPoll{p})
			}
		})
		return
	}
	p.timer.Reset(left)
}

// memoEntry is one look's outcome, shared by the polls of a batch that ask the
// same thing.
type memoEntry struct {
	done  bool
	until time.Duration
	rec   *recorder
}

// runPolls runs the claimed polls one after another, sharing looks.
func (l *lot) runPolls(batch []*parkedPoll) {
	memo := map[string]memoEntry{}
	for _, p := range batch {
		l.runPoll(p, memo)
	}
}

func (l *lot) runPoll(p *parkedPoll, memo map[string]memoEntry) {
	first := true
	for {
		p.mu.Lock()
		p.pending = false
		p.mu.Unlock()
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		final := closed || !time.Now().Before(p.deadline)
		e, shared := memo[p.memo]
		if !first || final || !shared {
			// A look at the deadline answers whatever is there: it is not
			// shared with polls whose wait has not run out.
			e.rec = &recorder{header: http.Header{}, status: http.StatusOK}
			e.done, e.until = p.look(e.rec, p.r, final)
			if first && !final {
				memo[p.memo] = e
			}
		}
		first = false
		if e.done {
			l.remove(p)
			l.s.answerParked(p, e.rec)
			return
		}
		p.mu.Lock()
		if p.pending {
			p.mu.Unlock()
			continue
		}
		l.arm(p, e.until)
		p.running = false
		p.mu.Unlock()
		return
	}
}

// close answers every parked poll now and ends every parked stream: the server
// is shutting down.
func (l *lot) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wake()
}

// accountOfKey is the account of a userKey.
func accountOfKey(k string) (string, bool) {
	if len(k) > 2 && k[:2] == "u:" {
		return k[2:], true
	}
	return "", false
}

// take hijacks r's connection for parking. It fails on HTTP/2 and on
// writers that are not a connection's; the caller then waits in its handler.
func (s *Server) take(w http.ResponseWriter, r *http.Request) (conn net.Conn, header http.Header, reuse bool, err error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, false, err
	}
	if n, ok := r.Context().Value(routeNoteKey{}).(*routeNote); ok {
		n.parked = true // the access line is written when the answer is
	}
	// The connection can serve the client's next request when the client
	// keeps connections (HTTP/1.1, no Connection: close) and has sent nothing
	// after this request yet: bytes already read into net/http's buffer (a
	// pipelined request) would be lost, so the connection then closes after
	// the answer and the client asks again.
	reuse = s.Listener != nil && r.ProtoAtLeast(1, 1) && !r.Close && brw.Reader.Buffered() == 0
	return conn, w.Header().Clone(), reuse, nil
}

// await answers a long-poll: at once when look has the answer (or wait is 0),
// else when a change of key or the end of the wait lets look answer.
func (s *Server) await(w http.ResponseWriter, r *http.Request, key string, wait time.Duration, look lookFunc) {
	if wait <= 0 {
		look(w, r, true)
		return
	}
	p := &parkedPoll{
		key:      key,
		memo:     principalOf(r).User.ID + " " + r.URL.RequestURI(),
		deadline: time.Now().Add(wait),
		start:    time.Now(),
		look:     look,
		running:  true,
	}
	if !s.lot.add(p) {
		look(w, r, true) // shutting down
		return
	}
	done, until := look(w, r, false)
	if done {
		s.lot.remove(p)
		return
	}
	conn, header, reuse, err := s.take(w, r)
	if err != nil {
		s.lot.remove(p)
		keepOpen(w, wait)
		s.longPoll(w, r, key, p.deadline, look)
		return
	}
	p.conn, p.header, p.reuse = conn, header, reuse
	p.r = r.WithContext(context.WithoutCancel(r.Context()))
	s.lot.settle(p, until)
}

// answerParked writes a parked poll's answer and closes its connection.
func (s *Server) answerParked(p *parkedPoll, rec *recorder) {
	h := p.header.Clone()
	for k, v := range rec.header {
		h[k] = v
	}
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	body := rec.body.Bytes()
	resp := http.Response{
		StatusCode:    rec.status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(bytes.NewReader(body)),
		Close:         !p.reuse,
	}
	var out bytes.Buffer
	_ = resp.Write(&out) // to memory: cannot fail
	_ = p.conn.SetWriteDeadline(time.Now().Add(parkedWriteTimeout))
	_, err := p.conn.Write(out.Bytes())
	if err != nil || !p.reuse || p.conn.SetDeadline(time.Time{}) != nil || !s.Listener.giveBack(p.conn) {
		closeConn(p.conn)
	}
	if err != nil {
		s.Logger.LogAttrs(p.r.Context(), slog.LevelDebug, "long-poll answer not delivered", slog.String("err", err.Error()))
	}
	s.answered(p.r, p.r.Pattern, rec.status, int64(len(body)), time.Since(p.start))
}

// closeConn ends a parked connection: our side first (FIN), so the client
// reads the whole answer before the socket goes.
func closeConn(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.Close()
}

// parkStream hands an event stream's connection to the lot, writing the
// response's head and first bytes (prelude) itself. False when the connection
// cannot be taken (the caller streams from its handler) or the server is
// closing.
func (s *Server) parkStream(w http.ResponseWriter, r *http.Request, userID string, after int64, prelude []byte, release func()) bool {
	s.lot.mu.Lock()
	closed := s.lot.closed
	s.lot.mu.Unlock()
	if closed {
		return false
	}
	conn, header, _, err := s.take(w, r)
	if err != nil {
		return false
	}
	st := &parkedStream{conn: conn, userID: userID, after: after, r: r.WithContext(context.WithoutCancel(r.Context())), start: time.Now(), release: release}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	header.Set("Connection", "close") // the stream's end is the connection's
	_ = header.Write(&head)
	head.WriteString("\r\n")
	head.Write(prelude)
	if !st.write(head.Bytes()) {
		s.endStream(st)
		return true
	}
	l := &s.lot
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		s.endStream(st)
		return true
	}
	if l.groups == nil {
		l.groups = map[string]*streamGroup{}
	}
	g := l.groups[userID]
	if g == nil {
		g = &streamGroup{streams: map[*parkedStream]struct{}{}}
		l.groups[userID] = g
	}
	g.streams[st] = struct{}{}
	if !l.beating {
		l.beating = true
		go l.heartbeat()
	}
	l.mu.Unlock()
	l.kickGroup(userID, false) // events between the start and now
	return true
}

func (st *parkedStream) write(b []byte) bool {
	if err := st.conn.SetWriteDeadline(time.Now().Add(parkedWriteTimeout)); err != nil {
		return false
	}
	n, err := st.conn.Write(b)
	st.bytes += int64(n)
	return err == nil
}

// left reports whether the client has closed its side: a read given a
// millisecond finds the end of the stream at once (a live client sends
// nothing, and the read times out). A deadline already past would not read.
func (st *parkedStream) left() bool {
	if err := st.conn.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return true
	}
	var b [1]byte
	_, err := st.conn.Read(b[:])
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

// endStream closes a parked stream, gives back its place and writes its
// access line.
func (s *Server) endStream(st *parkedStream) {
	st.ended.Do(func() {
		closeConn(st.conn)
		st.release()
		s.answered(st.r, st.r.Pattern, http.StatusOK, st.bytes, time.Since(st.start))
	})
}

// sweep ends the account's parked streams whose clients have left, which
// otherwise hold their places until the next heartbeat; true when it ended
// any. Called when the account has no stream left to open.
func (l *lot) sweep(userID string) bool {
	l.mu.Lock()
	var streams []*parkedStream
	if g := l.groups[userID]; g != nil {
		for st := range g.streams {
			streams = append(streams, st)
		}
	}
	l.mu.Unlock()
	var gone []*parkedStream
	for _, st := range streams {
		if st.left() {
			gone = append(gone, st)
		}
	}
	if len(gone) == 0 {
		return false
	}
	l.mu.Lock()
	if g := l.groups[userID]; g != nil {
		for _, st := range gone {
			delete(g.streams, st)
		}
	}
	l.mu.Unlock()
	for _, st := range gone {
		l.s.endStream(st)
	}
	return true
}

// kickGroup runs the account's pump, or makes the running one go again.
func (l *lot) kickGroup(userID string, ping bool) {
	l.mu.Lock()
	g := l.groups[userID]
	if g == nil {
		l.mu.Unlock()
		return
	}
	g.ping = g.ping || ping
	if g.running {
		g.again = true
		l.mu.Unlock()
		return
	}
	g.running = true
	l.mu.Unlock()
	go l.pump(userID, g)
}

// pump sends the account's streams the events they have not had, reading the
// log once for all of them, until no wake-up came while it ran.
func (l *lot) pump(userID string, g *streamGroup) {
	ctx := context.Background()
	for {
		l.mu.Lock()
		closed := l.closed
		ping := g.ping
		g.again, g.ping = false, false
		streams := make([]*parkedStream, 0, len(g.streams))
		for st := range g.streams {
			streams = append(streams, st)
		}
		l.mu.Unlock()
		var gone []*parkedStream
		if closed {
			gone = streams
		} else if len(streams) > 0 {
			gone = l.send(ctx, userID, streams, ping, g)
		}
		l.mu.Lock()
		for _, st := range gone {
			delete(g.streams, st)
		}
		if g.again && !closed {
			l.mu.Unlock()
			for _, st := range gone {
				l.s.endStream(st)
			}
			continue
		}
		g.running = false
		if len(g.streams) == 0 && l.groups[userID] == g {
			delete(l.groups, userID)
		}
		l.mu.Unlock()
		for _, st := range gone {
			l.s.endStream(st)
		}
		return
	}
}

// send reads the events after the oldest stream's place and writes each
// stream those after its own; it returns the streams to end.
func (l *lot) send(ctx context.Context, userID string, streams []*parkedStream, ping bool, g *streamGroup) (gone []*parkedStream) {
	from := streams[0].after
	for _, st := range streams[1:] {
		from = min(from, st.after)
	}
	evs, err := l.s.App.EventsAfter(ctx, userID, from)
	if err != nil {
		// The clients reconnect with their Last-Event-ID and lose nothing.
		l.s.Logger.Warn("event stream read failed", "err", err)
		return streams
	}
	if len(evs) == fetchsms.MaxStreamBatch {
		l.mu.Lock()
		g.again = true // there are more: read again
		l.mu.Unlock()
	}
	chunks := make([][]byte, len(evs))
	for i, ev := range evs {
		var b bytes.Buffer
		sse.Write(&b, strconv.FormatInt(ev.Seq, 10), ev.Type, ev.Payload)
		chunks[i] = b.Bytes()
	}
	var out bytes.Buffer
	for _, st := range streams {
		out.Reset()
		last := st.after
		for i, ev := range evs {
			if ev.Seq > st.after {
				out.Write(chunks[i])
				last = ev.Seq
			}
		}
		if out.Len() == 0 {
			if !ping {
				continue
			}
			sse.Comment(&out, "ping")
		}
		if !st.write(out.Bytes()) {
			gone = append(gone, st)
			continue
		}
		st.after = last
	}
	return gone
}

// heartbeat pings every parked stream each HeartbeatEvery, until the server
// closes.
func (l *lot) heartbeat() {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for range t.C {
		l.mu.Lock()
		if l.closed {
			l.beating = false
			l.mu.Unlock()
			return
		}
		ids := make([]string, 0, len(l.groups))
		for id := range l.groups {
			ids = append(ids, id)
		}
		l.mu.Unlock()
		for _, id := range ids {
			l.kickGroup(id, true)
		}
	}
}
