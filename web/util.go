package web

import (
	"strings"

	"github.com/google/uuid"
)

// normalizeNumber accepts "+13325550184" or the displayed "(332) 555-0184" and
// returns E.164 when it can.
func normalizeNumber(s string) string {
	if strings.HasPrefix(s, "+") {
		return s
	}
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 10 {
		return "+1" + string(d)
	}
	if len(d) == 11 && d[0] == '1' {
		return "+" + string(d)
	}
	return s
}

func newMsgID() string { return uuid.NewString() }
