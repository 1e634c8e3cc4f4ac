package fetchsms

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// rulesStore is a Store whose AllServices the test controls.
type rulesStore struct {
	Store
	load func() []*Service
}

func (s rulesStore) AllServices(context.Context) ([]*Service, error) { return s.load(), nil }

// TestRuleReloadsDoNotOverlap: a periodic reload that read the rules before an
// admin's change must not install them after the reload the change triggered.
func TestRuleReloadsDoNotOverlap(t *testing.T) {
	var updated []*Service
	for _, s := range DefaultCatalog() {
		updated = append(updated, &s)
	}
	periodicRead := make(chan struct{})
	releasePeriodic := make(chan struct{})
	calls := 0
	st := rulesStore{load: func() []*Service {
		calls++
		switch calls {
		case 1: // New's own load
			return nil
		case 2: // the periodic reload: reads the rules (none yet), then is slow
			close(periodicRead)
			<-releasePeriodic
			return nil
		}
		return updated // the admin's reload, after the change
	}}
	a, err := New(context.Background(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	periodicDone := make(chan error)
	go func() { periodicDone <- a.ReloadRules(context.Background()) }()
	<-periodicRead
	adminDone := make(chan error)
	go func() { adminDone <- a.ReloadRules(context.Background()) }()
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
	if d := a.detect("Telegram", "Telegram code: 482910"); d.ServiceID == 0 || d.Code != "482910" {
		t.Fatalf("the detector ends with stale rules: %+v", d)
	}
}

// TestEngineSentinelsReachCallersWithTheirCodes: a read that passes through to the
// engine returns its sentinel untranslated; the caller still answers with the
// right code and a generic message, never the driver's text.
func TestEngineSentinelsReachCallersWithTheirCodes(t *testing.T) {
	for _, c := range []struct {
		err        error
		code, text string
	}{
		{fmt.Errorf("%w: fdatasync: EIO", ErrUnavailable), EUNAVAILABLE, "the service is temporarily unavailable"},
		{fmt.Errorf("%w: sql: no rows in result set", ErrNoRow), ENOTFOUND, "not found"},
		{fmt.Errorf("%w: UNIQUE constraint failed: users.email", ErrDuplicate), ECONFLICT, "already exists"},
		{errors.New("disk I/O error"), EINTERNAL, "internal error"},
	} {
		if got := ErrorCode(c.err); got != c.code {
			t.Errorf("ErrorCode(%v) = %s, want %s", c.err, got, c.code)
		}
		if got := ErrorMessage(c.err); got != c.text {
			t.Errorf("ErrorMessage(%v) = %q, want %q", c.err, got, c.text)
		}
		if e := storageError("op", c.err, ""); ErrorCode(e) != c.code || ErrorMessage(e) != c.text {
			t.Errorf("storageError(%v) = %v", c.err, e)
		}
	}
	// An *Error passes unchanged; one without an operation is copied, not changed.
	shared := &Error{Code: EPAYMENT, Message: "pay"}
	got := storageError("Adjust", shared, "")
	if shared.Op != "" || ErrorCode(got) != EPAYMENT || got.(*Error).Op != "Adjust" {
		t.Errorf("storageError changed a shared error: %+v → %+v", shared, got)
	}
}

func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		e    *Error
		want string
	}{
		{&Error{Op: "Deposit", Message: "nope", Err: errors.New("boom")}, "Deposit: nope: boom"},
		{&Error{Op: "Deposit", Err: errors.New("boom")}, "Deposit: boom"},
		{&Error{Message: "nope"}, "nope"},
		{&Error{Err: errors.New("boom")}, "boom"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}
