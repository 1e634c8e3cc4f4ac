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

// settingAdder is a store that adds to an integer setting atomically (PostgreSQL):
// two servers advancing the clock at once then both count.
type settingAdder interface {
	AddSetting(ctx context.Context, key string, delta int64) (int64, error)
}

const clockKey = "sandbox_clock_offset_ms"

// FollowInterval is how often Follow re-reads the offset: the longest another
// server's advance takes to be seen here (plus one read).
const FollowInterval = 50 * time.Millisecond

// Clock is real time plus an offset that only grows. The offset lives in the
// database; Follow keeps this server's copy current with advances made through
// other servers.
type Clock struct {
	store  Settings
	offset atomic.Int64 // milliseconds
}

// NewClock loads the clock's offset from store, or fails with the store's error.
func NewClock(ctx context.Context, store Settings) (*Clock, error) {
	c := &Clock{store: store}
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// refresh reads the stored offset and keeps it when it is ahead of ours (the
// offset only grows, so a read that raced an advance here cannot move us back).
func (c *Clock) refresh(ctx context.Context) error {
	v, err := c.store.Setting(ctx, clockKey)
	if err != nil || v == "" {
		return err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	c.raise(n)
	return nil
}

func (c *Clock) raise(n int64) {
	for {
		cur := c.offset.Load()
		if n <= cur || c.offset.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Follow re-reads the stored offset every FollowInterval until ctx ends, so that
// every server on one database shows the same business time within that interval.
// A failed read is retried at the next tick.
func (c *Clock) Follow(ctx context.Context) {
	t := time.NewTicker(FollowInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			c.refresh(rctx)
			cancel()
		}
	}
}

// Now returns the business time.
func (c *Clock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()) * time.Millisecond)
}

// Advance moves the clock forward by seconds and stores the new offset, or returns
// the store's error.
func (c *Clock) Advance(ctx context.Context, seconds int64) error {
	if a, ok := c.store.(settingAdder); ok {
		n, err := a.AddSetting(ctx, clockKey, seconds*1000)
		if err != nil {
			return err
		}
		c.raise(n)
		return nil
	}
	if err := c.refresh(ctx); err != nil {
		return err
	}
	n := c.offset.Add(seconds * 1000)
	return c.store.SetSetting(ctx, clockKey, strconv.FormatInt(n, 10))
}
