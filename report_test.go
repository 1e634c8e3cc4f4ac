package fetchsms

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckReportReason: a report's reason is either refused with a 400 or 422,
// or accepted trimmed, non-empty, valid UTF-8 without control characters, and
// at most ReportReasonMax characters.
func FuzzCheckReportReason(f *testing.F) {
	for _, s := range []string{"", " ", "banned", "  the service says no  ", "a\x00b", "\xff", "line\nbreak", strings.Repeat("é", 200), strings.Repeat("é", 201), "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CheckReportReason(in)
		if err != nil {
			if c := ErrorCode(err); c != EINVALID && c != EUNPROCESSABLE {
				t.Fatalf("%q: code %s", in, c)
			}
			return
		}
		if got == "" || got != strings.TrimSpace(got) || !utf8.ValidString(got) || utf8.RuneCountInString(got) > ReportReasonMax ||
			strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("%q accepted as %q", in, got)
		}
	})
}
