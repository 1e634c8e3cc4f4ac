// Package smtpmail sends the App's account mails (fetchsms.Mailer) through an
// SMTP server, with github.com/wneessen/go-mail.
package smtpmail

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Mailer sends plain-text mail from one address through one SMTP server.
type Mailer struct {
	from string
	opts []gomail.Option
	host string
}

// New returns a Mailer for an SMTP URL and a From address:
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it (port 587 by default)
//	smtps://user:pass@host:465  TLS from the start (port 465 by default)
//
// With a user, it authenticates with PLAIN, which go-mail sends only over TLS or
// to a server on loopback. A malformed URL or address is an error.
func New(rawURL, from string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from address %q: %w", from, err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("smtp url: no host")
	}
	m := &Mailer{from: from, host: u.Hostname(), opts: []gomail.Option{gomail.WithTimeout(15 * time.Second)}}
	port := 587
	switch u.Scheme {
	case "smtp":
		m.opts = append(m.opts, gomail.WithTLSPortPolicy(gomail.TLSOpportunistic))
	case "smtps":
		port = 465
		m.opts = append(m.opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("smtp url: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("smtp url: bad port %q", p)
		}
	}
	m.opts = append(m.opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		m.opts = append(m.opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return m, nil
}

// Send delivers one message; an error when the server could not be reached or
// refused it.
func (m *Mailer) Send(ctx context.Context, msg fetchsms.Mail) error {
	g := gomail.NewMsg()
	if err := g.From(m.from); err != nil {
		return err
	}
	if err := g.To(msg.To); err != nil {
		return err
	}
	g.Subject(msg.Subject)
	g.SetBodyString(gomail.TypeTextPlain, msg.Text)
	c, err := gomail.NewClient(m.host, m.opts...)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, g); err != nil {
		return fmt.Errorf("smtp send to %s: %w", m.host, err)
	}
	return nil
}
