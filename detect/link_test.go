package detect

import (
	"net/url"
	"strings"
	"testing"
)

var linkSamples = []struct{ body, link string }{
	{"Tap to sign in to Acme: https://acme.com/l/AbC123", "https://acme.com/l/AbC123"},
	{"Your Slack magic link: https://slack.com/z/T0ab-9xY.", "https://slack.com/z/T0ab-9xY"},
	{"Verify your email by opening https://accounts.example.org/v?t=Zm9v&u=12!", "https://accounts.example.org/v?t=Zm9v&u=12"},
	{"Log in to Notion (https://notion.so/loginwithemail?t=abc)", "https://notion.so/loginwithemail?t=abc"},
	{"Confirm your account: HTTPS://Acme.com/c/XYZ, valid 10 minutes", "HTTPS://Acme.com/c/XYZ"},
	{"Reset your password here: http://acme.co.uk/r/1a2b3c4d;", "http://acme.co.uk/r/1a2b3c4d"},
	{"Sign in: https://en.wikipedia.org/wiki/Foo_(bar) now", "https://en.wikipedia.org/wiki/Foo_(bar)"},
	{"Your login link: 'https://acme.com/m/q1'", "https://acme.com/m/q1"},
	{"Acme code 482910. Or log in with https://acme.com/l/k9", "https://acme.com/l/k9"},
	{"Sign in: https://acme.com:8443/l/k9", "https://acme.com:8443/l/k9"},
	// Not links: no sign-in wording, other schemes, look-alikes, user parts, IPs.
	{"Your package is out for delivery: https://ups.com/t/1Z999", ""},
	{"Big sale today! https://shop.example/login?promo=1", ""},
	{"Sign in to Acme: acme.com/l/AbC123", ""},
	{"Sign in: ftp://acme.com/l/1", ""},
	{"Sign in: https://acme.com@evil.example/l/1", ""},
	{"Sign in: https://192.168.1.10/l/1", ""},
	{"Sign in: https://localhost/l/1", ""},
	{"Sign in: https://acme.cоm/l/1", ""}, // Cyrillic о in the host
	{"Sign in: https://аcme.com/l/1", ""}, // Cyrillic а
	{"Sign in: xhttps://acme.com/l/1", ""},
	{"Sign in: https://", ""},
	{"Sign in: https://acme.com:99999999/x", ""},
	{"Sign in: https://acme.com/" + strings.Repeat("a", MaxLinkLen), ""},
	{"Sign in to Acme: https://acme.com/l/AbC123 or https://acme.com/help", "https://acme.com/l/AbC123"},
	{"Sign in: https://bad_host.com/x then https://good.example/y", "https://good.example/y"},
	// Marketing and prize scams: no link, whatever words they borrow.
	{"Today is your lucky day! 2 find out why log onto http://www.urawinner.com", ""},
	{"Congratulations, you won! Verify at https://claim.example/x", ""},
	{"Log in now for 20% off: https://shop.example/sale", ""},
	// Alarm: the words of SMS phishing (a locked account, a parcel held).
	{"Your Amazon Account has been locked. Recover your account: log in at https://s95.example.us/custapp", ""},
	{"CITI: Your contact information has been updated. If this wasnt you please visit https://cltl-00.example.com/login to verify", ""},
	{"USPS: Your package could not be delivered. Verify your address: https://usps-redeliver.example/v", ""},
	{"NavyFederal: we have placed a hold on your account. Visit https://nfcu.example.pe/ to verify.", ""},
}

func TestExtractLink(t *testing.T) {
	for _, s := range linkSamples {
		if got := ExtractLink(s.body); got != s.link {
			t.Errorf("ExtractLink(%q) = %q, want %q", s.body, got, s.link)
		}
		checkLink(t, s.body, ExtractLink(s.body))
	}
}

// checkLink holds the documented promises of ExtractLink.
func checkLink(t *testing.T, body, link string) {
	t.Helper()
	if link == "" {
		return
	}
	if !strings.Contains(body, link) {
		t.Fatalf("link %q is not in %q", link, body)
	}
	if len(link) > MaxLinkLen {
		t.Fatalf("link %q longer than %d", link, MaxLinkLen)
	}
	lower := strings.ToLower(link)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		t.Fatalf("link %q is not http(s)", link)
	}
	u, err := url.Parse(link)
	if err != nil || u.User != nil || !linkHost(u.Hostname()) {
		t.Fatalf("link %q: bad URL (%v)", link, err)
	}
	for i := 0; i < len(link); i++ {
		if !urlByte(link[i]) {
			t.Fatalf("link %q holds %q", link, link[i])
		}
	}
	if strings.ContainsAny(link[len(link)-1:], ".,;:!?'") {
		t.Fatalf("link %q ends in punctuation", link)
	}
}

func FuzzExtractLink(f *testing.F) {
	for _, s := range linkSamples {
		f.Add(s.body)
	}
	for _, s := range samples {
		f.Add(s.body)
	}
	f.Add("Log in: https://a.bc/" + "\u0430")
	f.Add("Verify: https://x.io/(a)(b))).")
	f.Fuzz(func(t *testing.T, body string) {
		link := ExtractLink(body)
		checkLink(t, body, link)
		if link != "" && ExtractLink(link+" sign in") != link {
			t.Fatalf("link %q of %q is not found again on its own", link, body)
		}
	})
}
