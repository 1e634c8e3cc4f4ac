package fetchsms

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// Service is one entry of the catalog. Short-term verifications are sold per service;
// the long-term product is the single service UnlimitedServiceID, whose LongPrices map
// holds the price of each rental term. Senders and Keywords are the detection rules
// that tie an inbound SMS to the service.
type Service struct {
	ID         int
	Slug       string
	Name       string
	PriceCents Cents
	LongPrices map[int]Cents // term in days → price; empty except on the unlimited product
	Enabled    bool
	// Senders are sender ids that hint at this service: alphanumeric names
	// ("Telegram"), short codes ("32665") or long numbers. A hint, not proof: short
	// codes are shared by many services.
	Senders []string
	// Keywords are lower-case words or phrases that name the service in a message body.
	Keywords []string
	// ActivationCode is the service's short code in the SMS-Activate protocol
	// ("tg", "wa", "go"…), by which that protocol's tools buy it; "" when it has
	// none. Unique among services; admins may change it.
	ActivationCode string
}

// IsLongTerm reports whether s is the long-term rental product.
func (s Service) IsLongTerm() bool { return s.ID == UnlimitedServiceID }

// SearchKey is what a catalog search matches against: the service's name, slug,
// category, aliases, keywords and named senders, each folded by FoldSearch
// ("Uber Eats" and "ubereats" both become "ubereats"; "ChatGPT" finds OpenAI,
// "meta" Facebook, "twitter" X, "banking" every bank).
func (s Service) SearchKey() string {
	parts := append([]string{s.Name, s.Slug, ServiceCategory(s.Slug)}, ServiceAliases(s.Slug)...)
	parts = append(parts, s.Keywords...)
	for _, x := range s.Senders {
		if x != "" && (x[0] < '0' || x[0] > '9') { // names, not short codes
			parts = append(parts, x)
		}
	}
	for i := range parts {
		parts[i] = FoldSearch(parts[i])
	}
	return strings.Join(parts, " ")
}

// Matches reports whether a catalog search for q finds the service: q folded
// is part of its SearchKey. An empty query matches every service.
func (s Service) Matches(q string) bool {
	q = FoldSearch(q)
	return q == "" || strings.Contains(s.SearchKey(), q)
}

// FoldSearch lower-cases s and keeps only its letters and digits, so that case,
// spaces and punctuation never decide a match. The dashboard's script folds a
// typed query the same way (web/static/app.js, fold).
func FoldSearch(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ServiceStock is a service with its live availability.
type ServiceStock struct {
	Service
	ShortAvailable int
	LongAvailable  int
	Category       string   // ServiceCategory(Slug)
	Aliases        []string // ServiceAliases(Slug); shared, not to be modified
	// Reliability is the service's figures over the last 7 days
	// (reliability.go); nil below the minimum sample.
	Reliability *Reliability
}

// ServiceUpdate changes some fields of a service; nil fields stay as they are.
type ServiceUpdate struct {
	Name       *string
	PriceCents *Cents
	Enabled    *bool
	Senders    *[]string
	Keywords   *[]string
	// ActivationCode: "" removes the service's SMS-Activate code.
	ActivationCode *string
}

// Validate checks a new or edited service's fields.
func (s Service) Validate() error {
	if len(s.Slug) < 1 || len(s.Slug) > 40 {
		return Errorf(EUNPROCESSABLE, "slug must be 1–40 characters of a–z, 0–9 and -")
	}
	for _, c := range s.Slug {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return Errorf(EUNPROCESSABLE, "slug must be 1–40 characters of a–z, 0–9 and -")
		}
	}
	if s.Slug[0] >= '0' && s.Slug[0] <= '9' {
		return Errorf(EUNPROCESSABLE, "slug must not start with a digit (numbers are service ids)")
	}
	if len(s.Name) < 1 || len(s.Name) > 60 {
		return Errorf(EUNPROCESSABLE, "name must be 1–60 characters")
	}
	if s.PriceCents < 0 || s.PriceCents > 100_000 {
		return Errorf(EUNPROCESSABLE, "price_cents must be from 0 to 100000")
	}
	if err := ValidActivationCode(s.ActivationCode); err != nil {
		return err
	}
	if s.ActivationCode != "" && s.IsLongTerm() {
		return Errorf(EUNPROCESSABLE, "the long-term product cannot have an activation code: the SMS-Activate protocol buys verifications only")
	}
	for _, list := range [][]string{s.Senders, s.Keywords} {
		if len(list) > 50 {
			return Errorf(EUNPROCESSABLE, "at most 50 senders and 50 keywords")
		}
		for _, x := range list {
			if len(x) < 1 || len(x) > 60 {
				return Errorf(EUNPROCESSABLE, "each sender and keyword must be 1–60 characters")
			}
		}
	}
	return nil
}

// Apply returns s with the update's fields set.
func (u ServiceUpdate) Apply(s Service) Service {
	if u.Name != nil {
		s.Name = *u.Name
	}
	if u.PriceCents != nil {
		s.PriceCents = *u.PriceCents
	}
	if u.Enabled != nil {
		s.Enabled = *u.Enabled
	}
	if u.Senders != nil {
		s.Senders = *u.Senders
	}
	if u.Keywords != nil {
		s.Keywords = *u.Keywords
	}
	if u.ActivationCode != nil {
		s.ActivationCode = *u.ActivationCode
	}
	return s
}

// ValidActivationCode checks an SMS-Activate service code: "" (none), or 1–10
// characters of a–z and 0–9, as that protocol's codes are ("tg", "wa", "bnl").
func ValidActivationCode(code string) error {
	ok := len(code) <= 10
	for _, c := range code {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	}
	if !ok {
		return Errorf(EUNPROCESSABLE, "activation_code must be 1–10 characters of a–z and 0–9 (such as \"tg\"), or empty for none")
	}
	return nil
}

// ServiceColumns are a service's map and lists as stored: JSON text columns, the
// same in every engine.
type ServiceColumns struct {
	LongPrices, Senders, Keywords string
}

// Columns encodes the service's long prices, senders and keywords for storage.
func (s Service) Columns() ServiceColumns {
	lp := make(map[string]Cents, len(s.LongPrices))
	for d, p := range s.LongPrices {
		lp[strconv.Itoa(d)] = p
	}
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	a, _ := json.Marshal(lp)
	b, _ := json.Marshal(orEmpty(s.Senders))
	c, _ := json.Marshal(orEmpty(s.Keywords))
	return ServiceColumns{string(a), string(b), string(c)}
}

// SetColumns decodes stored columns into the service; malformed JSON is an error.
func (s *Service) SetColumns(c ServiceColumns) error {
	var m map[string]Cents
	if err := json.Unmarshal([]byte(c.LongPrices), &m); err != nil {
		return err
	}
	s.LongPrices = nil
	if len(m) > 0 {
		s.LongPrices = make(map[int]Cents, len(m))
		for k, v := range m {
			d, err := strconv.Atoi(k)
			if err != nil {
				return err
			}
			s.LongPrices[d] = v
		}
	}
	if err := json.Unmarshal([]byte(c.Senders), &s.Senders); err != nil {
		return err
	}
	return json.Unmarshal([]byte(c.Keywords), &s.Keywords)
}
