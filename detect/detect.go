// Package detect recognises which service sent an inbound SMS and extracts the
// verification code it carries. It is pure: no I/O, no clock, no randomness.
//
// Detection trusts the message body first: a rule's keywords ("whatsapp",
// "google voice", "@apple.com") found in the body decide. The sender is a hint:
// an alphanumeric sender equal to a rule's sender name ("Telegram") is a strong
// hint, a numeric short code ("32665") a weak one, since short codes are shared.
// When the body names several services, the one that owns the code ("your
// TikTok code"), heads the message ("[TikTok]", "PayPal:") or is named in the
// sentence that carries the code wins; a passing mention of another brand ("a
// payment to Netflix") never takes a message from the service its sender names,
// and a message with neither a code nor a sender hint is attributed only to a
// service that heads it, since brand names are also words ("weak signal").
//
// # The form of the returned code
//
// Result.Code and ExtractCode return the code exactly as it is written in
// Normalize(body), with nothing added, removed or reformatted; it is always a
// substring of Normalize(body), and of body itself when body is printable ASCII
// and newlines. Concretely, the code is one of:
//
//   - 4 to 8 ASCII digits, leading zeros kept: "482910", "012345", "4471";
//   - two equal groups of 3 or 4 digits joined by one '-' or one space, the
//     separator kept as written: "821-193", "123 456", "1234-5678";
//   - one to three capital letters, '-', then 4 to 8 digits: "G-412157", "FB-36271";
//   - 4 to 10 ASCII letters and digits with at least one digit, only when a label
//     names it a code: "F7K2Q", "h5tjnvyb", "AB12CD" (case kept).
//
// Normalize has already mapped fullwidth and other non-ASCII digits to ASCII,
// Unicode dashes to '-' and Unicode spaces to ' ', and dropped zero-width
// characters, so "８２１–１９３" yields "821-193". A caller that needs the bare
// digits strips '-' and ' ' itself; this form is stable.
package detect

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule describes how to recognise one service.
type Rule struct {
	ServiceID int
	Name      string
	// Senders are alphanumeric sender names ("Telegram"), short codes ("22000")
	// or long numbers that hint at the service.
	Senders []string
	// Keywords are words or phrases that name the service in a message body,
	// matched case-insensitively on word boundaries.
	Keywords []string
}

// Result of detection. ServiceID 0 means no service recognised.
type Result struct {
	ServiceID int
	// Confidence is in [0,1]: about 0.9 and above when the body names the service
	// (and the sender agrees), lower when it rests on the sender alone or when
	// the body names several services.
	Confidence float64
	// Code is the verification code as written in the message, "" when there is
	// none; it is a substring of Normalize(body). It is set even when no service
	// is recognised.
	Code string
}

// Engine holds compiled rules; safe for concurrent use.
type Engine struct {
	rules    []compiledRule
	names    map[string][]int // alphanumeric sender key → rule indexes
	numbers  map[string][]int // numeric sender key → rule indexes
	keywords []keyword
	// index maps the first two bytes of a keyword to its indexes in keywords;
	// short holds the one-byte keywords.
	index map[uint16][]int
	short []int
	// maxKeyword is the length of the longest folded keyword.
	maxKeyword int
}

type compiledRule struct {
	Rule
	nameKey string
}

type keyword struct {
	text         string // folded
	rule         int
	lEdge, rEdge bool // whether the keyword starts / ends with a word character
	first, last  rune
}

// joined reports whether word characters a and b, side by side, are one word:
// not when either is of a script written without spaces (Han, kana, Hangul),
// which has no word boundaries to check ("あなたのSignal", "【微信支付】").
func joined(a, b rune) bool {
	return isWordRune(a) && isWordRune(b) && !unspaced(a) && !unspaced(b)
}

func unspaced(r rune) bool {
	return r >= 0x1100 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// New compiles rules. Rules with a ServiceID of 0 or less are ignored; empty
// senders and keywords are skipped.
func New(rules []Rule) *Engine {
	e := &Engine{names: map[string][]int{}, numbers: map[string][]int{}, index: map[uint16][]int{}}
	for _, r := range rules {
		if r.ServiceID <= 0 {
			continue
		}
		idx := len(e.rules)
		e.rules = append(e.rules, compiledRule{Rule: r, nameKey: senderKey(r.Name)})
		seen := map[string]bool{}
		for _, s := range r.Senders {
			if k, ok := numberKey(s); ok {
				if !seen["#"+k] {
					e.numbers[k] = append(e.numbers[k], idx)
					seen["#"+k] = true
				}
			} else if k := senderKey(s); k != "" && !seen[k] {
				e.names[k] = append(e.names[k], idx)
				seen[k] = true
			}
		}
		for _, kw := range r.Keywords {
			f, _ := fold(Normalize(kw))
			f = strings.TrimSpace(f)
			if f == "" || seen["kw:"+f] {
				continue
			}
			seen["kw:"+f] = true
			first, _ := utf8.DecodeRuneInString(f)
			last, _ := utf8.DecodeLastRuneInString(f)
			e.maxKeyword = max(e.maxKeyword, len(f))
			if len(f) == 1 {
				e.short = append(e.short, len(e.keywords))
			} else {
				k := pair(f[0], f[1])
				e.index[k] = append(e.index[k], len(e.keywords))
			}
			e.keywords = append(e.keywords, keyword{text: f, rule: idx, lEdge: isWordRune(first), rEdge: isWordRune(last), first: first, last: last})
		}
	}
	return e
}

// senderKey is the folded letters and digits of an alphanumeric sender name.
func senderKey(s string) string {
	f, _ := fold(Normalize(s))
	var b strings.Builder
	for _, r := range f {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// numberKey returns the digits of a numeric sender ("+1 (415) 555-0100",
// "22000"), without a leading US country code; ok is false if s has letters.
func numberKey(s string) (string, bool) {
	s = Normalize(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' || c == '-' || c == ' ' || c == '(' || c == ')' || c == '.':
		default:
			return "", false
		}
	}
	k := b.String()
	if len(k) == 11 && k[0] == '1' {
		k = k[1:]
	}
	return k, k != ""
}

// pair is the index key of two bytes.
func pair(a, b byte) uint16 { return uint16(a)<<8 | uint16(b) }

// match is one keyword occurrence, in normalised-body byte offsets.
type match struct {
	start, end int // in the folded text
	rule       int
	pos        int // start in the normalised text
}

// find returns the keyword matches in folded text f, without matches that lie
// inside a longer match of another rule ("uber" inside "uber eats").
func (e *Engine) find(f string, m []int) []match {
	return e.dropInside(e.collect(f, m))
}

// collect returns every keyword match in folded text f, sorted by start, end
// and rule.
func (e *Engine) collect(f string, m []int) []match {
	var all []match
	add := func(kw *keyword, i int) {
		j := i + len(kw.text)
		if kw.lEdge && i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(f[:i]); joined(r, kw.first) {
				return
			}
		}
		if kw.rEdge && j < len(f) {
			if r, _ := utf8.DecodeRuneInString(f[j:]); joined(kw.last, r) {
				return
			}
		}
		all = append(all, match{start: i, end: j, rule: kw.rule, pos: m[i]})
	}
	// One pass over the text: at each byte, only the keywords that start with
	// its two bytes are tried.
	for i := 0; i < len(f); i++ {
		for _, k := range e.short {
			if kw := &e.keywords[k]; f[i] == kw.text[0] {
				add(kw, i)
			}
		}
		if i+1 < len(f) {
			for _, k := range e.index[pair(f[i], f[i+1])] {
				if kw := &e.keywords[k]; strings.HasPrefix(f[i:], kw.text) {
					add(kw, i)
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b match) int { return cmp.Or(a.start-b.start, a.end-b.end, a.rule-b.rule) })
	return all
}

// dropInside removes from sorted matches those inside a longer match of another
// rule. A match can only lie inside a longer one that starts at most maxKeyword
// bytes before it, so it looks at the neighbours.
func (e *Engine) dropInside(all []match) []match {
	out := all[:0:0]
	for i, a := range all {
		inside := false
		for j := i - 1; j >= 0 && a.start-all[j].start <= e.maxKeyword && !inside; j-- {
			b := all[j]
			inside = b.rule != a.rule && a.end <= b.end && b.end-b.start > a.end-a.start
		}
		for j := i + 1; j < len(all) && all[j].start == a.start && !inside; j++ {
			b := all[j]
			inside = b.rule != a.rule && b.end-b.start > a.end-a.start
		}
		if !inside {
			out = append(out, a)
		}
	}
	return out
}

// Detect returns which service sent the SMS (by sender and body) and the code it
// carries.
func (e *Engine) Detect(sender, body string) Result {
	n := Normalize(body)
	res := Result{}
	c, hasCode := extract(n)
	if hasCode {
		res.Code = n[c.start:c.end]
	}

	// Sender hints.
	strong := map[int]bool{}
	weak := map[int]bool{}
	if k, ok := numberKey(sender); ok {
		for _, r := range e.numbers[k] {
			weak[r] = true
		}
	} else if k := senderKey(sender); k != "" {
		for _, r := range e.names[k] {
			strong[r] = true
		}
		if len(strong) == 0 {
			sf, sm := fold(Normalize(sender))
			for _, mt := range e.find(sf, sm) {
				strong[mt.rule] = true
			}
		}
	}

	// Body keywords.
	f, m := fold(n)
	matches := e.find(f, m)
	type stat struct {
		count, first int
		sentence     bool // named in the sentence that carries the code
		lead         bool // named at the head of the message ("[TikTok]", "PayPal:")
		owner        bool // named just before a code label ("your TikTok code")
		headline     bool // the message starts with the name and a colon or bracket
	}
	stats := map[int]*stat{}
	var order []int
	leadEnd := len(n) - len(strings.TrimLeft(n, "[( <#>"))
	sentences := sentenceIndex(n)
	for _, mt := range matches {
		if merchant(n, mt.pos, sentences) {
			continue
		}
		st := stats[mt.rule]
		if st == nil {
			st = &stat{first: mt.pos}
			stats[mt.rule] = st
			order = append(order, mt.rule)
		}
		st.count++
		st.first = min(st.first, mt.pos)
		if hasCode && sentences[mt.pos] == sentences[c.start] {
			st.sentence = true
		}
		if mt.pos <= leadEnd {
			st.lead = true
			st.headline = st.headline || headline(n, m[mt.end])
		}
		if end := m[mt.end]; ownsLabel(wordsAfter(n, end, 2)) {
			st.owner = true
		}
	}

	// A message with no code and no sender hint is only attributed to a service
	// that heads it ("Blizzard: …", "[TikTok] …"): brand names are also common
	// words ("weak signal", "blizzard warning", "affirm your appointment").
	if !hasCode && len(strong) == 0 && len(weak) == 0 {
		for _, r := range order {
			if !stats[r].headline {
				delete(stats, r)
			}
		}
		order = slices.DeleteFunc(order, func(r int) bool { return stats[r] == nil })
	}

	switch {
	case len(stats) == 1:
		r := order[0]
		res.ServiceID = e.rules[r].ServiceID
		switch {
		case strong[r]:
			res.Confidence = 0.99
		case weak[r]:
			res.Confidence = 0.95
		case len(strong) > 0:
			// The sender names another service. The body wins when it makes the
			// service the owner of the code ("Your Instagram code is …"), heads
			// the message, or names it beside the code; a passing mention
			// ("a payment to Netflix") leaves the message to the sender.
			if st := stats[r]; st.owner || st.headline || hasCode && st.sentence {
				res.Confidence = 0.7
			} else {
				res.ServiceID = e.rules[pick(e, strong, sender)].ServiceID
				res.Confidence = 0.6
			}
		default:
			res.Confidence = 0.85
		}
	case len(stats) > 1:
		best, second := -1, -1
		var bestScore, secondScore float64
		earliest := order[0]
		for _, r := range order {
			if stats[r].first < stats[earliest].first {
				earliest = r
			}
		}
		for _, r := range order {
			st := stats[r]
			score := 0.5 * float64(min(st.count, 3))
			if strong[r] {
				score += 2
			}
			if weak[r] {
				score += 0.75
			}
			if st.sentence {
				score += 1.5
			}
			if st.lead {
				score += 1
			}
			if st.owner {
				score += 1.5
			}
			if r == earliest {
				score += 0.5
			}
			switch {
			case best < 0 || score > bestScore:
				second, secondScore = best, bestScore
				best, bestScore = r, score
			case second < 0 || score > secondScore:
				second, secondScore = r, score
			}
		}
		res.ServiceID = e.rules[best].ServiceID
		margin := bestScore - secondScore
		res.Confidence = 0.4 + 0.4*min(margin, 2)/2
	case len(strong) > 0:
		r := pick(e, strong, sender)
		res.ServiceID = e.rules[r].ServiceID
		res.Confidence = 0.75
		if len(strong) > 1 {
			res.Confidence = 0.5
		}
	case len(weak) == 1:
		for r := range weak {
			res.ServiceID = e.rules[r].ServiceID
		}
		res.Confidence = 0.4
	}
	return res
}

// merchant reports whether the service named at n[pos] is the merchant of a
// card payment that the message is about ("OTP for transaction of INR 3373.00
// on your Kotak Bank Card at AMAZON PAY", "SafeKey code for €13.37 at Bol.com"):
// a name after "at" (Dutch "bij") with an amount before it in the same sentence.
// Such a code is the card issuer's, never the merchant's.
func merchant(n string, pos int, sentences []int) bool {
	before := wordsBefore(n, pos, 1)
	if len(before) == 0 || before[0] != "at" && before[0] != "bij" {
		return false
	}
	start := pos
	for start > 0 && sentences[start-1] == sentences[pos] {
		start--
	}
	seg := strings.ToLower(n[start:pos])
	return strings.ContainsAny(seg, "$€£¥₹") || strings.Contains(seg, "inr ") || strings.Contains(seg, "rs.") || strings.Contains(seg, "usd ")
}

// headline reports whether the service name that ends at n[e] closes the head
// of a message: "PayPal: …", "[TikTok] …", "Amazon.com: …", "Blizzard - …".
func headline(n string, e int) bool {
	rest := n[e:]
	if strings.HasPrefix(rest, ".com") {
		rest = rest[len(".com"):]
	}
	for _, p := range []string{":", "]", ")", "】", ",", " -", " :"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// pick chooses among rules that share a sender name: the one whose name is the
// sender, else the first in rule order.
func pick(e *Engine, set map[int]bool, sender string) int {
	k := senderKey(sender)
	best := -1
	for r := range set {
		if e.rules[r].nameKey == k {
			return r
		}
		if best < 0 || r < best {
			best = r
		}
	}
	return best
}

// ownsLabel reports whether the words after a service name make it the owner of
// a code: "TikTok code", "Google verification code", "Apple Account code".
func ownsLabel(after []string) bool {
	for _, w := range after {
		if labelWords[w] || w == "otp" || w == "confirmation" {
			return true
		}
	}
	return false
}

// sentenceIndex numbers the sentences of n: element i is the sentence that byte
// i belongs to (a newline or a sentence-ending '.', '!' or '?' closes one).
func sentenceIndex(n string) []int {
	idx := make([]int, len(n)+1)
	k := 0
	for i := 0; i < len(n); i++ {
		idx[i] = k
		if n[i] == '\n' || sentenceBreak(n, i) {
			k++
		}
	}
	idx[len(n)] = k
	return idx
}
