package fetchsms

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Long SMS. A carrier splits a text longer than one SMS into parts that each
// carry a concatenation header (a reference number shared by the parts, the
// part's index and the count). Phones join them; gateway software that
// forwards each part by itself says which part it is (InboundSMS.Part), and the
// rules here join them before detection, so that a code split across parts is
// found and the customer gets the whole text:
//
//   - the parts of one message are those of one gateway, sender, receiving
//     number (or device slot) and reference (PartKey); each part is stored once:
//     a repeat (the same gateway message id, or the same index) changes nothing;
//   - a part for no number of the gateway is kept as unmatched at once, like a
//     whole message (404), and waits for nothing;
//   - when the last part arrives, the parts are joined in index order and the
//     text is stored and routed as one message, in the transaction that stores
//     that part, and the parts are marked with the message's id;
//   - parts still incomplete PartsWait after the first arrived are joined as
//     they are (what arrived, in order) and routed by FlushParts, which the
//     server runs every few seconds: a code usually sits in the first part, and
//     a customer waiting for it is better served by part of the text than by
//     none;
//   - the parts of a message are never deleted: the inbound log shows each
//     joined message with the parts it was made of.
//
// Exactly once: every transaction that adds to or joins the parts of one key
// first takes that key's lock (PartTx.LockParts: a transaction advisory lock
// on PostgreSQL, the single writer on SQLite), so two servers that receive the
// last two parts at once, or a server's flush and another's last part, run one
// after the other and the second sees the first's parts; the join marks only
// parts still waiting, and the joined message's gateway id ("parts:" and the
// group id) is UNIQUE among the gateway's messages besides.

// DefaultPartsWait is how long the parts of a long SMS wait for the rest by
// default: the parts of one message reach the SIM within seconds of each other,
// and a late part within a minute or two; three minutes is past that, and still
// well inside a verification's 15 minutes.
const DefaultPartsWait = 3 * time.Minute

// maxParts is the largest part count a concatenation header can carry (one byte).
const maxParts = 255

// SMSPart says which part of a long SMS a message is.
type SMSPart struct {
	Ref   string // the concatenation reference, as the gateway reports it
	Index int    // 1-based
	Count int    // parts in the whole message
}

// PartKey names the parts of one long SMS.
type PartKey struct {
	GatewayID string
	Sender    string
	To        string // the receiving number, when the gateway names it by number
	DeviceID  string // or the device slot it arrived at
	SimSlot   int
	Ref       string
}

// String is the key as one string, for locks.
func (k PartKey) String() string {
	return strings.Join([]string{k.GatewayID, k.Sender, k.To, k.DeviceID, strconv.Itoa(k.SimSlot), k.Ref}, "\x1f")
}

// StoredPart is one stored part of a long SMS.
type StoredPart struct {
	PartKey
	GroupID      string // shared by the parts of one message
	Index, Count int
	GatewayMsgID string
	Body         string
	ReceivedAt   time.Time
	CreatedAt    time.Time
	MessageID    string // the joined message's id ("parts:…" when it was kept as unmatched); "" while waiting
}

// MessagePart is a part of a joined message, as the inbound log shows it.
type MessagePart struct {
	Index, Count int
	GatewayMsgID string
	Body         string
	ReceivedAt   time.Time
}

// PartTx stores the parts of long SMS.
type PartTx interface {
	// LockParts holds the lock of one message's parts until the transaction
	// ends; the transactions that take it run one at a time.
	LockParts(ctx context.Context, key PartKey) error
	// PartSeen returns the group and the joined message's id (StoredPart's
	// MessageID) of the part a gateway sent under this message id; ErrNoRow
	// when new.
	PartSeen(ctx context.Context, gatewayID, gatewayMsgID string) (groupID, messageID string, err error)
	// WaitingParts returns the parts waiting under key, by index.
	WaitingParts(ctx context.Context, key PartKey) ([]*StoredPart, error)
	// GroupWaitingParts returns the parts of a group still waiting, by index.
	GroupWaitingParts(ctx context.Context, groupID string) ([]*StoredPart, error)
	// InsertPart stores a part (waiting).
	InsertPart(ctx context.Context, p *StoredPart) error
	// JoinParts marks the waiting parts of a group as joined into messageID and
	// returns how many it marked.
	JoinParts(ctx context.Context, groupID, messageID string) (int, error)
}

// PartStore reads the parts of long SMS outside a transaction.
type PartStore interface {
	// PartGroupsDue returns up to limit groups whose first waiting part was
	// stored at or before cutoff, oldest first.
	PartGroupsDue(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
}

// checkPart checks what a gateway says of a part.
func checkPart(p *SMSPart) error {
	switch {
	case p.Ref == "" || len(p.Ref) > 100 || !printable(p.Ref):
		return Errorf(EUNPROCESSABLE, "part.ref (the long SMS's reference) must be 1–100 printable characters")
	case p.Count < 1 || p.Count > maxParts:
		return Errorf(EUNPROCESSABLE, "part.count must be from 1 to %d", maxParts)
	case p.Index < 1 || p.Index > p.Count:
		return Errorf(EUNPROCESSABLE, "part.index must be from 1 to part.count (%d)", p.Count)
	}
	return nil
}

// joinedID is the gateway message id of a joined message.
func joinedID(groupID string) string { return "parts:" + groupID }

// receivePart stores one part of a long SMS in tx and, when it completes its
// message, routes the joined text. It reports a part for no number of the
// gateway as unmatched (kept as such, like a whole message).
func (a *App) receivePart(ctx context.Context, tx Tx, gatewayID string, in InboundSMS, now time.Time) (*InboundResult, bool, error) {
	key := PartKey{GatewayID: gatewayID, Sender: in.From, To: in.To, DeviceID: in.DeviceID, SimSlot: in.SimSlot, Ref: in.Part.Ref}
	if err := tx.LockParts(ctx, key); err != nil {
		return nil, false, err
	}
	groupID, messageID, err := tx.PartSeen(ctx, gatewayID, in.ID)
	if err == nil {
		return a.partAnswer(ctx, tx, gatewayID, groupID, messageID)
	} else if !errors.Is(err, ErrNoRow) {
		return nil, false, err
	}
	if _, _, _, err := inboundNumber(ctx, tx, gatewayID, in); errors.Is(err, ErrNoRow) {
		return nil, true, tx.InsertUnmatched(ctx, &UnmatchedMessage{GatewayID: gatewayID, GatewayMsgID: in.ID, To: in.To, DeviceID: in.DeviceID, SimSlot: in.SimSlot,
			Sender: in.From, Body: in.Body, ReceivedAt: in.ReceivedAt, CreatedAt: now})
	} else if err != nil {
		return nil, false, err
	}
	waiting, err := tx.WaitingParts(ctx, key)
	if err != nil {
		return nil, false, err
	}
	if len(waiting) > 0 && waiting[0].Count != in.Part.Count {
		// The reference was reused by another message (it has only 256 values):
		// the waiting one will not complete; deliver what arrived of it first.
		if _, _, err := a.joinParts(ctx, tx, waiting[0].GroupID, now); err != nil {
			return nil, false, err
		}
		waiting = nil
	}
	groupID = NewID()
	for _, p := range waiting {
		groupID = p.GroupID
		if p.Index == in.Part.Index {
			// This part is already in (sent again under another id).
			return &InboundResult{PartsReceived: len(waiting), PartsCount: p.Count}, false, nil
		}
	}
	if err := tx.InsertPart(ctx, &StoredPart{PartKey: key, GroupID: groupID, Index: in.Part.Index, Count: in.Part.Count,
		GatewayMsgID: in.ID, Body: in.Body, ReceivedAt: in.ReceivedAt, CreatedAt: now}); err != nil {
		return nil, false, err
	}
	if len(waiting)+1 < in.Part.Count {
		return &InboundResult{PartsReceived: len(waiting) + 1, PartsCount: in.Part.Count}, false, nil
	}
	return a.joinParts(ctx, tx, groupID, now)
}

// partAnswer answers a part sent again: its joined message's result (or
// unmatched), or how many of its message's parts are in while it waits.
func (a *App) partAnswer(ctx context.Context, tx Tx, gatewayID, groupID, messageID string) (*InboundResult, bool, error) {
	if messageID == "" {
		waiting, err := tx.GroupWaitingParts(ctx, groupID)
		if err != nil || len(waiting) == 0 {
			return nil, false, err
		}
		return &InboundResult{PartsReceived: len(waiting), PartsCount: waiting[0].Count}, false, nil
	}
	res, err := tx.InboundSeen(ctx, gatewayID, joinedID(groupID))
	if errors.Is(err, ErrNoRow) {
		return nil, true, nil // joined into an unmatched message
	}
	return res, false, err
}

// joinParts joins the waiting parts of a group in index order and routes the
// text as one message, in tx; the parts keep the message's id. A group with no
// waiting part (joined meanwhile) gives a nil result.
func (a *App) joinParts(ctx context.Context, tx Tx, groupID string, now time.Time) (*InboundResult, bool, error) {
	parts, err := tx.GroupWaitingParts(ctx, groupID)
	if err != nil || len(parts) == 0 {
		return nil, false, err
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Index < parts[j].Index })
	first := parts[0]
	var body strings.Builder
	received := first.ReceivedAt
	for _, p := range parts {
		body.WriteString(p.Body)
		if p.ReceivedAt.After(received) {
			received = p.ReceivedAt
		}
	}
	in := InboundSMS{ID: joinedID(groupID), To: first.To, DeviceID: first.DeviceID, SimSlot: first.SimSlot, From: first.Sender,
		Body: body.String(), ReceivedAt: received}
	res, unmatched, err := route(ctx, tx, first.GatewayID, in, a.detect(in.From, in.Body), now)
	if err != nil {
		return nil, false, err
	}
	messageID := joinedID(groupID) // kept as unmatched: no message of ours
	if res != nil {
		messageID = res.MessageID
	}
	n, err := tx.JoinParts(ctx, groupID, messageID)
	if err == nil && n != len(parts) {
		err = Errorf(EINTERNAL, "joining the parts of %s: %d of %d marked", groupID, n, len(parts))
	}
	return res, unmatched, err
}

// FlushParts joins and routes the long SMS whose parts have waited PartsWait or
// longer, each in its own transaction, up to limit of them; it returns how
// many. Two servers may run it at once: each message is joined once.
func (a *App) FlushParts(ctx context.Context, limit int) (int, error) {
	now := a.now()
	groups, err := a.Store.PartGroupsDue(ctx, now.Add(-a.partsWait), limit)
	if err != nil {
		return 0, storageError("FlushParts", err, "")
	}
	n := 0
	for _, g := range groups {
		joined := false
		err := a.update(ctx, "FlushParts", func(tx Tx) error {
			joined = false
			parts, err := tx.GroupWaitingParts(ctx, g)
			if err != nil || len(parts) == 0 {
				return err
			}
			if err := tx.LockParts(ctx, parts[0].PartKey); err != nil {
				return err
			}
			res, unmatched, err := a.joinParts(ctx, tx, g, now)
			joined = res != nil || unmatched
			return err
		})
		if ErrorCode(err) == ECONFLICT {
			continue // joined meanwhile by another server
		}
		if err != nil {
			return n, err
		}
		if joined {
			n++
		}
	}
	if n > 0 {
		a.publish(ctx, StockChanged{}, PurchaseChanged{})
	}
	return n, nil
}
