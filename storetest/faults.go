package storetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	fetchsms "github.com/fetchsms/fetchsms"
)

//go:generate go run ./internal/genfaulttx

// The fault-injecting engine of the simulation (sim.go): a Store whose Update
// hands the App a Tx (faultTx, generated in faulttx.go) that delegates every
// statement to the engine's own, and which, as a seeded RNG decides for each
// transaction, makes its Nth statement fail, makes its commit fail (the engine
// rolls back), or lets it commit and loses the answer (the App is told the
// storage failed although everything was written). The failure is an
// ErrUnavailable, as a dead disk or a cut connection is.

// faultKind is what happens to one transaction.
type faultKind int

const (
	faultNone      faultKind = iota
	faultStatement           // the Nth statement fails; the transaction rolls back
	faultCommit              // every statement runs; the commit fails (rolls back)
	faultLost                // the transaction commits; its answer is lost
	faultKinds
)

func (k faultKind) String() string {
	return [...]string{"none", "statement", "commit", "answer lost"}[k]
}

// injectedFault is the error a fault returns: storage unavailable.
type injectedFault struct{ op, what string }

func (e *injectedFault) Error() string { return "injected fault in " + e.op + ": " + e.what }
func (e *injectedFault) Unwrap() error { return fetchsms.ErrUnavailable }

// faultTx is the engine's Tx with a question before every statement (its
// methods are generated: go generate ./storetest).
type faultTx struct {
	tx   fetchsms.Tx
	step func(stmt string) error
}

// injector decides, from its seeded RNG, the fault of each transaction.
type injector struct {
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64        // the chance that a transaction gets a fault
	most map[string]int // the most statements seen in one transaction of each op
	done [faultKinds]int
	seen map[string]bool // "op/kind" pairs injected, for the coverage report
	off  bool
}

func newInjector(seed uint64, rate float64) *injector {
	return &injector{rng: rand.New(rand.NewPCG(seed, 0x5eed)), rate: rate, most: map[string]int{}, seen: map[string]bool{}}
}

// plan picks the fault of the next transaction of op: for a failing
// statement, which one (1-based, among as many as op has been seen to run).
func (in *injector) plan(op string) (faultKind, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.off || in.rng.Float64() >= in.rate {
		return faultNone, 0
	}
	k := faultKind(1 + in.rng.IntN(int(faultKinds)-1))
	n := 0
	if k == faultStatement {
		n = 1 + in.rng.IntN(max(in.most[op], 1))
	}
	return k, n
}

// ran records that a transaction of op ran stmts statements and what was
// injected in it (faultNone when the planned statement was never reached).
func (in *injector) ran(op string, stmts int, k faultKind) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.most[op] = max(in.most[op], stmts)
	in.done[k]++
	if k != faultNone {
		in.seen[op+"/"+k.String()] = true
	}
}

func (in *injector) setOff(off bool) {
	in.mu.Lock()
	in.off = off
	in.mu.Unlock()
}

func (in *injector) String() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	ops := slices.Sorted(maps.Keys(in.most))
	return fmt.Sprintf("%d transactions clean, %d failed at a statement, %d at the commit, %d committed with the answer lost (%d op/fault pairs; ops: %s)",
		in.done[faultNone], in.done[faultStatement], in.done[faultCommit], in.done[faultLost], len(in.seen), strings.Join(ops, " "))
}

// faultStore is the engine under test with in's faults in its transactions.
// Reads pass through unchanged: they change nothing to get half done.
type faultStore struct {
	fetchsms.Store
	in *injector
}

func (s *faultStore) Update(ctx context.Context, op string, fn func(fetchsms.Tx) error) error {
	kind, n := s.in.plan(op)
	var stmts int
	var hit faultKind
	err := s.Store.Update(ctx, op, func(tx fetchsms.Tx) error {
		stmts, hit = 0, faultNone // an engine may run fn again
		ft := &faultTx{tx: tx, step: func(stmt string) error {
			stmts++
			if kind == faultStatement && stmts == n {
				hit = faultStatement
				return &injectedFault{op, fmt.Sprintf("statement %d (%s) failed", n, stmt)}
			}
			return nil
		}}
		if err := fn(ft); err != nil {
			return err
		}
		if kind == faultCommit {
			hit = faultCommit
			return &injectedFault{op, "the commit failed"}
		}
		return nil
	})
	if err == nil && kind == faultLost {
		hit = faultLost
		err = &injectedFault{op, "committed, and the answer was lost"}
	}
	s.in.ran(op, stmts, hit)
	return err
}
