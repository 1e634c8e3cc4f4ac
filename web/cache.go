package web

import (
	"context"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// catalogTTL bounds how stale the cached catalog (its stock figures) may be. Changes
// made through this server drop the cache at once; a sweep or another server's
// purchase shows within the TTL.
const catalogTTL = time.Second

// catalogCache holds the rendered GET /v1/services answer.
//
// Both caches here count their invalidations: a miss returns the count, and a
// fill made with an older count is not stored. Otherwise a read that started
// before a change, and finished after the change dropped the cache, would put
// the old state back for a whole TTL (a revoked key working for 2 s more).
type catalogCache struct {
	mu      sync.Mutex
	body    []byte
	expires time.Time
	gen     uint64 // invalidations so far
}

// get returns the cached body, or nil and the generation to fill it with.
func (c *catalogCache) get(now time.Time) ([]byte, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.expires) {
		return c.body, c.gen
	}
	return nil, c.gen
}

// put stores body, read after get returned gen, unless the cache was dropped since.
func (c *catalogCache) put(body []byte, now time.Time, gen uint64) {
	c.mu.Lock()
	if gen == c.gen {
		c.body, c.expires = body, now.Add(catalogTTL)
	}
	c.mu.Unlock()
}

func (c *catalogCache) invalidate() {
	c.mu.Lock()
	c.body, c.expires = nil, time.Time{}
	c.gen++
	c.mu.Unlock()
}

// authTTL bounds how long a credential lookup is reused. Revoking a key, rotating
// it, logging out or disabling an account through this server drops the whole cache
// at once (the App announces CredentialsChanged); through another server (on a
// shared database) it takes effect within the TTL.
const authTTL = 2 * time.Second

type authEntry struct {
	p       *fetchsms.Principal
	expires time.Time
}

// authCache remembers resolved credentials by token. Only successes are kept, and
// the balance in a cached principal is never used for money decisions (purchases
// read it inside their transaction).
type authCache struct {
	mu  sync.Mutex
	m   map[string]authEntry
	gen uint64 // purges so far
}

// get returns the cached principal, or nil and the generation to fill it with.
func (c *authCache) get(token string, now time.Time) (*fetchsms.Principal, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[token]
	if !ok || now.After(e.expires) {
		return nil, c.gen
	}
	return e.p, c.gen
}

// put stores p, looked up after get returned gen, unless the cache was purged
// since. Gateways are never cached: a gateway's token rotated or disabled on
// any server stops at once on every server (its requests are few: one per SMS).
func (c *authCache) put(token string, p *fetchsms.Principal, now time.Time, gen uint64) {
	if p.Kind == fetchsms.KindGateway {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]authEntry{}
	}
	c.m[token] = authEntry{p, now.Add(authTTL)}
}

func (c *authCache) purge() {
	c.mu.Lock()
	c.m = nil
	c.gen++
	c.mu.Unlock()
}

// hear drops the caches when the domain reports a change to what they hold. It
// runs after the commit and before the request that made the change is answered,
// so that client never reads an older state after its answer; changes made
// through another server show within the TTLs.
func (s *Server) hear(_ context.Context, change any) {
	switch c := change.(type) {
	case fetchsms.StockChanged, fetchsms.CatalogChanged, fetchsms.ReliabilityChanged:
		s.catalog.invalidate()
	case fetchsms.CredentialsChanged:
		s.auth.purge()
	case fetchsms.PurchaseChanged:
		if c.VerificationID == "" && c.RentalID == "" && c.UserID == "" {
			s.waiters.wake()
			s.lot.wake()
		} else {
			ids := []string{c.VerificationID, c.RentalID}
			if c.UserID != "" {
				ids = append(ids, userKey(c.UserID))
			}
			s.waiters.wake(ids...)
			s.lot.wake(ids...)
		}
	}
}
