package smtpmail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/smtpsink"
	"github.com/fetchsms/fetchsms/smtpmail"
)

func TestSendsOverSMTP(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t)
	m, err := smtpmail.New(sink.URL(), "Fetch SMS <no-reply@fetchsms.test>")
	if err != nil {
		t.Fatal(err)
	}
	link := "http://127.0.0.1:1/password/reset?token=fsr_" + strings.Repeat("A", 43)
	if err := m.Send(context.Background(), fetchsms.Mail{To: "dev@example.com", Subject: "Reset your password", Text: "Here:\n\n" + link + "\n"}); err != nil {
		t.Fatal(err)
	}
	got, ok := sink.WaitFor("dev@example.com", "Reset your password", 5*time.Second)
	if !ok {
		t.Fatalf("nothing received: %+v", sink.Messages())
	}
	if got.Auth != "sink" || got.From != "no-reply@fetchsms.test" || !strings.Contains(got.Body, link) {
		t.Fatalf("received %+v", got)
	}
}

func TestRefusedAndUnreachable(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t)
	m, err := smtpmail.New("smtp://sink:wrong@"+sink.Addr, "no-reply@fetchsms.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), fetchsms.Mail{To: "dev@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Fatal("a wrong password sent mail")
	}
	m, _ = smtpmail.New("smtp://127.0.0.1:1", "no-reply@fetchsms.test")
	if err := m.Send(context.Background(), fetchsms.Mail{To: "dev@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Fatal("an unreachable server took mail")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"http://host", "a@b.c"}, {"smtp://", "a@b.c"}, {"smtp://host:99999", "a@b.c"}, {"smtp://host", "not an address"}, {"::", "a@b.c"},
	} {
		if _, err := smtpmail.New(c[0], c[1]); err == nil {
			t.Errorf("New(%q, %q) accepted", c[0], c[1])
		}
	}
	for _, u := range []string{"smtp://u:p@mail.example.com:587", "smtps://mail.example.com", "smtp://127.0.0.1:2525"} {
		if _, err := smtpmail.New(u, "Fetch SMS <a@b.c>"); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}
