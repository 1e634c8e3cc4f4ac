package sqlite

import (
	"sync"

	fetchsms "github.com/fetchsms/fetchsms"
)

// vcache keeps verifications read by id, for the poll that customers run every few
// seconds. It is coherent because this process is the database's only writer of
// verifications (a SQLite database is served by one server process; the operator
// commands never touch purchases): every write transaction names the verifications
// it changes, and they are dropped once it commits. A read that raced with any
// commit is not cached (the generation check), so a stale row never enters.
type vcache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]fetchsms.Verification
}

const vcacheMax = 50_000

func (c *vcache) get(id string) (fetchsms.Verification, bool) {
	c.mu.Lock()
	v, ok := c.m[id]
	c.mu.Unlock()
	return v, ok
}

// generation returns the current write generation, to pass to put.
func (c *vcache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches v when no commit has happened since gen was read.
func (c *vcache) put(v *fetchsms.Verification, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil || len(c.m) >= vcacheMax {
		c.m = make(map[string]fetchsms.Verification)
	}
	c.m[v.ID] = *v
}

// committed drops what a committed batch changed and starts a new generation.
func (c *vcache) committed(ids []string) {
	c.mu.Lock()
	c.gen++
	for _, id := range ids {
		delete(c.m, id)
	}
	c.mu.Unlock()
}
