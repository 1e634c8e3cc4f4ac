package detect

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExtractCode returns the verification code as written in the message
// ("821-193", "G-412157", "482910", "AB12CD"), or "" when there is none.
//
// The result is always a substring of Normalize(body) (and so, for a body of
// printable ASCII and newlines, of body itself). Digit codes of 4 to 8 digits are taken, alone or grouped
// as "123-456" / "123 456" / "1234-5678", with an optional capital-letter prefix
// ("G-412157"); mixed letter-and-digit codes only when a label names them as a
// code ("Your code: AB12CD"). Labels ("code", "código", "OTP", "PIN", "is your …
// code", "@apple.com #123456") rank the candidates. URLs, e-mail addresses, phone
// numbers, prices and amounts, dates, times, years, order and reference numbers
// are never returned. A number that no label names is a code only in a message
// that speaks of one (a cue such as "code", "verification", "OTP", "验证码",
// "код", in any of the corpus's languages, not qualified as a "claim code",
// "promo code" or "barcode"), or when it is the whole message: "Text WIN to
// 87121" and "call 4d 1405" carry none.
func ExtractCode(body string) string {
	n := Normalize(body)
	c, ok := extract(n)
	if !ok {
		return ""
	}
	return n[c.start:c.end]
}

// candidate is a possible code n[start:end].
type candidate struct {
	start, end int
	score      float64
	// labelled: a label names it a code ("code: 1234", "1234 is your code",
	// "@apple.com #1234"); an unlabelled number is only a code in a message that
	// speaks of one (cued).
	labelled bool
}

// token is a maximal run of ASCII letters and digits.
type token struct {
	start, end      int
	digits, letters int
	upper           int
}

func (t token) numeric() bool { return t.letters == 0 }

func tokenize(n string) []token {
	var toks []token
	for i := 0; i < len(n); {
		if !isAlnum(n[i]) {
			i++
			continue
		}
		t := token{start: i}
		for i < len(n) && isAlnum(n[i]) {
			switch c := n[i]; {
			case c >= '0' && c <= '9':
				t.digits++
			case c >= 'A' && c <= 'Z':
				t.letters++
				t.upper++
			default:
				t.letters++
			}
			i++
		}
		t.end = i
		toks = append(toks, t)
	}
	return toks
}

// chainSeps are the separators that join digit groups into one number: a code
// ("123-456", "123 456") or something that is not a code (a phone number, a date,
// a decimal, a time).
var chainSeps = map[string]bool{
	"-": true, " ": true, ".": true, "/": true, ",": true, ":": true,
	"(": true, ")": true, ") ": true, " (": true, ")-": true, " - ": true, "+": true,
}

// extract finds the best code candidate in the normalised text n.
func extract(n string) (candidate, bool) {
	toks := tokenize(n)
	var best candidate
	found, tooLong := false, false
	consider := func(c candidate, ok bool) {
		if ok && c.score > 0 && (!found || c.score > best.score) {
			best, found = c, true
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case !t.numeric() && t.digits == 0:
			// A capital prefix: "G-412157".
			if t.letters <= 3 && t.upper == t.letters && i+1 < len(toks) && n[t.end:toks[i+1].start] == "-" &&
				toks[i+1].numeric() && toks[i+1].digits >= 4 && toks[i+1].digits <= 8 && !chained(n, toks, i+1) &&
				!inDate(n, toks, i) {
				consider(scoreCandidate(n, t.start, toks[i+1].end, toks[i+1].digits, kindPrefixed))
				i++
			}
		case !t.numeric():
			if l := t.end - t.start; l >= 4 && l <= 10 {
				consider(scoreCandidate(n, t.start, t.end, t.digits, kindAlnum))
			}
			if d := leadingDigits(n[t.start:t.end]); strings.TrimSpace(n[:t.start]) == "" && d >= 6 && d <= 8 &&
				t.end-t.start-d <= 3 && t.letters == t.end-t.start-d && t.upper == 0 {
				consider(scoreCandidate(n, t.start, t.start+d, d, kindGlued))
			}
		default:
			j := i
			for j+1 < len(toks) && toks[j+1].numeric() && chainSeps[n[toks[j].end:toks[j+1].start]] &&
				// "097143(10 minutes)": an opening bracket after a long group
				// starts an aside; in a phone number it follows a country code.
				!(n[toks[j].end:toks[j+1].start] == "(" && toks[j].digits > 3) {
				j++
			}
			if j == i && t.digits > 8 && t.digits <= 12 && labelledBefore(n, t.start) {
				tooLong = true
			}
			for _, c := range chainCandidates(n, toks[i:j+1]) {
				consider(c, true)
			}
			i = j
		}
	}
	if found && !best.labelled && !cued(n) && strings.TrimSpace(n) != n[best.start:best.end] {
		return candidate{}, false // "Text WIN to 87121", "call 4d 1405": no code
	}
	if found && tooLong && !best.labelled {
		// The label names a number longer than a code ("رمز:1122334455", a 10-digit
		// dynamic password): the message's code is not one we can take, and an
		// unlabelled number elsewhere in it is not it.
		return candidate{}, false
	}
	return best, found
}

// notCode are qualifiers that, just before a label, say the thing labelled is
// not a verification code: "claim code", "prize code", "promo code", "zip code".
var notCode = map[string]bool{
	"claim": true, "prize": true, "identifier": true, "promo": true, "promotion": true,
	"promotional": true, "discount": true, "coupon": true, "voucher": true, "gift": true,
	"purchase": true, "referral": true, "postal": true, "zip": true, "area": true, "country": true,
	"tracking": true, "order": true, "dress": true, "bonus": true, "reward": true, "offer": true,
	"redemption": true, "error": true, "source": true, "qr": true, "bar": true, "unique": true,
	"monthly": true, "weekly": true, "wifi": true, "wi-fi": true, "wap": true,
}

// cueStems are the word-parts that make a message one about a code, in the
// languages of the corpus; they count inside compounds too
// ("Authentifizierungscode", "vahvistuskoodi"). cueWords must start a word.
var (
	cueStems = []string{
		"code", "codigo", "código", "codice", "codi", "còdighe", "kod", "kód", "kood", "kóð", "chód", "cód",
		"šifr", "passcode", "password", "passwort", "verif", "authenticat", "authentifi", "autentic",
		"autentis", "autentim", "autentiz", "autoris", "hitelesít", "auðkenn", "thibitisha", "msimbo",
		"vahvistus", "ověř", "überprüf", "contrasena", "contraseña", "senha", "clave", "token", "one-time",
		"one time", "inlog", "confirmation", "kich hoat", "kích hoạt",
		"код", "кôд", "пароль", "κωδικ", "קוד", "رمز", "كود", "کد", "कोड", "验证", "驗證", "认证", "認証",
		"コード", "인증", "确认码", "კოდ",
		// A password that is a code: German "Einmalkennwort", Polish "hasło", Hebrew
		// "סיסמה", Japanese "パスワード", Chinese "校验码" (check code), transliterated
		// Russian "podtverzhdeniya" (confirmation), a German bank's "smsTAN".
		"kennwort", "hasło", "haslo", "סיסמ", "パスワード", "校验码", "podtverzhd", "smstan",
	}
	cueWords = []string{"otp", "pin", "2fa", "mã", "mot de passe"}
)

// cueStem reports whether word w holds a cue stem ("koodisi", "còdighe").
func cueStem(w string) bool {
	for _, c := range cueStems {
		if strings.Contains(w, c) {
			return true
		}
	}
	return false
}

// leadingDigits is the number of ASCII digits that start s.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && isDigitByte(s[i]) {
		i++
	}
	return i
}

// notCodeCompound are word beginnings that make a "code" inside a word no code:
// "barcode", "postcode", "zipcode", "promocode", "unicode", "decode".
var notCodeCompound = []string{"bar", "post", "short", "zip", "promo", "area", "dress", "source", "qr", "en", "de", "uni", "geo", "re", "pre", "trans"}

// cued reports whether the message n speaks of a code: a cue that is not
// qualified as another kind of code ("claim code", "promo code", "barcode").
func cued(n string) bool {
	f := strings.ToLower(n)
	find := func(w string, stem bool) bool {
		for off := 0; off < len(f); {
			i := strings.Index(f[off:], w)
			if i < 0 {
				return false
			}
			i += off
			off = i + len(w)
			if w[0] >= utf8.RuneSelf {
				return true
			}
			// The part of the word before the cue.
			k := i
			for k > 0 {
				r, size := utf8.DecodeLastRuneInString(f[:k])
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				k -= size
			}
			if k < i && (!stem || slices.Contains(notCodeCompound, f[k:i])) {
				continue
			}
			if notCode[lastWord(f[:k])] {
				continue
			}
			// "Never share password/OTP with anyone", a bank's footer, does not
			// make its message one about a code.
			if p := f[max(0, k-24):k]; strings.Contains(p, "share") || strings.Contains(p, "disclose") {
				continue
			}
			return true
		}
		return false
	}
	for _, w := range cueStems {
		if find(w, true) {
			return true
		}
	}
	for _, w := range cueWords {
		if find(w, false) {
			return true
		}
	}
	return false
}

// lastWord is the last run of letters in s, ignoring trailing spaces.
func lastWord(s string) string {
	s = strings.TrimRight(s, " ")
	i := strings.LastIndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	return s[i+1:]
}

// inDate reports whether the capital token toks[i] before "-digits" is the
// month of a date ("01-MAR-2026", "MAR-2026"), not a code's prefix ("G-412157").
func inDate(n string, toks []token, i int) bool {
	if months[strings.ToLower(n[toks[i].start:toks[i].end])] {
		return true
	}
	return i > 0 && toks[i-1].numeric() && toks[i-1].end == toks[i].start-1 && (n[toks[i-1].end] == '-' || n[toks[i-1].end] == '/')
}

// months are the month abbreviations a bank's date is written with ("15-FEB-2026").
var months = map[string]bool{
	"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true, "jul": true,
	"aug": true, "sep": true, "oct": true, "nov": true, "dec": true,
}

// chained reports whether the numeric token toks[i] continues into another digit
// group ("G-412157-12").
func chained(n string, toks []token, i int) bool {
	return i+1 < len(toks) && toks[i+1].numeric() && chainSeps[n[toks[i].end:toks[i+1].start]]
}

const (
	kindDigits = iota
	kindGrouped
	kindPrefixed
	kindAlnum
	// kindGlued is a message's leading number with a short word glued to it
	// ("883322on sinu … kood", a translation that lost its space).
	kindGlued
)

// chainCandidates scores a run of digit groups joined by chainSeps. Groups
// joined by anything but a single space bind tightly: such a part is a grouped
// code ("1234-5678"), or a date, time, decimal, range or phone number that is not
// a code. Parts joined by single spaces are weighed on their own ("551092
// 10:45"), unless the whole run reads as one number: a phone number, or three or
// more lone groups with nine or more digits (a tracking, card or meeting number).
func chainCandidates(n string, g []token) []candidate {
	one := func(t token, kind int) []candidate {
		if c, ok := scoreCandidate(n, t.start, t.end, t.digits, kind); ok {
			return []candidate{c}
		}
		return nil
	}
	if len(g) == 1 {
		return one(g[0], kindDigits)
	}
	digits := 0
	var parts [][2]int // [lo, hi) indexes into g of the tightly joined parts
	lo := 0
	for k := range g {
		digits += g[k].digits
		if k > 0 && n[g[k-1].end:g[k].start] == " " {
			parts = append(parts, [2]int{lo, k})
			lo = k
		}
	}
	parts = append(parts, [2]int{lo, len(g)})
	if phoneChain(g) {
		return nil
	}
	if len(parts) == len(g) { // every separator a single space
		if len(g) == 2 {
			if a, b := g[0].digits, g[1].digits; a == b && (a == 3 || a == 4) {
				return one(token{start: g[0].start, end: g[1].end, digits: digits}, kindGrouped)
			}
		}
		if digits >= 9 && len(g) >= 3 || digits >= 10 && phoneLike(g) {
			return nil
		}
		var out []candidate
		for _, t := range g {
			out = append(out, one(t, kindDigits)...)
		}
		return out
	}
	if len(parts) > 1 {
		// A run of lone groups is weighed as a space-joined run, a tight part
		// on its own.
		var out []candidate
		run := -1 // start in g of the current run of lone groups
		for _, p := range parts {
			if p[1]-p[0] == 1 {
				if run < 0 {
					run = p[0]
				}
				continue
			}
			if run >= 0 {
				out = append(out, chainCandidates(n, g[run:p[0]])...)
				run = -1
			}
			out = append(out, chainCandidates(n, g[p[0]:p[1]])...)
		}
		if run >= 0 {
			out = append(out, chainCandidates(n, g[run:])...)
		}
		return out
	}
	// One tightly joined part.
	if digits >= 9 {
		return nil // phone or card number
	}
	if len(g) == 2 && n[g[0].end:g[1].start] == "-" {
		if a, b := g[0].digits, g[1].digits; a == b && (a == 3 || a == 4) {
			return one(token{start: g[0].start, end: g[1].end, digits: digits}, kindGrouped)
		}
	}
	return nil // dates, times, decimals, ranges, phone numbers
}

// phoneChain reports whether digit groups read as a US phone number whatever
// joins them: "(415) 555 0142", "+1 415-555-0142", "1.800.555.0199".
func phoneChain(g []token) bool {
	var sizes []int
	for _, t := range g {
		sizes = append(sizes, t.digits)
	}
	return slices.Equal(sizes, []int{3, 3, 4}) || slices.Equal(sizes, []int{1, 3, 3, 4})
}

// phoneLike reports whether space-separated groups read as a phone number
// ("+1 415 555 0142", "415 555 0142").
func phoneLike(g []token) bool {
	var sizes []int
	for _, t := range g {
		sizes = append(sizes, t.digits)
	}
	switch len(sizes) {
	case 3:
		return sizes[0] == 3 && sizes[1] == 3 && sizes[2] == 4
	case 4:
		return sizes[0] == 1 && sizes[1] == 3 && sizes[2] == 3 && sizes[3] == 4
	case 2:
		return sizes[0]+sizes[1] >= 10
	}
	return false
}

var labelWords = map[string]bool{
	"code": true, "codes": true, "codigo": true, "otp": true, "pin": true, "passcode": true,
	"password": true, "verification": true, "security": true, "token": true, "clave": true,
	"contrasena": true, "2fa": true, "login": true, "sign-in": true, "signin": true, "key": true,
	"codice": true, "code.": true, "kod": true, "codigos": true, "код": true, "кода": true,
	"رمز": true,
}

// fillers may stand between a label and its code: "code is 1234", "code: 1234".
var fillers = map[string]bool{"is": true, "es": true, "e": true, "here": true, "here's": true, "heres": true, "was": true}

// rejectBefore are words that, just before a number, say it is not a code.
var rejectBefore = map[string]bool{
	"order": true, "ref": true, "reference": true, "ticket": true, "case": true, "invoice": true,
	"tracking": true, "ending": true, "acct": true, "card": true, "call": true, "text": true,
	"txt": true, "dial": true, "ext": true, "zip": true, "apt": true, "suite": true, "unit": true,
	"flight": true, "booking": true, "room": true, "gate": true, "id": true, "po": true, "box": true,
	"route": true, "model": true, "version": true, "build": true, "item": true, "sku": true,
	"at": true, "by": true, "until": true, "since": true, "in": true, "on": true, "from": true, "before": true,
	"after": true, "year": true, "total": true, "balance": true, "amount": true, "paid": true,
	"charged": true, "spent": true, "earned": true, "save": true, "fax": true, "phone": true,
	"tel": true, "mobile": true, "number": true, "no": true, "store": true, "ste": true, "st": true,
	"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true, "jul": true,
	"aug": true, "sep": true, "sept": true, "oct": true, "nov": true, "dec": true, "january": true,
	"february": true, "march": true, "april": true, "june": true, "july": true, "august": true,
	"september": true, "october": true, "november": true, "december": true, "usd": true, "promo": true,
	"coupon": true, "discount": true, "room#": true, "claim": true, "transaction": true, "member": true,
	"a/c": true, "frm": true, "ac": true, "account": true, "membership": true, "policy": true, "account#": true, "confirmation#": true, "reservation": true,
}

// rejectAfter are words that, just after a number, say it is not a code.
var rejectAfter = map[string]bool{
	"min": true, "mins": true, "minute": true, "minutes": true, "hour": true, "hours": true,
	"hr": true, "hrs": true, "sec": true, "secs": true, "second": true, "seconds": true,
	"day": true, "days": true, "week": true, "weeks": true, "month": true, "months": true,
	"year": true, "years": true, "usd": true, "dollars": true, "dollar": true, "cents": true,
	"points": true, "pts": true, "miles": true, "mi": true, "km": true, "gb": true, "mb": true,
	"off": true, "am": true, "pm": true, "percent": true, "items": true, "people": true,
	"users": true, "times": true, "attempts": true, "tries": true, "characters": true,
	"digits": true, "digit": true, "credits": true, "coins": true, "bonus": true, "free": true,
	"spins": true, "followers": true, "likes": true, "views": true, "messages": true, "new": true,
	"main": true, "ave": true, "avenue": true, "street": true, "blvd": true, "rd": true, "road": true,
	"lane": true, "dr": true, "drive": true, "pst": true, "est": true, "cst": true, "mst": true,
	"utc": true, "gmt": true, "et": true, "pt": true, "ct": true, "mt": true,
}

const (
	maxWord    = 64  // longest whitespace-delimited word a code may sit in
	maxContext = 160 // bytes of context read on either side of a candidate
)

// scoreCandidate scores n[s:e] as a code; ok is false when it cannot be one.
func scoreCandidate(n string, s, e, digits, kind int) (candidate, bool) {
	c := candidate{start: s, end: e}
	if kind != kindAlnum && (digits < 4 || digits > 8) {
		return c, false
	}
	prev, _ := utf8.DecodeLastRuneInString(n[:s])
	next, _ := utf8.DecodeRuneInString(n[e:])
	if s == 0 {
		prev = ' '
	}
	if e == len(n) {
		next = ' '
	}
	// Glued to a word, a currency sign, a percentage, a URL or address. A
	// character of a script written without spaces ("验证码927134") is no word.
	if unspacedRune(prev) {
		prev = ' '
	}
	if unspacedRune(next) {
		next = ' '
	}
	if kind == kindGlued {
		next = ' '
	}
	if unicode.IsLetter(prev) || unicode.IsLetter(next) || unicode.IsDigit(prev) || unicode.IsDigit(next) {
		return c, false
	}
	if unicode.Is(unicode.Sc, prev) || prev == '+' || next == '%' || prev == '_' || next == '_' || prev == '=' {
		return c, false
	}
	for _, p := range []rune{'.', ',', ':', '/'} {
		if prev == p && s >= 2 && isDigitByte(n[s-2]) || next == p && e+1 < len(n) && isDigitByte(n[e+1]) {
			return c, false
		}
	}
	// A masked account or card number: "AC **8758", "603799*1234".
	if prev == '/' || next == '/' || prev == '@' || next == '@' || prev == '\\' || prev == '*' || next == '*' {
		return c, false
	}
	// The whitespace-delimited word around the candidate; a code is never part
	// of a long blob.
	lo := max(0, s-maxWord)
	ws := strings.LastIndexFunc(n[lo:s], wordBreak)
	if ws < 0 && lo > 0 {
		return c, false
	}
	if ws >= 0 {
		_, size := utf8.DecodeRuneInString(n[lo+ws:])
		ws += lo + size
	} else {
		ws = 0
	}
	hi := min(len(n), e+maxWord)
	we := strings.IndexFunc(n[e:hi], wordBreak)
	if we < 0 {
		if hi < len(n) {
			return c, false
		}
		we = len(n)
	} else {
		we += e
	}
	word := strings.ToLower(n[ws:we])
	if strings.Contains(word, "://") || strings.Contains(word, "www.") || strings.ContainsAny(word, "/@=&?") ||
		strings.Contains(word, ".com") || strings.Contains(word, ".ly") {
		return c, false
	}

	before := wordsBefore(n, s, 6)
	after := wordsAfter(n, e, 8)

	// The word right before, skipping fillers.
	direct := false
	near := false
	for k, w := range before {
		if k == 0 && rejectBefore[w] && !(len(before) > 1 && cueStem(before[1]) && w != "id") { // "…-vahvistuskoodisi on 787507", but "agent code ID 123456"
			return c, false
		}
		if k == 1 && w == "to" && len(before) > 2 && (before[2] == "stop" || before[2] == "help" || before[2] == "text" || before[2] == "reply" || before[2] == "txt") {
			return c, false
		}
		if labelWords[w] && !(k+1 < len(before) && notCode[before[k+1]]) {
			near = true
			if !direct && onlyFillers(before[:k]) {
				direct = true
			}
		}
	}
	if len(before) >= 2 && before[0] == "to" {
		// "Text WIN to 87121", "text the password "MIX" to 85069": a short code
		// to write to, not a code.
		for _, w := range before[1:min(len(before), 5)] {
			if w == "stop" || w == "help" || w == "text" || w == "reply" || w == "txt" || w == "msg" || w == "sms" || w == "send" {
				return c, false
			}
		}
	}
	forward := false
	if len(after) > 0 && (after[0] == "is" || after[0] == "es" || after[0] == "as" || after[0] == "e" || after[0] == "ist" || after[0] == "est" || after[0] == "eh" || after[0] == "это") {
		for k, w := range after[1:] {
			if (labelWords[w] || cueStem(w)) && !notCode[after[k]] {
				forward = true
				break
			}
		}
	}
	if len(after) > 0 && rejectAfter[after[0]] && !forward { // "est votre code" is French, not a time zone
		return c, false
	}
	if kind == kindDigits && digits == 5 && afterState(n, s) {
		return c, false // a ZIP code: "Austin, TX 78701"
	}
	if kind == kindDigits && digits == 4 {
		if v := atoi(n[s:e]); v >= 1900 && v <= 2099 && !direct {
			return c, false // a year
		}
	}
	promo := false
	for _, w := range append(append([]string(nil), before...), after...) {
		if w == "promo" || w == "coupon" || w == "discount" || w == "off" || w == "voucher" || w == "reward" {
			promo = true
		}
	}
	if promo && !forward && kind != kindPrefixed {
		return c, false
	}

	switch kind {
	case kindDigits:
		c.score = 1
	case kindGrouped:
		c.score = 1.5
	case kindPrefixed:
		c.score = 3
	case kindAlnum:
		c.score = -3
		if !direct && !forward || direct && weakLabel(before) {
			return c, false
		}
		if e-s < 4 || e-s > 10 {
			return c, false
		}
	}
	if kind != kindAlnum && direct && standingPassword(before) {
		return c, false // "Monthly password for wap. mobsi.com is 391784"
	}
	// A prefixed code ("G-412157") speaks for itself when it opens the message;
	// elsewhere ("… AL RAHA LLC-833468 KHOOM") the message must speak of a code.
	opens := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(n[:s]), "<#>")) == ""
	c.labelled = direct || forward || near || kind == kindPrefixed && opens ||
		len(before) > 0 && (before[0] == "enter" || before[0] == "enter:" || before[0] == "use") || prev == '#' && domainBound(n, s-1)
	if prev == '(' && next == ')' && !c.labelled {
		return c, false // "sent to Yas PostPaid (100100)": a biller's number
	}
	switch {
	case direct:
		c.score += 4
	case forward:
		c.score += 4
	case near:
		c.score += 2
	}
	if len(before) > 0 && (before[0] == "use" || before[0] == "enter" || before[0] == "type" || before[0] == "input") {
		c.score += 2
	}
	if prev == '#' {
		if domainBound(n, s-1) {
			c.score += 5
		} else {
			c.score -= 1
		}
	}
	if strings.HasSuffix(strings.TrimRight(n[:s], " "), ":") {
		c.score += 0.5
	}
	if digits == 6 {
		c.score += 0.5
	}
	return c, true
}

// labelledBefore reports whether a label word ("code", "OTP", "رمز") is one of the
// two words before n[s:], fillers aside: "code: 1122334455", "رمز پویا 1122334455".
func labelledBefore(n string, s int) bool {
	k := 0
	for _, w := range wordsBefore(n, s, 4) {
		if fillers[w] {
			continue
		}
		if labelWords[w] {
			return true
		}
		if k++; k == 2 {
			break
		}
	}
	return false
}

// standingPassword reports whether the label nearest before a candidate is a
// password that is not one-time: a monthly, wifi or site password.
func standingPassword(before []string) bool {
	for k, w := range before {
		if labelWords[w] {
			if w != "password" || k+1 >= len(before) {
				return false
			}
			q := before[k+1]
			return q == "monthly" || q == "wifi" || q == "wi-fi" || q == "wap" || q == "weekly"
		}
	}
	return false
}

// wordBreak reports whether r ends a word around a code: a space, or a
// character of a script written without spaces, or CJK punctuation.
func wordBreak(r rune) bool {
	return r == ' ' || r == '\n' || r == '\t' || unspacedRune(r)
}

// unspacedRune reports whether r is of a script written without spaces (Han,
// kana, Hangul) or is CJK or fullwidth punctuation.
func unspacedRune(r rune) bool {
	return r >= 0x3000 && r <= 0x303f || r >= 0xff00 && r <= 0xff65 || unspaced(r)
}

// weakLabel reports whether the label nearest before a candidate names a
// password or key rather than a code ("wifi password is sunny2026"); it does not
// when it is a one-time password.
func weakLabel(before []string) bool {
	for k, w := range before {
		if labelWords[w] {
			if w != "password" && w != "contrasena" && w != "login" && w != "login=" {
				return false
			}
			return k+1 >= len(before) || (before[k+1] != "one-time" && before[k+1] != "time")
		}
	}
	return false
}

// usStates are the two-letter US state and territory abbreviations.
var usStates = map[string]bool{}

func init() {
	for _, s := range strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO
		MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI`) {
		usStates[s] = true
	}
}

// afterState reports whether n[s:] follows a capitalised US state abbreviation
// ("TX 78701").
func afterState(n string, s int) bool {
	t := strings.TrimRight(n[:s], " ")
	if len(t) < 2 || len(t) == s {
		return false
	}
	w := t[len(t)-2:]
	if len(t) > 2 && isAlnum(t[len(t)-3]) {
		return false
	}
	return usStates[w]
}

// domainBound reports whether the '#' at n[h] follows "@domain " (the origin-bound
// one-time code line: "@apple.com #123456").
func domainBound(n string, h int) bool {
	t := strings.TrimRight(n[max(0, h-maxWord):h], " ")
	at := strings.LastIndexAny(t, " \n")
	if at < 0 && h > maxWord {
		return false
	}
	w := t[at+1:]
	return len(w) > 3 && w[0] == '@' && strings.Contains(w, ".")
}

func isDigitByte(b byte) bool { return b >= '0' && b <= '9' }

func atoi(s string) int {
	v := 0
	for i := 0; i < len(s) && i < 9; i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

func onlyFillers(ws []string) bool {
	for _, w := range ws {
		if !fillers[w] {
			return false
		}
	}
	return true
}

// sentenceBreak reports whether n[i] ends a sentence.
func sentenceBreak(n string, i int) bool {
	switch n[i] {
	case '!', '?':
		return true
	case '.':
		return i+1 >= len(n) || n[i+1] == ' ' || n[i+1] == '\n'
	}
	return false
}

// wordsBefore returns up to max folded words before n[:s] in the same sentence,
// nearest first.
func wordsBefore(n string, s, max int) []string {
	var out []string
	end := s
	lo := s - maxContext
	if lo < -1 {
		lo = -1
	}
	for i := s - 1; i >= lo && len(out) < max; i-- {
		if i == lo && i >= 0 {
			break // context window exhausted
		}
		if i >= 0 && sentenceBreak(n, i) {
			if end > i+1 {
				if w := cleanWord(n[i+1 : end]); w != "" {
					out = append(out, w)
				}
			}
			break
		}
		if i < 0 || n[i] == ' ' || n[i] == '\n' || n[i] == ',' || n[i] == '(' || n[i] == '[' || n[i] == '"' {
			if end > i+1 {
				if w := cleanWord(n[i+1 : end]); w != "" {
					out = append(out, w)
				}
			}
			end = i
		}
	}
	return out
}

// wordsAfter returns up to max folded words after n[e:] in the same sentence.
func wordsAfter(n string, e, max int) []string {
	var out []string
	start := e
	hi := len(n)
	if e+maxContext < hi {
		hi = e + maxContext
	}
	for i := e; i <= hi && len(out) < max; i++ {
		if i == hi && hi < len(n) {
			break // context window exhausted
		}
		stop := i < len(n) && sentenceBreak(n, i)
		if i == len(n) || stop || n[i] == ' ' || n[i] == '\n' || n[i] == ',' || n[i] == ')' || n[i] == ']' || n[i] == '"' {
			if i > start {
				if w := cleanWord(n[start:i]); w != "" {
					out = append(out, w)
				}
			}
			start = i + 1
			if stop {
				break
			}
		}
	}
	return out
}

// cleanWord folds w and trims punctuation around it; "code:" → "code".
func cleanWord(w string) string {
	f, _ := fold(w)
	f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '#' })
	f = strings.TrimLeft(f, "#")
	return f
}
