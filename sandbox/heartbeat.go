package sandbox

import "time"

// HeartbeatInterval is how often the simulated SIM bank sends its heartbeat
// for a server's gateway silence limit: a third of the limit, from 250 ms to a
// minute (a minute when the limit is off, so that its last_seen_at stays
// fresh), so that it is never taken for silent.
func HeartbeatInterval(silence time.Duration) time.Duration {
	if silence <= 0 {
		return time.Minute
	}
	return min(max(silence/3, 250*time.Millisecond), time.Minute)
}
