package btcpay

import (
	"math/big"
	"regexp"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

func TestParseAmount(t *testing.T) {
	for s, want := range map[string]fetchsms.Cents{
		"25.00": 2500, "25": 2500, "25.5": 2550, "25.05": 2505, "0.01": 1, "0": 0, "0.00": 0, "10000.00": 1_000_000,
		"25.000": 2500, "25.0500000": 2505, "007.10": 710, "999999999999999.99": 99_999_999_999_999_999,
	} {
		if got, err := parseAmount(s); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", ".", "25.", ".50", "25.001", "25.009", "0.001", "-25.00", "+25.00", "25,00", "1,000.00", "2.5e1", "1e3", " 25.00", "25.00 ",
		"25.0.0", "0x19", "NaN", "Infinity", "２５.００", "25..00", "1000000000000000.00", "$25.00", "25 USD",
	} {
		if got, err := parseAmount(s); err == nil {
			t.Errorf("parseAmount(%q) = %d, want an error", s, got)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for c, want := range map[fetchsms.Cents]string{1: "0.01", 100: "1.00", 2505: "25.05", 1_000_000: "10000.00"} {
		if got := formatAmount(c); got != want {
			t.Errorf("formatAmount(%d) = %q, want %q", c, got, want)
		}
		if back, err := parseAmount(want); err != nil || back != c {
			t.Errorf("parseAmount(formatAmount(%d)) = %d, %v", c, back, err)
		}
	}
}

var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// FuzzParseAmount: an amount parses exactly when it is a plain decimal of at
// most 15 digits of dollars and a whole number of cents, and then to its exact
// value (math/big as the oracle).
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"25.00", "0.01", "25", "25.5", "25.001", "25.000", "-1", "1e3", "", ".5", "5.", "999999999999999.99", "1000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseAmount(s)
		var r big.Rat
		_, isNumber := r.SetString(s)
		exact := new(big.Rat).Mul(&r, big.NewRat(100, 1))
		valid := plainDecimal.MatchString(s) && isNumber && exact.IsInt() && exact.Num().Cmp(big.NewInt(1e17)) < 0
		if valid != (err == nil) {
			t.Fatalf("parseAmount(%q) = %d, %v; a valid amount: %v", s, got, err, valid)
		}
		if err == nil {
			if exact.Num().Int64() != int64(got) {
				t.Fatalf("parseAmount(%q) = %d, want %s", s, got, exact.Num())
			}
			if back, err := parseAmount(formatAmount(got)); err != nil || back != got {
				t.Fatalf("parseAmount(formatAmount(%d)) = %d, %v", got, back, err)
			}
		}
	})
}
