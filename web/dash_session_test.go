package web

import "testing"

// TestSafeNext: only a clean path of this site survives as a place to go back to
// after signing in (issue 19, finding 1: a tab, which browsers strip, made
// "/\t/evil.example" an open redirect).
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/dashboard/wallet":          "/dashboard/wallet",
		"/dashboard/verifications?x": "/dashboard/verifications?x",
		"/admin/users/42#top":        "/admin/users/42#top",
		"/\t/evil.example":           "/dashboard",
		"/\n/evil.example":           "/dashboard",
		"/\r\n/evil.example":         "/dashboard",
		"/ /evil.example":            "/dashboard",
		"/\x00/evil.example":         "/dashboard",
		"/\x7f/evil.example":         "/dashboard",
		"//evil.example":             "/dashboard",
		"/\\evil.example":            "/dashboard",
		"/a\\b":                      "/dashboard",
		"https://evil.example":       "/dashboard",
		"evil.example":               "/dashboard",
		"":                           "/dashboard",
		"/é":                         "/dashboard",
		"/%09/evil.example":          "/%09/evil.example", // stays a path on this site: the browser does not decode it
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	f.Add("/dashboard")
	f.Add("/\t/evil.example")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got[0] != '/' || len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("safeNext(%q) = %q keeps byte %#x", next, got, c)
			}
		}
	})
}
