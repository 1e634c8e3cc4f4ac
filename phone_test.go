package fetchsms

import (
	"strings"
	"testing"
)

func TestParseE164(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"+13325550184", "+14155550142", "+12125550100"} {
		if _, err := ParseE164(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "13325550184", "+1332555018", "+133255501845", "+1332555018x", "+10325550184", "+13321550184", "+443325550184", "(332) 555-0184"} {
		if _, err := ParseE164(bad); ErrorCode(err) != EUNPROCESSABLE {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := FormatUS("+13325550184"); got != "(332) 555-0184" {
		t.Errorf("FormatUS = %q", got)
	}
}

func FuzzParseE164(f *testing.F) {
	for _, s := range []string{"+13325550184", "", "+1", "+1332555018\x00", "+1٣٣٢5550184"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseE164(s)
		if err != nil {
			return
		}
		if got != s || len(s) != 12 || !strings.HasPrefix(s, "+1") {
			t.Fatalf("accepted %q", s)
		}
		formatted := FormatUS(s)
		if len(formatted) != 14 || !ValidAreaCode(AreaCodeOf(s)) {
			t.Fatalf("FormatUS(%q) = %q", s, formatted)
		}
	})
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$") || !CheckPassword(h, "correct horse") || CheckPassword(h, "wrong horse") {
		t.Fatalf("hash %q", h)
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "$bcrypt$x"} {
		if CheckPassword(bad, "x") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}
