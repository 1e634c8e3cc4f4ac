package postgres

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The verification cache: LoadVerification (a customer polling GET
// /v1/verifications/{id}) served from memory, kept coherent across the servers
// sharing the database.
//
//   - A transaction that changes verifications (UpdateVerification) has their
//     ids notified on vcacheChannel right after its commit and before Update
//     returns (announce, update.go), to every server's listener (this one's
//     too); never for a transaction rolled back. A change to a service (its
//     name is in every verification read) notifies "*": drop everything. A
//     server that dies between a commit and its notification leaves the others'
//     entries to expire (vcacheTTL).
//   - This server also drops what its own transactions touched as soon as they
//     end, before Update returns: a customer reads their own write on the server
//     that made it.
//   - Entries are kept only while the listener listens: when its connection is
//     lost (notifications may be missed) the cache is emptied and stays off until
//     it listens again. An entry lives vcacheTTL at most, whatever happens.
//   - A read that missed fills the cache only if nothing was dropped while it
//     read (the generation), so a read that raced a change never stores the
//     row as it was before.
//
// So a server shows another server's change at most one notification's delivery
// later (what its waiters see too), and its own at once.

// vcacheChannel is the LISTEN/NOTIFY channel of verification changes.
const vcacheChannel = "fetchsms_verifications"

// vcachePayloads joins ids into NOTIFY payloads of the ids separated by
// commas, each under PostgreSQL's limit of 8000 bytes.
func vcachePayloads(ids []string) []string {
	var out []string
	var b strings.Builder
	for _, id := range ids {
		if b.Len() > 0 && b.Len()+1+len(id) > 7900 {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// vcacheTTL bounds an entry's life.
const vcacheTTL = time.Second

// vcacheMax bounds the entries; a full cache is emptied.
const vcacheMax = 100_000

type vcache struct {
	mu  sync.Mutex
	m   map[string]vcEntry
	svc map[string]svcEntry // enabled services by the reference a purchase gave (service, below)
	// svcGen moves when every service is dropped (gen moves with every
	// verification, far more often than services change).
	svcGen atomic.Uint64
	gen    atomic.Uint64 // moves on every drop
	on     atomic.Bool   // the listener listens
	ttl    atomic.Int64  // an entry's life (vcacheTTL; tests set another)
}

type vcEntry struct {
	v  fetchsms.Verification
	at time.Time
}

type svcEntry struct {
	s  *fetchsms.Service
	at time.Time
}

func newVCache() *vcache {
	c := &vcache{m: make(map[string]vcEntry), svc: make(map[string]svcEntry)}
	c.ttl.Store(int64(vcacheTTL))
	return c
}

// get returns a copy of the cached verification id when it is userID's.
func (c *vcache) get(userID, id string, now time.Time) (*fetchsms.Verification, bool) {
	if !c.on.Load() {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || e.v.UserID != userID || now.Sub(e.at) >= time.Duration(c.ttl.Load()) {
		return nil, false
	}
	v := e.v
	v.Codes = slices.Clone(v.Codes)
	return &v, true
}

// put stores v, read at generation gen, unless something was dropped since.
func (c *vcache) put(v *fetchsms.Verification, gen uint64, now time.Time) {
	if !c.on.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.m) >= vcacheMax {
		clear(c.m)
	}
	e := vcEntry{v: *v, at: now}
	e.v.Codes = slices.Clone(v.Codes)
	c.m[v.ID] = e
}

// drop forgets the verification id ("*": every one).
func (c *vcache) drop(id string) {
	c.mu.Lock()
	c.gen.Add(1)
	if id == "*" {
		clear(c.m)
		clear(c.svc)
		c.svcGen.Add(1)
	} else {
		delete(c.m, id)
	}
	c.mu.Unlock()
}

// listening turns the cache on (the listener listens) or off (it lost its
// connection: what it missed is unknown, so everything is dropped).
func (c *vcache) listening(on bool) {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.m)
	clear(c.svc)
	c.svcGen.Add(1)
	c.on.Store(on)
	c.mu.Unlock()
}

// The services a purchase names are read from the same cache, under the same
// rules: a change to a service notifies "*" (SaveService), which drops them
// all on every server, and an entry lives vcacheTTL at most (an operator's
// edit made with psql is seen within that). A purchase then starts with its
// number, one round trip less (docs/PERFORMANCE.md, "Session 12").

// service returns the cached enabled service ref names, or loads it (load's
// ErrNoRow is not cached: a service enabled later is found at once). The
// service returned is shared: read it, never change it.
func (c *vcache) service(ref string, load func() (*fetchsms.Service, error)) (*fetchsms.Service, error) {
	now := time.Now()
	if c.on.Load() {
		c.mu.Lock()
		e, ok := c.svc[ref]
		c.mu.Unlock()
		if ok && now.Sub(e.at) < time.Duration(c.ttl.Load()) {
			return e.s, nil
		}
	}
	gen := c.svcGen.Load()
	s, err := load()
	if err != nil || !c.on.Load() {
		return s, err
	}
	c.mu.Lock()
	if c.svcGen.Load() == gen {
		if len(c.svc) >= vcacheMax {
			clear(c.svc)
		}
		c.svc[ref] = svcEntry{s: s, at: now}
	}
	c.mu.Unlock()
	return s, nil
}
