package web

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket per key (an IP, an email), forgetting keys idle for
// longer than it takes their bucket to refill. It holds at most maxKeys buckets:
// past that, new keys share one overflow bucket until idle ones are forgotten, so
// a flood of fresh addresses costs bounded memory and slows only newcomers.
type keyedLimiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	used    map[string]int // tokens taken per key since takeUsed, when counted (shared)
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(perSecond float64, burst int) *keyedLimiter {
	return &keyedLimiter{limit: rate.Limit(perSecond), burst: burst, maxKeys: defaultMaxKeys, buckets: map[string]*bucket{}}
}

// defaultMaxKeys bounds a limiter's buckets (~200 bytes each).
const defaultMaxKeys = 100_000

// overflowKey is the bucket new keys share while a limiter is full.
const overflowKey = "\x00overflow"

// allow takes a token for key; when none is left it returns how long until one is.
func (k *keyedLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok && (now.Sub(k.swept) > time.Minute || len(k.buckets) >= k.maxKeys) {
		idle := time.Duration(float64(k.burst)/float64(k.limit)*float64(time.Second)) + time.Minute
		for key, b := range k.buckets {
			if now.Sub(b.seen) > idle {
				delete(k.buckets, key)
			}
		}
		k.swept = now
	}
	if !ok && len(k.buckets) >= k.maxKeys {
		key = overflowKey
		b, ok = k.buckets[key]
	}
	if !ok {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	if k.used != nil && key != overflowKey {
		k.used[key]++
	}
	return true, 0
}

// count makes the limiter count the tokens each key takes, for takeUsed.
func (k *keyedLimiter) count() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.used = map[string]int{}
}

// takeUsed returns the tokens taken per key since the last call, and starts
// counting afresh.
func (k *keyedLimiter) takeUsed() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.used) == 0 {
		return nil
	}
	used := k.used
	k.used = map[string]int{}
	return used
}

// setBurst changes the burst of every key's bucket (and of those to come).
func (k *keyedLimiter) setBurst(burst int, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if burst == k.burst {
		return
	}
	k.burst = burst
	for _, b := range k.buckets {
		b.lim.SetBurstAt(now, burst)
	}
}

// charge takes n tokens from key's bucket for requests another server let
// through: the bucket may go below empty, so this server's next requests for
// the key wait for the tokens the other took. Keys this server has not seen
// get a bucket too, as long as the limiter has room.
func (k *keyedLimiter) charge(key string, n int, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= k.maxKeys {
			return
		}
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	b.lim.ReserveN(now, min(n, k.burst))
}

// wait returns how long until key has a token, without taking one (0: now).
func (k *keyedLimiter) wait(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		return 0
	}
	if t := b.lim.TokensAt(now); t < 1 {
		return time.Duration((1 - t) / float64(k.limit) * float64(time.Second))
	}
	return 0
}

// has reports whether key has been seen and not yet forgotten.
func (k *keyedLimiter) has(key string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.buckets[key]
	return ok
}

// throttled answers 429 with Retry-After when the request is over a limit.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request, lim *keyedLimiter, key, what string) bool {
	ok, wait := lim.allow(key, time.Now())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if what == "API" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ERATELIMIT, "rate limit exceeded: %d requests per second per API key; retry in %d second(s)", APIKeyRate, secs))
		return true
	}
	s.writeError(w, r, fetchsms.Errorf(fetchsms.ERATELIMIT, "too many %s requests: retry in %d second(s)", what, secs))
	return true
}

// APIKeyRate is the documented limit per API key: requests per second (and burst),
// over all the servers sharing a database (ShareLimits).
const APIKeyRate = 100

// UsageEvery is how often a server sharing its database reports its per-key
// usage to the others: the delay within which a key's limit holds across them.
// A server with nothing to report says it is there every PresenceEvery, and
// one not heard from for PresenceLapse is counted gone.
const (
	UsageEvery    = 100 * time.Millisecond
	PresenceEvery = time.Second
	PresenceLapse = 3 * time.Second
)

// ShareLimits shares the per-key rate limit with the other servers sharing the
// database, until ctx ends. Every UsageEvery this server reports the tokens
// its clients took of each key, and it takes from its own buckets what the
// others report, so a key's requests count on every server, however the
// balancer spreads them: 100 a second in all, on one server or on several.
// The burst is split between the servers heard from lately (each holds
// 100/N), since a burst spread over them lands before any report. So a key
// gets at most the burst plus the rate over all of them, give or take what
// one report's delay lets through (docs/OPERATIONS.md), with nothing divided
// by hand.
func (s *Server) ShareLimits(ctx context.Context) {
	s.Handler()
	if !s.App.Shared() {
		return
	}
	lim := s.limits.perKey
	lim.count()
	var mu sync.Mutex
	peers := map[string]time.Time{} // the other servers, when last heard from
	s.App.OnUsage(func(from string, used map[string]int) {
		now := time.Now()
		mu.Lock()
		peers[from] = now
		mu.Unlock()
		for key, n := range used {
			lim.charge(key, n, now)
		}
	})
	t := time.NewTicker(UsageEvery)
	defer t.Stop()
	var said time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			used := lim.takeUsed()
			if len(used) > 0 || now.Sub(said) >= PresenceEvery {
				s.App.ShareUsage(used)
				said = now
			}
			mu.Lock()
			for id, at := range peers {
				if now.Sub(at) > PresenceLapse {
					delete(peers, id)
				}
			}
			n := len(peers) + 1
			mu.Unlock()
			lim.setBurst(max(1, APIKeyRate/n), now)
		}
	}
}

// catalogIPRate limits the public catalog per client IP.
const catalogIPRate = 50

// limits are the server's request limits.
type limits struct {
	perKey    *keyedLimiter
	catalogIP *keyedLimiter
	sends     *keyedLimiter // test events and redeliveries, per account
}

// WebhookSendsPerMinute bounds an account's test events and redeliveries
// together (each is a POST to the customer's endpoint on our sending slots).
const WebhookSendsPerMinute = 10

// webhookSendErr is the answer past that bound, or nil.
// An API answer (w not nil) also carries the wait in Retry-After, as every 429 does.
func (s *Server) webhookSendErr(w http.ResponseWriter, userID string) error {
	if s.limits == nil {
		return nil
	}
	if ok, wait := s.limits.sends.allow(userID, time.Now()); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		if w != nil {
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		return fetchsms.Errorf(fetchsms.ERATELIMIT, "at most %d test events and redeliveries a minute per account: retry in %d second(s)", WebhookSendsPerMinute, secs)
	}
	return nil
}

// newLimits makes the server's limits. The per-key limit is shared by the
// servers sharing the database (ShareLimits); per-IP limits are not: they
// protect each server.
func newLimits() *limits {
	return &limits{perKey: newKeyedLimiter(APIKeyRate, APIKeyRate), catalogIP: newKeyedLimiter(catalogIPRate, 2*catalogIPRate),
		sends: newKeyedLimiter(WebhookSendsPerMinute/60.0, WebhookSendsPerMinute)}
}

// perIP throttles a public endpoint per client IP, unless the operator lifted
// per-IP limits.
func (s *Server) perIP(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.limits != nil && !s.NoIPLimits && s.throttled(w, r, s.limits.catalogIP, clientIP(r), "catalog") {
			return
		}
		h(w, r)
	}
}

// authLimits throttle sign-up and sign-in. Every attempt counts against the
// client's address (perIP, lifted by --no-ip-limits). Failed passwords count
// twice more: against the pair (account, client), which stops one client's
// guessing without locking the owner out from anywhere else; and against the
// account from anywhere, which stops guessing spread over many addresses — once
// that is spent, only clients that signed in to the account lately (known) may
// still try. Neither counts a right password, so a correct login never uses up
// a limit, and no answer depends on the password before the limits pass.
type authLimits struct {
	perIP        *keyedLimiter
	pairFails    *keyedLimiter
	accountFails *keyedLimiter
	known        *keyedLimiter // (account, client) pairs that signed in lately; only their presence matters
}

func newAuthLimits() *authLimits {
	return &authLimits{
		perIP:        newKeyedLimiter(1, 30),       // 30 at once, then one a second
		pairFails:    newKeyedLimiter(1.0/6, 10),   // 10 failures at once, then one every 6 seconds
		accountFails: newKeyedLimiter(1.0/30, 100), // 100 failures from anywhere, then one every 30 seconds
		known:        newKeyedLimiter(1.0/(30*24*3600), 1),
	}
}

// throttleAuth answers 429 when a sign-up or sign-in may not go ahead: too many
// attempts from the client, or (with an email: a sign-in) too many failed
// passwords for the account from this client, or from everywhere while this
// client is not one that signed in to it lately.
func (s *Server) throttleAuth(w http.ResponseWriter, r *http.Request, email string) bool {
	if s.authLimits == nil {
		return false
	}
	if !s.NoIPLimits && s.throttled(w, r, s.authLimits.perIP, clientIP(r), "sign-in") {
		return true
	}
	if email == "" {
		return false
	}
	if wait, ok := s.authLimits.mayTry(email, clientIP(r), time.Now()); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.writeError(w, r, fetchsms.Errorf(fetchsms.ERATELIMIT, "too many failed sign-ins for this account: retry in %d second(s)", secs))
		return true
	}
	return false
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// mayTry tells whether a client may try a password for an account now.
func (l *authLimits) mayTry(email, client string, now time.Time) (time.Duration, bool) {
	acct := accountKey(email)
	if wait := l.pairFails.wait(acct+"\x00"+client, now); wait > 0 {
		return wait, false
	}
	if wait := l.accountFails.wait(acct, now); wait > 0 && !l.known.has(acct+"\x00"+client, now) {
		return wait, false
	}
	return 0, true
}

// noteSignIn counts a sign-in's password check: a wrong password (or email)
// counts against the limits; a right one makes the client known to the account.
func (s *Server) noteSignIn(r *http.Request, email string, err error) {
	switch fetchsms.ErrorCode(err) {
	case "", fetchsms.EFORBIDDEN: // the password was right (a disabled account says so either way)
		if err == nil {
			s.authLimits.signedIn(email, clientIP(r), true, time.Now())
		}
	case fetchsms.EUNAUTHORIZED:
		s.authLimits.signedIn(email, clientIP(r), false, time.Now())
	}
}

// signedIn notes the outcome of a password check: a failure counts against
// the pair and the account; a success makes the client known to the account.
func (l *authLimits) signedIn(email, client string, ok bool, now time.Time) {
	if l == nil {
		return
	}
	acct := accountKey(email)
	if ok {
		l.known.allow(acct+"\x00"+client, now)
		return
	}
	l.pairFails.allow(acct+"\x00"+client, now)
	l.accountFails.allow(acct, now)
}
