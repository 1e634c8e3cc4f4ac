package detect

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// findLinear is the plain search the index replaced: every keyword looked for
// in the whole text. It is the oracle for collect.
func (e *Engine) findLinear(f string, m []int) []match {
	var all []match
	for _, kw := range e.keywords {
		for off := 0; off < len(f); {
			i := strings.Index(f[off:], kw.text)
			if i < 0 {
				break
			}
			i += off
			j := i + len(kw.text)
			off = i + 1
			if kw.lEdge && i > 0 {
				if r, _ := utf8.DecodeLastRuneInString(f[:i]); joined(r, kw.first) {
					continue
				}
			}
			if kw.rEdge && j < len(f) {
				if r, _ := utf8.DecodeRuneInString(f[j:]); joined(kw.last, r) {
					continue
				}
			}
			all = append(all, match{start: i, end: j, rule: kw.rule, pos: m[i]})
		}
	}
	slices.SortFunc(all, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return a.end - b.end
		}
		return a.rule - b.rule
	})
	return all
}

// indexRules has one-byte, two-byte, overlapping and non-ASCII keywords.
func indexRules() []Rule {
	return append(testRules(),
		Rule{ServiceID: 901, Name: "X", Keywords: []string{"x", "x code"}},
		Rule{ServiceID: 902, Name: "Uber Eats", Keywords: []string{"uber eats", "ue"}},
		Rule{ServiceID: 903, Name: "WeChat Pay", Keywords: []string{"微信支付", "微信"}},
		Rule{ServiceID: 904, Name: "Apple", Keywords: []string{"@apple.com", "apple"}},
	)
}

func checkFind(t *testing.T, e *Engine, body string) {
	t.Helper()
	f, m := fold(Normalize(body))
	if got, want := e.collect(f, m), e.findLinear(f, m); !slices.Equal(got, want) {
		t.Fatalf("collect(%q) = %+v, the plain search finds %+v", body, got, want)
	}
}

func TestFindIndexMatchesPlainSearch(t *testing.T) {
	e := New(indexRules())
	for _, c := range loadCorpus(t) {
		checkFind(t, e, c.body)
		checkFind(t, e, c.sender)
	}
}

func FuzzFindIndex(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.body)
	}
	f.Add("x code 1234 uber eats ue x")
	f.Add("【微信支付】验证码为940816")
	e := New(indexRules())
	f.Fuzz(func(t *testing.T, body string) {
		checkFind(t, e, body)
	})
}
