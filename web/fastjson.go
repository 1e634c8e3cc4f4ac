package web

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// appender is implemented by the answers written on every poll and purchase: they
// encode themselves straight into bytes identical to json.MarshalIndent(v, "", "  ")
// (FuzzFastJSON holds them to it), without reflection.
type appender interface {
	appendIndented(b []byte) []byte
}

func (v verificationJSON) appendIndented(b []byte) []byte {
	b = append(b, "{\n  \"id\": "...)
	b = appendString(b, v.ID)
	b = append(b, ",\n  \"ref\": "...)
	b = appendString(b, v.Ref)
	b = append(b, ",\n  \"service\": "...)
	b = appendString(b, v.Service)
	b = append(b, ",\n  \"service_name\": "...)
	b = appendString(b, v.ServiceName)
	b = append(b, ",\n  \"number\": "...)
	b = appendString(b, v.Number)
	b = append(b, ",\n  \"code\": "...)
	b = appendStringPtr(b, v.Code)
	b = append(b, ",\n  \"status\": "...)
	b = appendString(b, v.Status)
	b = append(b, ",\n  \"cost_cents\": "...)
	b = strconv.AppendInt(b, int64(v.CostCents), 10)
	b = append(b, ",\n  \"created_at\": "...)
	b = appendStringPtr(b, v.CreatedAt)
	b = append(b, ",\n  \"expires_at\": "...)
	b = appendStringPtr(b, v.ExpiresAt)
	return append(b, "\n}"...)
}

func (x rentalJSON) appendIndented(b []byte) []byte {
	b = append(b, "{\n  \"id\": "...)
	b = appendString(b, x.ID)
	b = append(b, ",\n  \"ref\": "...)
	b = appendString(b, x.Ref)
	b = append(b, ",\n  \"service\": "...)
	b = appendString(b, x.Service)
	b = append(b, ",\n  \"service_name\": "...)
	b = appendString(b, x.ServiceName)
	b = append(b, ",\n  \"number\": "...)
	b = appendString(b, x.Number)
	b = append(b, ",\n  \"duration_days\": "...)
	b = strconv.AppendInt(b, int64(x.DurationDays), 10)
	b = append(b, ",\n  \"last_code\": "...)
	b = appendStringPtr(b, x.LastCode)
	b = append(b, ",\n  \"status\": "...)
	b = appendString(b, x.Status)
	b = append(b, ",\n  \"cost_cents\": "...)
	b = strconv.AppendInt(b, int64(x.CostCents), 10)
	b = append(b, ",\n  \"created_at\": "...)
	b = appendStringPtr(b, x.CreatedAt)
	b = append(b, ",\n  \"expires_at\": "...)
	b = appendStringPtr(b, x.ExpiresAt)
	return append(b, "\n}"...)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString quotes s as encoding/json does. Plain text (printable ASCII without
// quotes, backslashes or the HTML characters json escapes) is copied as is;
// anything else goes through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
