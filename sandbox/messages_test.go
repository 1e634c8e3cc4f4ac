package sandbox

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSampleSMS(t *testing.T) {
	tests := []struct {
		slug, name, code      string
		sender, body, written string
	}{
		{"whatsapp", "WhatsApp", "821193", "WhatsApp", "Your WhatsApp code: 821-193\n\nDon't share this code with others", "821-193"},
		{"telegram", "Telegram", "482910", "Telegram", "Telegram code: 482910. Do not give this code to anyone, even if they say they are from Telegram!", "482910"},
		{"google", "Google", "412157", "22000", "G-412157 is your Google verification code.", "G-412157"},
		{"instagram", "Instagram", "012345", "32665", "012 345 is your Instagram code. Don't share it.", "012 345"},
		{"whatsapp", "WhatsApp", "1234", "WhatsApp", "Your WhatsApp code: 1234\n\nDon't share this code with others", "1234"},
		{"acme-100%", "Acme 100%", "000123", "Acme 100%", "Acme 100%: your verification code is 000123. Don't share it.", "000123"},
	}
	for _, tt := range tests {
		sender, body, written := SampleSMS(tt.slug, tt.name, tt.code)
		if sender != tt.sender || body != tt.body || written != tt.written {
			t.Errorf("SampleSMS(%q, %q, %q) = %q, %q, %q; want %q, %q, %q",
				tt.slug, tt.name, tt.code, sender, body, written, tt.sender, tt.body, tt.written)
		}
	}
	for slug := range templates {
		_, body, written := SampleSMS(slug, slug, "482910")
		if !strings.Contains(body, written) || strings.Contains(body, "%!") {
			t.Errorf("%s: body %q, written %q", slug, body, written)
		}
	}
}

func TestNewCode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	leadingZero := false
	for range 2000 {
		c := NewCode(r)
		if len(c) != 6 || !allDigits(c) {
			t.Fatalf("NewCode = %q", c)
		}
		leadingZero = leadingZero || c[0] == '0'
	}
	if !leadingZero {
		t.Error("no code with a leading zero in 2000 draws")
	}
}
