package main

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// TestRuleReloadsDoNotOverlap: a periodic reload that read the rules before an
// admin's change must not install them after the reload the change triggered.
func TestRuleReloadsDoNotOverlap(t *testing.T) {
	old := []*fetchsms.Service{{Slug: "old"}}
	updated := []*fetchsms.Service{{Slug: "old"}, {Slug: "new"}}
	periodicRead := make(chan struct{})
	releasePeriodic := make(chan struct{})
	installed := make(chan []*fetchsms.Service, 2)
	calls := 0
	r := &ruleReloader{
		load: func(ctx context.Context) ([]*fetchsms.Service, error) {
			calls++
			if calls == 1 { // the periodic reload: reads the rules, then is slow
				close(periodicRead)
				<-releasePeriodic
				return old, nil
			}
			return updated, nil // the admin's reload, after the change
		},
		set: func(s []*fetchsms.Service) { installed <- s },
	}
	periodicDone := make(chan error)
	go func() { periodicDone <- r.reload(context.Background()) }()
	<-periodicRead
	adminDone := make(chan error)
	go func() { adminDone <- r.reload(context.Background()) }()
	select {
	case <-adminDone:
		t.Fatal("the admin's reload ran while the periodic one was reading")
	case <-time.After(50 * time.Millisecond):
	}
	close(releasePeriodic)
	if err := <-periodicDone; err != nil {
		t.Fatal(err)
	}
	if err := <-adminDone; err != nil {
		t.Fatal(err)
	}
	<-installed
	if last := <-installed; len(last) != 2 {
		t.Fatalf("the detector ends with %d services (stale rules), want 2", len(last))
	}
}
