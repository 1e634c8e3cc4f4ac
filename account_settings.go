package fetchsms

import (
	"context"
	"errors"
	"strings"
	"time"
)

// The account settings rules: a person changes their password (with the current
// one), changes their email (confirmed by a link sent to the new address), and
// resets a forgotten password (a link sent to the account's address). Links
// carry a token: random (NewToken), stored only as its hash, used once,
// expiring. A reset request answers the same whether or not the address has an
// account, and is rate-limited per account in the database (so every server
// sharing it agrees); the web layer limits it per client as well. Mail goes out
// after the commit through the Mailer (Options.Mailer); its words are written
// here.

// Token purposes.
const (
	PurposePasswordReset = "password_reset"
	PurposeEmailChange   = "email_change"
	// PrefixAccountToken starts a reset or email-change token: it is no
	// credential, and Authenticate refuses it.
	PrefixAccountToken = "fsr_"
)

// Account token lifetimes and limits.
const (
	PasswordResetLifetime = time.Hour
	EmailChangeLifetime   = 24 * time.Hour
	// AccountMailsPerHour bounds the reset (or email-change) messages one account
	// is sent in an hour; past it a reset request is answered as usual and sends
	// nothing, and an email change is refused with ERATELIMIT.
	AccountMailsPerHour = 3
)

// AccountToken is a password-reset or email-change token as stored (without
// the token itself).
type AccountToken struct {
	ID        string
	UserID    string
	Purpose   string
	NewEmail  string // an email change's new address
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Mail is one plain-text message to one person.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends mail (smtpmail: over SMTP). Send returns an error when the
// message could not be handed to the server.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// MailConfigured reports whether the server can send mail (and so offer
// password resets and email changes).
func (a *App) MailConfigured() bool { return a.mailer != nil }

func (a *App) noMail() error {
	return Errorf(ECONFLICT, "email is not configured on this server: ask the operator to reset your password")
}

// ChangePassword sets a new password for a person who knows the current one,
// and ends their other sessions (keep is the session in use). A wrong current
// password is EUNAUTHORIZED; a bad new one EUNPROCESSABLE.
func (a *App) ChangePassword(ctx context.Context, userID, keep, current, next string) error {
	u, err := a.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	_, hash, err := a.Store.LoadUserByEmail(ctx, u.Email)
	if err != nil {
		return storageError("ChangePassword", err, "user not found")
	}
	if !CheckPassword(hash, current) {
		return Errorf(EUNAUTHORIZED, "the current password is not right")
	}
	if err := ValidatePassword(next); err != nil {
		return err
	}
	newHash := HashPassword(next)
	now := a.credentialNow()
	err = a.update(ctx, "ChangePassword", func(tx Tx) error {
		if err := tx.SetUserPassword(ctx, userID, newHash); err != nil {
			return err
		}
		if err := tx.EndAccountTokens(ctx, userID, PurposePasswordReset, now); err != nil {
			return err
		}
		return tx.RevokeUserSessions(ctx, userID, keep, now)
	})
	if err != nil {
		return err
	}
	a.publish(ctx, CredentialsChanged{})
	return nil
}

// RequestPasswordReset mails a reset link (linkBase + "/password/reset?token=…")
// to the account with this email, if there is one, it is enabled, and it was
// sent fewer than AccountMailsPerHour links in the last hour. Whatever the
// case it returns nil (no answer tells whether an address has an account),
// except when mail is not configured (ECONFLICT) or storage fails.
func (a *App) RequestPasswordReset(ctx context.Context, email, linkBase string) error {
	if a.mailer == nil {
		return a.noMail()
	}
	u, _, err := a.Store.LoadUserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, ErrNoRow) || err == nil && u.Disabled {
		return nil
	} else if err != nil {
		return storageError("RequestPasswordReset", err, "")
	}
	now := a.credentialNow()
	token := NewToken(PrefixAccountToken)
	k := &AccountToken{ID: NewID(), UserID: u.ID, Purpose: PurposePasswordReset, CreatedAt: now, ExpiresAt: now.Add(PasswordResetLifetime)}
	sent := true
	err = a.update(ctx, "RequestPasswordReset", func(tx Tx) error {
		n, err := tx.CountAccountTokens(ctx, u.ID, PurposePasswordReset, now.Add(-time.Hour))
		if err != nil || n >= AccountMailsPerHour {
			sent = false
			return err
		}
		return tx.InsertAccountToken(ctx, k, HashToken(token))
	})
	if err != nil || !sent {
		return err
	}
	// A failed send is logged, not answered: the answer must not differ between
	// addresses with and without an account.
	if err := a.mailer.Send(ctx, Mail{To: u.Email, Subject: "Reset your Fetch SMS password", Text: "Someone (we hope you) asked to reset the password of the Fetch SMS account " + u.Email + ".\n\n" +
		"Choose a new password here within the next hour:\n\n" + linkBase + "/password/reset?token=" + token + "\n\n" +
		"The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n"}); err != nil {
		a.logMailError("password reset", err)
	}
	return nil
}

// ResetPassword sets a new password with a reset token, ends every session
// of the account and every other reset link. An unknown, used or expired token
// is EUNPROCESSABLE (nothing changes); a bad password EUNPROCESSABLE before the
// token is spent.
func (a *App) ResetPassword(ctx context.Context, token, password string) (*User, error) {
	if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(token, PrefixAccountToken) || len(token) > 100 {
		return nil, badLink()
	}
	hash := HashPassword(password)
	now := a.credentialNow()
	var userID string
	err := a.update(ctx, "ResetPassword", func(tx Tx) error {
		k, err := tx.TakeAccountToken(ctx, PurposePasswordReset, HashToken(token), now)
		if errors.Is(err, ErrNoRow) {
			return badLink()
		} else if err != nil {
			return err
		}
		userID = k.UserID
		if err := tx.SetUserPassword(ctx, k.UserID, hash); err != nil {
			return err
		}
		if err := tx.EndAccountTokens(ctx, k.UserID, PurposePasswordReset, now); err != nil {
			return err
		}
		return tx.RevokeUserSessions(ctx, k.UserID, "", now)
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{})
	return a.UserByID(ctx, userID)
}

func badLink() error {
	return Errorf(EUNPROCESSABLE, "this link is invalid, already used or expired: ask for a new one")
}

// RequestEmailChange mails a confirmation link (linkBase +
// "/account/email/confirm?token=…") to the new address, and a notice to the
// current one; the email changes only when the link is followed. It needs the
// current password (EUNAUTHORIZED); a malformed address is EUNPROCESSABLE, one
// another account has ECONFLICT, too many requests ERATELIMIT, a send that
// fails EUPSTREAM.
func (a *App) RequestEmailChange(ctx context.Context, userID, password, newEmail, linkBase string) error {
	if a.mailer == nil {
		return a.noMail()
	}
	newEmail = strings.TrimSpace(newEmail)
	if err := ValidateEmail(newEmail); err != nil {
		return err
	}
	u, err := a.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	_, hash, err := a.Store.LoadUserByEmail(ctx, u.Email)
	if err != nil {
		return storageError("RequestEmailChange", err, "user not found")
	}
	if !CheckPassword(hash, password) {
		return Errorf(EUNAUTHORIZED, "the current password is not right")
	}
	if strings.EqualFold(newEmail, u.Email) {
		return Errorf(EUNPROCESSABLE, "that is already your email")
	}
	if _, _, err := a.Store.LoadUserByEmail(ctx, newEmail); err == nil {
		return Errorf(ECONFLICT, "another account uses this email")
	}
	now := a.credentialNow()
	token := NewToken(PrefixAccountToken)
	k := &AccountToken{ID: NewID(), UserID: userID, Purpose: PurposeEmailChange, NewEmail: newEmail, CreatedAt: now, ExpiresAt: now.Add(EmailChangeLifetime)}
	err = a.update(ctx, "RequestEmailChange", func(tx Tx) error {
		n, err := tx.CountAccountTokens(ctx, userID, PurposeEmailChange, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= AccountMailsPerHour {
			return Errorf(ERATELIMIT, "at most %d email changes an hour: try again later", AccountMailsPerHour)
		}
		return tx.InsertAccountToken(ctx, k, HashToken(token))
	})
	if err != nil {
		return err
	}
	if err := a.mailer.Send(ctx, Mail{To: newEmail, Subject: "Confirm your new Fetch SMS email", Text: "Confirm that " + newEmail + " is the new email of your Fetch SMS account (now " + u.Email + "):\n\n" +
		linkBase + "/account/email/confirm?token=" + token + "\n\nThe link works once, for 24 hours. If you did not ask for this, ignore this message.\n"}); err != nil {
		a.logMailError("email change", err)
		return Errorf(EUPSTREAM, "the confirmation email could not be sent: try again in a moment")
	}
	if err := a.mailer.Send(ctx, Mail{To: u.Email, Subject: "Your Fetch SMS email is about to change", Text: "Someone signed in to your Fetch SMS account asked to change its email from " + u.Email + " to " + newEmail + ".\n\n" +
		"It changes only if the link sent to the new address is followed. If this was not you, change your password now and contact support.\n"}); err != nil {
		a.logMailError("email change notice", err)
	}
	return nil
}

// ConfirmEmailChange applies the email change of a token and returns the user.
// An unknown, used or expired token is EUNPROCESSABLE; an address another
// account took meanwhile ECONFLICT (and the token stays unused).
func (a *App) ConfirmEmailChange(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, PrefixAccountToken) || len(token) > 100 {
		return nil, badLink()
	}
	now := a.credentialNow()
	var userID string
	err := a.update(ctx, "ConfirmEmailChange", func(tx Tx) error {
		k, err := tx.TakeAccountToken(ctx, PurposeEmailChange, HashToken(token), now)
		if errors.Is(err, ErrNoRow) {
			return badLink()
		} else if err != nil {
			return err
		}
		userID = k.UserID
		err = tx.SetUserEmail(ctx, k.UserID, k.NewEmail)
		if errors.Is(err, ErrDuplicate) {
			return Errorf(ECONFLICT, "another account uses %s now", k.NewEmail)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	a.publish(ctx, CredentialsChanged{})
	return a.UserByID(ctx, userID)
}

func (a *App) logMailError(what string, err error) {
	a.logger.Error("account mail not sent", "mail", what, "err", err)
}
