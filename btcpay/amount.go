package btcpay

import (
	"fmt"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
)

// formatAmount writes cents as Greenfield's decimal string: 2500 → "25.00".
func formatAmount(c fetchsms.Cents) string {
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

// maxWholeDigits bounds the dollars of an amount: 15 digits of dollars are
// still exact as int64 cents.
const maxWholeDigits = 15

// parseAmount reads Greenfield's decimal string ("25.00", "25", "25.5") as exact
// cents. Digits beyond the cent are refused unless they are zeros (a decimal
// may carry its scale: "25.000" is 2500); so is anything else: a sign, an
// exponent, spaces, an empty part, a thousands separator.
func parseAmount(s string) (fetchsms.Cents, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("amount %q is not a decimal number of dollars", clip(s))
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > maxWholeDigits {
		return 0, fmt.Errorf("amount %q is too large", clip(s))
	}
	if len(frac) > 2 {
		if strings.TrimRight(frac[2:], "0") != "" {
			return 0, fmt.Errorf("amount %q has a fraction of a cent", clip(s))
		}
		frac = frac[:2]
	}
	frac += "00"[len(frac):]
	var c fetchsms.Cents
	for _, d := range whole + frac {
		c = c*10 + fetchsms.Cents(d-'0')
	}
	return c, nil
}

// digits reports whether s is only ASCII digits ("" is).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens what an error quotes of a value.
func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
