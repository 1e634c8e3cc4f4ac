package fetchsms

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Several servers on one database: a change announced on one (PurchaseChanged)
// must wake the waiters on every other. A store shared by several servers
// (PostgreSQL) is a Broadcaster: the App passes each of its own PurchaseChanged
// on, and RunBroadcasts announces the others' here, marked Remote. Broadcasts
// may be lost (a dropped connection, a full queue): waiters on a shared store
// re-read what they wait for periodically, so a lost one only delays them.

// Broadcaster carries short messages between the servers sharing a store.
type Broadcaster interface {
	// Broadcast sends msg to every server's Broadcasts, this one's included.
	// It never blocks: under overload a message may be dropped.
	Broadcast(msg string)
	// Broadcasts delivers the messages sent by any server, and "" when some
	// may have been lost.
	Broadcasts() <-chan string
}

// Shared reports whether several servers may share the store (it is a
// Broadcaster): waiters then re-read periodically.
func (a *App) Shared() bool {
	_, ok := a.Store.(Broadcaster)
	return ok
}

// broadcast passes this server's PurchaseChanged to the others.
func (a *App) broadcast(c PurchaseChanged) {
	if b, ok := a.Store.(Broadcaster); ok && !c.Remote {
		b.Broadcast(EncodeChange(a.instance, c))
	}
}

// RunBroadcasts announces, until ctx ends, the PurchaseChanged of the other
// servers sharing the store (none when it is not a Broadcaster).
func (a *App) RunBroadcasts(ctx context.Context) {
	b, ok := a.Store.(Broadcaster)
	if !ok {
		return
	}
	ch := b.Broadcasts()
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-ch:
			if msg == "" { // some may have been lost: every waiter re-reads
				a.publish(ctx, PurchaseChanged{Remote: true})
				continue
			}
			if from, used, ok := DecodeUsage(msg); ok {
				if fn := a.usage.Load(); fn != nil && from != a.instance {
					(*fn)(from, used)
				}
				continue
			}
			from, c, ok := DecodeChange(msg)
			if ok && from != a.instance {
				c.Remote = true
				a.publish(ctx, c)
			}
		}
	}
}

// EncodeChange is a PurchaseChanged as broadcast by server instance from:
// "from|verification|rental|user".
func EncodeChange(from string, c PurchaseChanged) string {
	return from + "|" + c.VerificationID + "|" + c.RentalID + "|" + c.UserID
}

// DecodeChange reads what EncodeChange wrote; ok is false for anything else.
func DecodeChange(msg string) (from string, c PurchaseChanged, ok bool) {
	parts := strings.Split(msg, "|")
	if len(parts) != 4 || parts[0] == "" {
		return "", PurchaseChanged{}, false
	}
	return parts[0], PurchaseChanged{VerificationID: parts[1], RentalID: parts[2], UserID: parts[3]}, true
}

// The servers sharing a store share each API key's rate limit: every server
// reports what its clients took of each key since its last report (ShareUsage),
// and each of the others takes as much from its own bucket for that key
// (OnUsage). A key's requests then count the same on every server, however
// the balancer spreads them, within one report's delay.

// ShareUsage sends this server's usage, the tokens taken per key since its last
// report, to the other servers sharing the store (none when it is not shared);
// an empty report says the server is there. It never blocks; a report lost
// under overload only lets the key's next requests through on the others.
func (a *App) ShareUsage(used map[string]int) {
	b, ok := a.Store.(Broadcaster)
	if !ok {
		return
	}
	for _, msg := range EncodeUsage(a.instance, a.usageSeq.Add(1), used) {
		b.Broadcast(msg)
	}
}

// OnUsage sets what RunBroadcasts does with another server's usage (from is
// that server).
func (a *App) OnUsage(fn func(from string, used map[string]int)) { a.usage.Store(&fn) }

// usageMax bounds one usage message (PostgreSQL's NOTIFY takes under 8000 bytes).
const usageMax = 7000

// EncodeUsage is used as broadcast by server instance from, in messages of
// "u|from|seq.part|key=n,key=n…" under usageMax bytes each. The seq makes every
// message unique (PostgreSQL folds identical notifications of one transaction).
func EncodeUsage(from string, seq uint64, used map[string]int) []string {
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	// Each part of one report is "seq.part": unique among the server's messages.
	head := func() string { return fmt.Sprintf("u|%s|%d.%d|", from, seq, len(out)) }
	msg := head()
	items := 0
	for _, k := range keys {
		if used[k] <= 0 || k == "" || strings.ContainsAny(k, "|,=") {
			continue
		}
		item := k + "=" + strconv.Itoa(used[k])
		if items > 0 && len(msg)+1+len(item) > usageMax {
			out = append(out, msg)
			msg, items = head(), 0
		}
		if items > 0 {
			msg += ","
		}
		msg += item
		items++
	}
	return append(out, msg) // with no item: the server says it is there
}

// DecodeUsage reads what EncodeUsage wrote; ok is false for anything else.
func DecodeUsage(msg string) (from string, used map[string]int, ok bool) {
	rest, ok := strings.CutPrefix(msg, "u|")
	if !ok {
		return "", nil, false
	}
	parts := strings.SplitN(rest, "|", 3)
	if len(parts) != 3 || parts[0] == "" {
		return "", nil, false
	}
	used = map[string]int{}
	if parts[2] == "" {
		return parts[0], used, true
	}
	for item := range strings.SplitSeq(parts[2], ",") {
		k, v, found := strings.Cut(item, "=")
		n, err := strconv.Atoi(v)
		if !found || k == "" || err != nil || n <= 0 {
			return "", nil, false
		}
		used[k] += n
	}
	return parts[0], used, true
}
