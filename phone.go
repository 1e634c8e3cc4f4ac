package fetchsms

import "strings"

// ParseE164 validates a US number in E.164 form (+1NXXNXXXXXX) and returns it
// unchanged; anything else is EUNPROCESSABLE.
func ParseE164(s string) (string, error) {
	if len(s) != 12 || !strings.HasPrefix(s, "+1") {
		return "", Errorf(EUNPROCESSABLE, "%q is not a US number in E.164 form (+1NXXNXXXXXX)", s)
	}
	for i := 2; i < 12; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", Errorf(EUNPROCESSABLE, "%q is not a US number in E.164 form (+1NXXNXXXXXX)", s)
		}
	}
	if s[2] < '2' || s[5] < '2' {
		return "", Errorf(EUNPROCESSABLE, "%q is not a valid US number: area code and exchange cannot start with 0 or 1", s)
	}
	return s, nil
}

// AreaCodeOf returns the 3-digit area code of a valid E.164 US number.
func AreaCodeOf(e164 string) string { return e164[2:5] }

// FormatUS renders a valid E.164 US number as "(332) 555-0184".
func FormatUS(e164 string) string {
	if len(e164) != 12 {
		return e164
	}
	return "(" + e164[2:5] + ") " + e164[5:8] + "-" + e164[8:]
}

// ValidAreaCode reports whether s is a 3-digit US area code (NXX).
func ValidAreaCode(s string) bool {
	return len(s) == 3 && s[0] >= '2' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}
