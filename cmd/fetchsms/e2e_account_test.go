package main

// Account settings end to end: password reset and email change send real mail
// over SMTP (a sink the test starts); tokens are single-use, expire with their
// hour, are rate-limited per account, never tell whether an address has an
// account, and lead to this server whatever Host a request names.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/internal/smtpsink"
)

var resetLink = regexp.MustCompile(`(https?://[^\s/]+)(/password/reset\?token=(fsr_[A-Za-z0-9_-]+))`)
var confirmLink = regexp.MustCompile(`(https?://[^\s/]+)(/account/email/confirm\?token=(fsr_[A-Za-z0-9_-]+))`)

// publicForm posts a form of the pages before login (double-submit CSRF cookie).
func (s *testServer) publicForm(t *testing.T, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	resp, body := s.page(t, "GET", "/password/forgot", "", nil, nil)
	var csrf string
	for _, c := range resp.Cookies() {
		if c.Name == "fetchsms_csrf" {
			csrf = c.Value
		}
	}
	if m := csrfMeta.FindStringSubmatch(body); m == nil || m[1] != csrf {
		t.Fatalf("no pre-session token on the forgot page")
	}
	form.Set("csrf_token", csrf)
	h := map[string]string{"Cookie": "fetchsms_csrf=" + csrf}
	for k, v := range hdr {
		h[k] = v
	}
	return s.page(t, "POST", path, "", form, h)
}

func TestAccountMails(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t)
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits", "--smtp-url", sink.URL(), "--mail-from", "Fetch SMS <no-reply@fetchsms.test>")

	t.Run("ResetNeverTellsWhetherAnAccountExists", func(t *testing.T) {
		t.Parallel()
		_, a := s.publicForm(t, "/password/forgot", url.Values{"email": {"nobody-" + randomHex(4) + "@example.com"}}, nil)
		sess, _ := s.signup(t)
		email := s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"].(string)
		_, b := s.publicForm(t, "/password/forgot", url.Values{"email": {email}}, nil)
		strip := regexp.MustCompile(`(?s)<meta name="csrf-token"[^>]*>|<input type="hidden" name="csrf_token"[^>]*>|<strong>[^<]*</strong>`)
		if strip.ReplaceAllString(a, "") != strip.ReplaceAllString(b, "") || !strings.Contains(a, `id="reset-sent"`) {
			t.Fatalf("the answers differ for an unknown and a known address")
		}
		if _, ok := sink.WaitFor(email, "Reset your Fetch SMS password", 5*time.Second); !ok {
			t.Fatal("no reset mail for the known address")
		}
	})

	t.Run("ResetLinkWorksOnceAndEndsSessions", func(t *testing.T) {
		t.Parallel()
		sess, _ := s.signup(t)
		email := s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"].(string)
		// A forged Host must not steer the link: it leads to this server.
		s.publicForm(t, "/password/forgot", url.Values{"email": {strings.ToUpper(email)}}, map[string]string{"X-Forwarded-Host": "evil.example"})
		m, ok := sink.WaitFor(email, "Reset your Fetch SMS password", 5*time.Second)
		if !ok {
			t.Fatal("no reset mail")
		}
		link := resetLink.FindStringSubmatch(m.Body)
		if link == nil || link[1] != s.BaseURL || m.From != "no-reply@fetchsms.test" {
			t.Fatalf("mail from %s, body:\n%s", m.From, m.Body)
		}
		token := link[3]
		if resp, body := s.page(t, "GET", link[2], "", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `value="`+token+`"`) {
			t.Fatalf("reset page: %d", resp.StatusCode)
		}
		// A short password spends nothing.
		if resp, _ := s.publicForm(t, "/password/reset", url.Values{"token": {token}, "password": {"short"}, "confirm_password": {"short"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("short password: %d", resp.StatusCode)
		}
		resp, _ := s.publicForm(t, "/password/reset", url.Values{"token": {token}, "password": {"a new password 42"}, "confirm_password": {"a new password 42"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		s.call(t, "GET", "/v1/account", sess, nil, http.StatusUnauthorized)
		s.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusUnauthorized)
		s.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "a new password 42"}, http.StatusOK)
		// Used once: a second use changes nothing.
		if resp, body := s.publicForm(t, "/password/reset", url.Values{"token": {token}, "password": {"another password 9"}, "confirm_password": {"another password 9"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "already used or expired") {
			t.Fatalf("second use: %d", resp.StatusCode)
		}
		s.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "a new password 42"}, http.StatusOK)
		if resp, _ := s.publicForm(t, "/password/reset", url.Values{"token": {"fsr_made-up"}, "password": {"another password 9"}, "confirm_password": {"another password 9"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("made-up token: %d", resp.StatusCode)
		}
	})

	t.Run("ResetMailsAreRateLimited", func(t *testing.T) {
		t.Parallel()
		sess, _ := s.signup(t)
		email := s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"].(string)
		for i := 0; i < 5; i++ {
			if resp, _ := s.publicForm(t, "/password/forgot", url.Values{"email": {email}}, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
		}
		time.Sleep(500 * time.Millisecond)
		n := 0
		for _, m := range sink.Messages() {
			if m.To == email {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("%d reset mails in a burst of 5, want 3", n)
		}
	})

	t.Run("ChangePasswordAndEmail", func(t *testing.T) {
		t.Parallel()
		sess, _ := s.signup(t)
		other := s.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"].(string), "password": "correct horse battery"}, http.StatusOK)["token"].(string)
		token := s.csrfOf(t, sess)
		resp, body := s.page(t, "POST", "/dashboard/account/password", sess, url.Values{"csrf_token": {token}, "current_password": {"wrong one!"}, "new_password": {"next password 1"}, "confirm_password": {"next password 1"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "current password is not right") {
			t.Fatalf("wrong current password: %d", resp.StatusCode)
		}
		resp, _ = s.page(t, "POST", "/dashboard/account/password", sess, url.Values{"csrf_token": {token}, "current_password": {"correct horse battery"}, "new_password": {"next password 1"}, "confirm_password": {"next password 1"}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("change password: %d", resp.StatusCode)
		}
		s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)            // the session in use stays
		s.call(t, "GET", "/v1/account", other, nil, http.StatusUnauthorized) // the others end

		newEmail := "moved-" + randomHex(4) + "@example.com"
		resp, body = s.page(t, "POST", "/dashboard/account/email", sess, url.Values{"csrf_token": {token}, "email": {newEmail}, "password": {"wrong one!"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `value="`+newEmail+`"`) {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
		resp, _ = s.page(t, "POST", "/dashboard/account/email", sess, url.Values{"csrf_token": {token}, "email": {newEmail}, "password": {"next password 1"}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("change email: %d", resp.StatusCode)
		}
		m, ok := sink.WaitFor(newEmail, "Confirm your new Fetch SMS email", 5*time.Second)
		if !ok {
			t.Fatal("no confirmation mail")
		}
		link := confirmLink.FindStringSubmatch(m.Body)
		if link == nil || link[1] != s.BaseURL {
			t.Fatalf("confirmation mail:\n%s", m.Body)
		}
		// Following the link (a GET, as a mail scanner would) changes nothing.
		s.page(t, "GET", link[2], "", nil, nil)
		if got := s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"]; got == newEmail {
			t.Fatal("a GET changed the email")
		}
		resp, _ = s.publicForm(t, "/account/email/confirm", url.Values{"token": {link[3]}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: %d", resp.StatusCode)
		}
		if got := s.call(t, "GET", "/v1/account", sess, nil, http.StatusOK)["email"]; got != newEmail {
			t.Fatalf("email after confirming: %v", got)
		}
		s.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": newEmail, "password": "next password 1"}, http.StatusOK)
		if resp, _ := s.publicForm(t, "/account/email/confirm", url.Values{"token": {link[3]}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("second confirm: %d", resp.StatusCode)
		}
	})
}

// TestAccountWithoutMail: without --smtp-url the pages say so and send nothing.
func TestAccountWithoutMail(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	if _, body := s.page(t, "GET", "/password/forgot", "", nil, nil); !strings.Contains(body, "does not send email") {
		t.Fatal("the forgot page offers a reset the server cannot send")
	}
	resp, _ := s.publicForm(t, "/password/forgot", url.Values{"email": {"demo@fetchsms.dev"}}, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("%d", resp.StatusCode)
	}
	if _, body := s.page(t, "GET", "/dashboard/account", s.DemoSession, nil, nil); !strings.Contains(body, "Change password") || strings.Contains(body, `action="/dashboard/account/email"`) {
		t.Fatal("account page without mail")
	}
}

// TestDashboardExtendRental: the rental page's Extend form adds the term at the
// long-term price (App.ExtendRental), and says so.
func TestDashboardExtendRental(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false", "--no-ip-limits")
	x := s.call(t, http.MethodPost, "/v1/rentals", s.APIKey, map[string]any{"service": 1, "days": 7}, http.StatusCreated)
	id := x["id"].(string)
	if _, body := s.page(t, "GET", "/dashboard/rentals/"+id, s.DemoSession, nil, nil); !strings.Contains(body, `action="/dashboard/rentals/`+id+`/extend"`) || !strings.Contains(body, "30 days — $12.00") {
		t.Fatal("the rental page offers no extension with its prices")
	}
	before := s.balance(t, s.DemoSession)
	token := s.csrfOf(t, s.DemoSession)
	resp, _ := s.page(t, "POST", "/dashboard/rentals/"+id+"/extend", s.DemoSession, url.Values{"csrf_token": {token}, "days": {"30"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(flashOf(t, resp), "Extended") {
		t.Fatalf("extend: %d %q", resp.StatusCode, flashOf(t, resp))
	}
	if after := s.balance(t, s.DemoSession); before-after != 1200 {
		t.Fatalf("extension charged %d cents, want 1200", before-after)
	}
	resp, _ = s.page(t, "POST", "/dashboard/rentals/"+id+"/extend", s.DemoSession, url.Values{"csrf_token": {token}, "days": {"45"}}, nil)
	if f := flashOf(t, resp); !strings.HasPrefix(f, "!") {
		t.Fatalf("a 45-day extension: %q", f)
	}
}
