// Package sandbox is the newcomer's mode: a movable test clock, a payment provider
// that completes at once, a simulated SIM bank that answers purchases with realistic
// SMS through the real inbound path, and the seed data.
package sandbox

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"
)

// Settings is where the clock keeps its offset, so a restart (or another server on
// the same database) sees the same time.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

const clockKey = "sandbox_clock_offset_ms"

// Clock is real time plus an offset that only grows.
type Clock struct {
	store  Settings
	offset atomic.Int64 // milliseconds
}

// NewClock loads the clock's offset from store.
func NewClock(ctx context.Context, store Settings) (*Clock, error) {
	c := &Clock{store: store}
	v, err := store.Setting(ctx, clockKey)
	if err != nil {
		return nil, err
	}
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			c.offset.Store(n)
		}
	}
	return c, nil
}

// Now returns the business time.
func (c *Clock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()) * time.Millisecond)
}

// Advance moves the clock forward by seconds and stores the new offset.
func (c *Clock) Advance(ctx context.Context, seconds int64) error {
	n := c.offset.Add(seconds * 1000)
	return c.store.SetSetting(ctx, clockKey, strconv.FormatInt(n, 10))
}
