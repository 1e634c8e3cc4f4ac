package fetchsms

import (
	"context"
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
