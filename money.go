package fetchsms

// Cents is an amount of US money in integer cents. Money is never a float.
type Cents int64

// roundDiv returns a/b rounded half away from zero, for b > 0.
func roundDiv(a, b int64) int64 {
	if a >= 0 {
		return (2*a + b) / (2 * b)
	}
	return -((-2*a + b) / (2 * b))
}
