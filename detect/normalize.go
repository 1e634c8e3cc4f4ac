package detect

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize returns body in the canonical form that detection and code extraction
// work on. It
//
//   - replaces invalid UTF-8 and control characters with a space (tabs too), and
//     turns "\r\n" and lone "\r" into "\n";
//   - drops invisible format characters: zero-width spaces and joiners, word
//     joiners, byte-order marks, soft hyphens, bidi controls, variation selectors;
//   - maps lookalikes to ASCII: fullwidth forms (a fullwidth comma or semicolon,
//     which ends a clause in text written without spaces, with a space after
//     it), non-ASCII decimal digits (Arabic-Indic, Devanagari, mathematical
//     digits, …), mathematical alphanumeric letters
//     (𝐆𝐨𝐨𝐠𝐥𝐞), Unicode spaces, dashes and curly quotes, and Cyrillic/Greek
//     homoglyphs inside words that also hold ASCII letters or digits ("Gооgle"
//     with Cyrillic о's);
//   - strips a leading "<#>" (or "[#]") marker and a trailing Android SMS
//     Retriever app hash (an 11-character base64 token at the end of the body);
//   - trims surrounding whitespace.
//
// Printable ASCII is otherwise left byte for byte, so for a body of printable
// ASCII and newlines every code ExtractCode finds is also a substring of the
// original body.
func Normalize(body string) string {
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, " ")
	}
	ascii := true
	for i := 0; i < len(body); i++ {
		if b := body[i]; b >= utf8.RuneSelf || (b < ' ' && b != '\n') || b == 0x7f {
			ascii = false
			break
		}
	}
	s := body
	if !ascii {
		s = mapRunes(body)
	}
	s = strings.TrimSpace(s)
	for _, p := range []string{"<#>", "[#]"} {
		if strings.HasPrefix(s, p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	return stripAppHash(s)
}

// mapRunes applies the per-rune mappings of Normalize, then the homoglyph pass.
func mapRunes(body string) string {
	var b strings.Builder
	b.Grow(len(body))
	homoglyphs := false
	for i, r := range body {
		switch {
		case r == '\r':
			if i+1 < len(body) && body[i+1] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\n':
			b.WriteByte('\n')
		case r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte('\n')
		case r < utf8.RuneSelf && r >= ' ' && r != 0x7f:
			b.WriteRune(r)
		case invisible(r):
			// dropped
		case unicode.IsControl(r), unicode.IsSpace(r), unicode.Is(unicode.Zs, r), r == utf8.RuneError:
			b.WriteByte(' ')
		case r == '，' || r == '；': // a clause ends: "验证码123456，10分钟内有效" holds no "123456,10"
			b.WriteRune(r - 0xFEE0)
			b.WriteByte(' ')
		case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
			b.WriteRune(r - 0xFEE0)
		case unicode.IsDigit(r):
			b.WriteByte(byte('0' + digitValue(r)))
		case r >= 0x1D400 && r <= 0x1D6A3: // mathematical alphanumeric letters
			if k := (r - 0x1D400) % 52; k < 26 {
				b.WriteByte(byte('A' + k))
			} else {
				b.WriteByte(byte('a' + k - 26))
			}
		case isDash(r):
			b.WriteByte('-')
		case r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u2032' || r == '\uFF07':
			b.WriteByte('\'')
		case r == '\u201C' || r == '\u201D' || r == '\u201E' || r == '\u2033':
			b.WriteByte('"')
		case r == '\uFE55': // small colon
			b.WriteByte(':')
		default:
			if _, ok := homoglyph[r]; ok {
				homoglyphs = true
			}
			b.WriteRune(r)
		}
	}
	s := b.String()
	if homoglyphs {
		s = mapHomoglyphs(s)
	}
	return s
}

// invisible reports whether r is a character that renders as nothing.
func invisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r): // ZWSP, ZWNJ, ZWJ, WJ, BOM, soft hyphen, bidi controls
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r == '\u034F', r == '\u115F', r == '\u1160', r == '\u3164', r == '\uFFA0': // CGJ, Hangul fillers
		return true
	}
	return false
}

func isDash(r rune) bool {
	switch r {
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2043', '\u2212', '\uFE58', '\uFE63':
		return true
	}
	return false
}

// digitValue returns the value of the decimal digit r (unicode.IsDigit). Unicode
// lays decimal digits out in contiguous runs of ten that start at zero, so the
// value is the distance to the start of the run, modulo ten.
func digitValue(r rune) int {
	z := r
	for z > 0 && r-z < 100 && unicode.IsDigit(z-1) {
		z--
	}
	return int(r-z) % 10
}

// homoglyph maps Cyrillic and Greek letters that look like ASCII letters.
var homoglyph = map[rune]rune{
	// Cyrillic upper case.
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P',
	'С': 'C', 'Т': 'T', 'Х': 'X', 'У': 'Y', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S', 'Ԛ': 'Q', 'Ԝ': 'W',
	// Cyrillic lower case.
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i',
	'ј': 'j', 'ѕ': 's', 'һ': 'h', 'ԁ': 'd', 'ӏ': 'l', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g',
	// Greek.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M',
	'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	'ο': 'o', 'α': 'a', 'ν': 'v', 'ρ': 'p', 'ι': 'i', 'κ': 'k', 'υ': 'u', 'χ': 'x',
}

// mapHomoglyphs replaces homoglyphs in words that also contain ASCII letters or
// digits; words written wholly in another script are left alone.
func mapHomoglyphs(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		j := i
		hasASCII, hasGlyph := false, false
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !isWordRune(r) {
				break
			}
			if r < utf8.RuneSelf {
				hasASCII = true
			} else if _, ok := homoglyph[r]; ok {
				hasGlyph = true
			}
			j += n
		}
		word := s[i:j]
		if hasASCII && hasGlyph {
			for _, r := range word {
				if m, ok := homoglyph[r]; ok {
					r = m
				}
				b.WriteRune(r)
			}
		} else {
			b.WriteString(word)
		}
		i = j
	}
	return b.String()
}

func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && isAlnum(byte(r)) || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// stripAppHash removes a trailing Android SMS Retriever hash: an 11-character
// token of base64 characters after whitespace at the very end of s. A token is
// taken for a hash only if it looks random: it holds a letter and a digit, a '+'
// or '/', or mixed case beyond a capital initial, so that a closing word such as
// "unsubscribe" or a phone number stays.
func stripAppHash(s string) string {
	i := strings.LastIndexAny(s, " \n")
	if i < 0 || len(s)-i-1 != 11 {
		return s
	}
	tok := s[i+1:]
	var digits, upper, lower, sym int
	for j := 0; j < len(tok); j++ {
		switch c := tok[j]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c == '+' || c == '/':
			sym++
		default:
			return s
		}
	}
	letters := upper + lower
	if letters == 0 || !(digits > 0 || sym > 0 || (upper >= 2 && lower >= 1)) {
		return s
	}
	return strings.TrimSpace(s[:i])
}

// fold lower-cases s, removes Latin accents and combining marks, and returns it
// with a map from each byte offset of the result (and its end) to the offset in s.
func fold(s string) (string, []int) {
	b := make([]byte, 0, len(s))
	m := make([]int, 0, len(s)+1)
	for i, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			m = append(m, i)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if a, ok := accent[r]; ok {
			r = a
		}
		n := len(b)
		b = utf8.AppendRune(b, r)
		for range len(b) - n {
			m = append(m, i)
		}
	}
	m = append(m, len(s))
	return string(b), m
}

var accent = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ç': 'c',
	'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e', 'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i',
	'ñ': 'n', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o', 'ù': 'u', 'ú': 'u',
	'û': 'u', 'ü': 'u', 'ý': 'y', 'ÿ': 'y',
}
