package storetest

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// mailbox keeps the App's account mails in memory: what is under test here is
// the engine's token rows; the SMTP path is proven in smtpmail and end to end.
type mailbox struct {
	mu   sync.Mutex
	mail []fetchsms.Mail
}

func (m *mailbox) Send(_ context.Context, x fetchsms.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, x)
	return nil
}

func (m *mailbox) tokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, x := range m.mail {
		if t := regexp.MustCompile(`token=(fsr_[A-Za-z0-9_-]+)`).FindStringSubmatch(x.Text); t != nil {
			out = append(out, t[1])
		}
	}
	return out
}

// testAccountTokens: reset tokens are single-use (also when two take one at
// once), expire, are limited per account per hour, and end the sessions; an
// email change needs its link and refuses an address taken meanwhile.
func testAccountTokens(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 0)
	box := &mailbox{}
	app, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall, Mailer: box})
	if err != nil {
		t.Fatal(err)
	}
	u := f.user(t, 0)
	sess, err := app.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.RequestPasswordReset(ctx, "nobody@example.com", "http://x"); err != nil || len(box.tokens()) != 0 {
		t.Fatalf("unknown address: %v, %d mails", err, len(box.tokens()))
	}
	for i := 0; i < fetchsms.AccountMailsPerHour+2; i++ {
		if err := app.RequestPasswordReset(ctx, u.Email, "http://x"); err != nil {
			t.Fatal(err)
		}
	}
	tokens := box.tokens()
	if len(tokens) != fetchsms.AccountMailsPerHour {
		t.Fatalf("%d reset mails, want %d", len(tokens), fetchsms.AccountMailsPerHour)
	}

	// Two take one token at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = app.ResetPassword(ctx, tokens[0], "a new password 1") }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || fetchsms.ErrorCode(errs[0])+fetchsms.ErrorCode(errs[1]) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("two uses of one token: %v, %v", errs[0], errs[1])
	}
	if _, err := app.Authenticate(ctx, sess.Token); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("a session outlived the reset: %v", err)
	}
	// The reset ended the other links of the account.
	if _, err := app.ResetPassword(ctx, tokens[1], "a new password 2"); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("another link after a reset: %v", err)
	}
	if _, _, err := app.Login(ctx, u.Email, "a new password 1"); err != nil {
		t.Fatal(err)
	}

	// An hour later the limit has room again, and a link expires after its hour.
	f.wall.Advance(time.Hour + time.Second)
	if err := app.RequestPasswordReset(ctx, u.Email, "http://x"); err != nil || len(box.tokens()) != len(tokens)+1 {
		t.Fatalf("after an hour: %v, %d mails", err, len(box.tokens()))
	}
	late := box.tokens()[len(tokens)]
	f.wall.Advance(fetchsms.PasswordResetLifetime + time.Second)
	if _, err := app.ResetPassword(ctx, late, "a new password 3"); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("an expired link: %v", err)
	}

	// Email change: the link changes it; an address taken meanwhile is refused.
	if err := app.RequestEmailChange(ctx, u.ID, "wrong password", "new@example.com", "http://x"); fetchsms.ErrorCode(err) != fetchsms.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	v := f.user(t, 0)
	if err := app.RequestEmailChange(ctx, u.ID, "a new password 1", v.Email, "http://x"); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("another account's address: %v", err)
	}
	newEmail := "moved-" + u.Email
	if err := app.RequestEmailChange(ctx, u.ID, "a new password 1", newEmail, "http://x"); err != nil {
		t.Fatal(err)
	}
	all := box.tokens()
	if _, err := app.ConfirmEmailChange(ctx, all[len(all)-1]); err != nil {
		t.Fatal(err)
	}
	if got, err := app.UserByID(ctx, u.ID); err != nil || got.Email != newEmail {
		t.Fatalf("email %v, %v", got, err)
	}
	if _, err := app.ConfirmEmailChange(ctx, all[len(all)-1]); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
		t.Fatalf("second confirm: %v", err)
	}
	// Two ask to move to one free address; the second confirm finds it taken.
	w := f.user(t, 0)
	if _, _, err := app.Login(ctx, w.Email, "password123"); err != nil {
		t.Fatal(err)
	}
	target := "target-" + w.Email
	for _, id := range []string{u.ID, w.ID} {
		pw := "a new password 1"
		if id == w.ID {
			pw = "password123"
		}
		if err := app.RequestEmailChange(ctx, id, pw, target, "http://x"); err != nil {
			t.Fatal(err)
		}
	}
	all = box.tokens()
	if _, err := app.ConfirmEmailChange(ctx, all[len(all)-2]); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ConfirmEmailChange(ctx, all[len(all)-1]); fetchsms.ErrorCode(err) != fetchsms.ECONFLICT {
		t.Fatalf("a taken address: %v", err)
	}
}
