package web

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	fetchsms "github.com/fetchsms/fetchsms"
)

// appender is implemented by the answers written on every poll and purchase: they
// encode themselves straight into bytes identical to json.MarshalIndent(v, "", "  ")
// (FuzzFastJSON holds them to it), without reflection.
type appender interface {
	appendIndented(b []byte) []byte
}

// verificationAnswer writes one verification as verificationOut would render it.
type verificationAnswer struct{ v *fetchsms.Verification }

func (a verificationAnswer) appendIndented(b []byte) []byte {
	v := a.v
	b = appendPurchaseHead(b, v.ID, v.Ref, v.ServiceSlug, v.ServiceName, v.Number)
	b = append(b, ",\n  \"code\": "...)
	b = appendStringOrNull(b, v.Code)
	b = append(b, ",\n  \"codes\": ["...)
	for i, c := range v.Codes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = appendString(b, c)
	}
	if len(v.Codes) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, ']')
	b = append(b, ",\n  \"link\": "...)
	b = appendStringOrNull(b, v.Link)
	return appendPurchaseTail(b, v.Status, v.CostCents, v.CreatedAt, v.ExpiresAt)
}

// rentalAnswer writes one rental as rentalOut would render it.
type rentalAnswer struct{ x *fetchsms.Rental }

func (a rentalAnswer) appendIndented(b []byte) []byte {
	x := a.x
	b = appendPurchaseHead(b, x.ID, x.Ref, x.ServiceSlug, x.ServiceName, x.Number)
	b = append(b, ",\n  \"duration_days\": "...)
	b = strconv.AppendInt(b, int64(x.DurationDays), 10)
	b = append(b, ",\n  \"extended_days\": "...)
	b = strconv.AppendInt(b, int64(x.ExtendedDays), 10)
	b = append(b, ",\n  \"last_code\": "...)
	b = appendStringOrNull(b, x.LastCode)
	return appendPurchaseTail(b, x.Status, x.CostCents, x.CreatedAt, x.ExpiresAt)
}

// appendPurchaseHead opens the object with the fields both purchases start with.
func appendPurchaseHead(b []byte, id, ref, slug, name, number string) []byte {
	b = append(b, "{\n  \"id\": "...)
	b = appendString(b, id)
	b = append(b, ",\n  \"ref\": "...)
	b = appendString(b, ref)
	b = append(b, ",\n  \"service\": "...)
	b = appendString(b, slug)
	b = append(b, ",\n  \"service_name\": "...)
	b = appendString(b, name)
	b = append(b, ",\n  \"number\": "...)
	b = appendNumber(b, number)
	// The same number in E.164 ("+13325550184"), for programs that dial or store it.
	b = append(b, ",\n  \"number_e164\": "...)
	return appendString(b, number)
}

// appendPurchaseTail writes the fields both purchases end with and closes the object.
func appendPurchaseTail(b []byte, status string, cost fetchsms.Cents, created, expires time.Time) []byte {
	b = append(b, ",\n  \"status\": "...)
	b = appendString(b, status)
	b = append(b, ",\n  \"cost_cents\": "...)
	b = strconv.AppendInt(b, int64(cost), 10)
	b = append(b, ",\n  \"created_at\": "...)
	b = appendTime(b, created)
	b = append(b, ",\n  \"expires_at\": "...)
	b = appendTime(b, expires)
	return append(b, "\n}"...)
}

// appendNumber writes an E.164 number as fetchsms.FormatUS shows it.
func appendNumber(b []byte, e164 string) []byte {
	if len(e164) != 12 || !plain(e164) {
		return appendString(b, fetchsms.FormatUS(e164))
	}
	b = append(b, "\"("...)
	b = append(b, e164[2:5]...)
	b = append(b, ") "...)
	b = append(b, e164[5:8]...)
	b = append(b, '-')
	b = append(b, e164[8:]...)
	return append(b, '"')
}

// appendTime writes a time as ts renders it, or null for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	return append(b, '"')
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString quotes s as encoding/json does. Plain text is copied as is;
// anything else goes through encoding/json itself.
func appendString(b []byte, s string) []byte {
	if !plain(s) {
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plain reports whether encoding/json would copy s unchanged between its quotes:
// printable ASCII without quotes, backslashes or the HTML characters it escapes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
