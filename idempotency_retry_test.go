package fetchsms

import (
	"testing"
	"time"
)

func TestIdempotentRetryAfter(t *testing.T) {
	for _, c := range []struct {
		age, want time.Duration
	}{
		{0, time.Second},
		{4900 * time.Millisecond, time.Second},
		{5 * time.Second, 5 * time.Second},
		{20 * time.Second, 5 * time.Second},
		{26500 * time.Millisecond, 4 * time.Second},
		{29900 * time.Millisecond, time.Second},
	} {
		if got := idempotentRetryAfter(c.age); got != c.want {
			t.Errorf("idempotentRetryAfter(%v) = %v, want %v", c.age, got, c.want)
		}
	}
}
