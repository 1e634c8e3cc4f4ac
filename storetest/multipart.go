package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testMultipart: the parts of a long SMS are joined in index order before
// detection, whatever order they arrive in; each part is stored once; the
// joined text is routed once, also when two servers receive the last parts at
// once or flush while they arrive; parts that stop arriving are delivered as
// they are after the time limit; every part stays in the inbound log beside the
// message it made.
func testMultipart(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 3)
	app := f.db
	gw := f.gateway.ID
	part := func(id, to, from, body, ref string, index, count int) fetchsms.InboundSMS {
		return fetchsms.InboundSMS{ID: id, To: to, From: from, Body: body, Part: &fetchsms.SMSPart{Ref: ref, Index: index, Count: count}}
	}
	receive := func(t *testing.T, in fetchsms.InboundSMS) *fetchsms.InboundResult {
		t.Helper()
		res, err := app.ReceiveSMS(ctx, gw, in)
		if err != nil {
			t.Fatalf("receive %s: %v", in.ID, err)
		}
		return res
	}
	// joined returns the joined messages of the inbound log (newest first).
	joined := func(t *testing.T) []*fetchsms.InboundLogEntry {
		t.Helper()
		var out []*fetchsms.InboundLogEntry
		p := fetchsms.Page{Limit: 200}
		for {
			list, next, err := app.ListInboundMessages(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list {
				if strings.HasPrefix(e.GatewayMsgID, "parts:") {
					out = append(out, e)
				}
			}
			if next == 0 {
				return out
			}
			p.Cursor = next
		}
	}

	u := f.user(t, 10_000)
	v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OutOfOrderJoinedBeforeDetection", func(t *testing.T) {
		// The code is split across the parts: neither finds it alone.
		res := receive(t, part("p2", v.Number, "Telegram", "2913. Do not give it to anyone.", "7", 2, 2))
		if res.MessageID != "" || res.PartsReceived != 1 || res.PartsCount != 2 {
			t.Fatalf("the first part to arrive: %+v, want waiting 1 of 2", res)
		}
		if got, _ := app.Verification(ctx, u.ID, v.ID); got.Status != fetchsms.StatusWaiting {
			t.Fatalf("a lone part moved the verification: %+v", got)
		}
		again := receive(t, part("p2", v.Number, "Telegram", "2913. Do not give it to anyone.", "7", 2, 2))
		if again.PartsReceived != 1 || again.MessageID != "" {
			t.Fatalf("a repeated part: %+v", again)
		}
		if other := receive(t, part("p2-resent", v.Number, "Telegram", "2913. Do not give it to anyone.", "7", 2, 2)); other.PartsReceived != 1 {
			t.Fatalf("the same part under another id: %+v", other)
		}
		res = receive(t, part("p1", v.Number, "Telegram", "Telegram code: 48", "7", 1, 2))
		if res.MessageID == "" || res.VerificationID != v.ID {
			t.Fatalf("the last part: %+v, want the joined message routed to %s", res, v.ID)
		}
		if got, _ := app.Verification(ctx, u.ID, v.ID); got.Code != "482913" || got.Status != fetchsms.StatusReceived {
			t.Fatalf("verification after the joined message: %+v", got)
		}
		js := joined(t)
		if len(js) != 1 {
			t.Fatalf("%d joined messages, want 1", len(js))
		}
		j := js[0]
		if j.ID != res.MessageID || j.Body != "Telegram code: 482913. Do not give it to anyone." || j.Code != "482913" || j.VerificationID != v.ID {
			t.Fatalf("joined message in the log: %+v", j)
		}
		if len(j.Parts) != 2 || j.Parts[0].Index != 1 || j.Parts[0].GatewayMsgID != "p1" || j.Parts[1].GatewayMsgID != "p2" ||
			j.Parts[1].Body != "2913. Do not give it to anyone." || j.Parts[1].Count != 2 {
			t.Fatalf("the parts beside the joined message: %+v", j.Parts)
		}
		// A part sent again after the join answers as the joined message did.
		for _, id := range []string{"p1", "p2"} {
			if again := receive(t, part(id, v.Number, "Telegram", "x", "7", 1, 2)); again.MessageID != res.MessageID || again.VerificationID != v.ID {
				t.Fatalf("part %s sent again after the join: %+v", id, again)
			}
		}
		if n := len(joined(t)); n != 1 {
			t.Fatalf("repeats made %d joined messages", n)
		}
	})

	t.Run("BadPartsRefused", func(t *testing.T) {
		for _, p := range []fetchsms.SMSPart{{Ref: "", Index: 1, Count: 2}, {Ref: "1", Index: 0, Count: 2}, {Ref: "1", Index: 3, Count: 2},
			{Ref: "1", Index: 1, Count: 256}, {Ref: "a\nb", Index: 1, Count: 2}} {
			p := p
			if _, err := app.ReceiveSMS(ctx, gw, fetchsms.InboundSMS{ID: "bad", To: f.numbers[1], From: "x", Body: "y", Part: &p}); fetchsms.ErrorCode(err) != fetchsms.EUNPROCESSABLE {
				t.Errorf("part %+v: %v, want EUNPROCESSABLE", p, err)
			}
		}
		// One part of one is a whole message.
		res := receive(t, part("whole", f.numbers[1], "Someone", "just one", "9", 1, 1))
		if res.MessageID == "" || res.PartsCount != 0 {
			t.Fatalf("a part 1 of 1: %+v, want a message", res)
		}
	})

	t.Run("UnmatchedPartKeptAtOnce", func(t *testing.T) {
		_, err := app.ReceiveSMS(ctx, gw, part("nowhere-1", "+19995550123", "Telegram", "Telegram code: 11", "3", 1, 2))
		if fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("a part for no number of the gateway: %v, want ENOTFOUND", err)
		}
		un, _, err := app.ListUnmatchedMessages(ctx, fetchsms.Page{})
		if err != nil || len(un) == 0 || un[0].GatewayMsgID != "nowhere-1" || un[0].Body != "Telegram code: 11" {
			t.Fatalf("unmatched: %+v %v", un, err)
		}
	})

	r, err := app.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 7})
	if err != nil {
		t.Fatal(err)
	}
	messages := func(t *testing.T) []*fetchsms.Message {
		t.Helper()
		ms, _, err := app.RentalMessages(ctx, u.ID, r.ID, fetchsms.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}

	t.Run("TimeLimitDeliversWhatArrived", func(t *testing.T) {
		receive(t, part("t3", r.Number, "Bank", " three", "40", 3, 3))
		receive(t, part("t1", r.Number, "Bank", "one", "40", 1, 3))
		f.clock.Advance(fetchsms.DefaultPartsWait - time.Second)
		if n, err := app.FlushParts(ctx, 100); err != nil || n != 0 {
			t.Fatalf("flush before the time limit: %d %v", n, err)
		}
		if len(messages(t)) != 0 {
			t.Fatal("parts were delivered before the time limit")
		}
		f.clock.Advance(time.Second)
		if n, err := app.FlushParts(ctx, 100); err != nil || n != 1 {
			t.Fatalf("flush at the time limit: %d %v", n, err)
		}
		ms := messages(t)
		if len(ms) != 1 || ms[0].Body != "one three" {
			t.Fatalf("rental messages after the flush: %+v", ms)
		}
		if n, err := app.FlushParts(ctx, 100); err != nil || n != 0 {
			t.Fatalf("a second flush: %d %v", n, err)
		}
		// The missing part, late: it waits on its own, then goes alone.
		if res := receive(t, part("t2", r.Number, "Bank", " two", "40", 2, 3)); res.PartsReceived != 1 {
			t.Fatalf("a part after its message was delivered: %+v", res)
		}
		f.clock.Advance(fetchsms.DefaultPartsWait)
		if n, err := app.FlushParts(ctx, 100); err != nil || n != 1 {
			t.Fatalf("flush of the late part: %d %v", n, err)
		}
		if ms := messages(t); len(ms) != 2 || ms[0].Body != " two" {
			t.Fatalf("rental messages after the late part: %+v", ms)
		}
	})

	t.Run("ReusedReferenceDeliversTheOldParts", func(t *testing.T) {
		before := len(messages(t))
		receive(t, part("ru1", r.Number, "Shop", "old half", "55", 1, 2))
		// Another message under the same reference, with another count.
		receive(t, part("ru2", r.Number, "Shop", "new 1/3", "55", 1, 3))
		ms := messages(t)
		if len(ms) != before+1 || ms[0].Body != "old half" {
			t.Fatalf("after the reference was reused: %+v", ms[:len(ms)-before])
		}
	})

	t.Run("DeviceSlots", func(t *testing.T) {
		if _, _, err := app.ImportNumbers(ctx, gw, []fetchsms.NumberImport{{E164: "+13325559901", DeviceID: "4", SimSlot: 2}}); err != nil {
			t.Fatal(err)
		}
		in := func(id, body string, index int) fetchsms.InboundSMS {
			return fetchsms.InboundSMS{ID: id, DeviceID: "4", SimSlot: 2, From: "Acme", Body: body, Part: &fetchsms.SMSPart{Ref: "12", Index: index, Count: 2}}
		}
		receive(t, in("d2", "world", 2))
		res := receive(t, in("d1", "hello ", 1))
		if res.MessageID == "" {
			t.Fatalf("parts in a device slot: %+v", res)
		}
		js := joined(t)
		if js[0].ID != res.MessageID || js[0].Body != "hello world" || js[0].To != "+13325559901" {
			t.Fatalf("joined in a device slot: %+v", js[0])
		}
		// The same reference from another slot is another message.
		other := in("d3", "x", 1)
		other.SimSlot = 3
		if _, err := app.ReceiveSMS(ctx, gw, other); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("a part into an empty slot: %v", err)
		}
	})

	t.Run("TwoServersLastPartsAtOnce", func(t *testing.T) {
		// A second App on the same store is a second server on the database.
		app2, err := fetchsms.New(ctx, f.store, fetchsms.Options{Clock: f.clock, WallClock: f.wall})
		if err != nil {
			t.Fatal(err)
		}
		apps := []*fetchsms.App{app, app2}
		before := len(messages(t))
		const rounds = 12
		for i := range rounds {
			ref := fmt.Sprintf("c%d", i)
			receive(t, part(ref+"-1", r.Number, "Race", fmt.Sprintf("[%d:1]", i), ref, 1, 3))
			var wg sync.WaitGroup
			results := make([]*fetchsms.InboundResult, 2)
			for j := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := apps[j].ReceiveSMS(ctx, gw, part(fmt.Sprintf("%s-%d", ref, j+2), r.Number, "Race", fmt.Sprintf("[%d:%d]", i, j+2), ref, j+2, 3))
					if err != nil {
						t.Errorf("round %d part %d: %v", i, j+2, err)
					}
					results[j] = res
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			done := 0
			for _, res := range results {
				if res.MessageID != "" {
					done++
				} else if res.PartsReceived != 2 {
					t.Errorf("round %d: the part that did not complete says %+v, want 2 of 3", i, res)
				}
			}
			if done != 1 {
				t.Fatalf("round %d: %d answers carry the joined message, want exactly 1: %+v %+v", i, done, results[0], results[1])
			}
		}
		ms := messages(t)
		if len(ms) != before+rounds {
			t.Fatalf("%d rounds made %d messages", rounds, len(ms)-before)
		}
		for i, m := range ms[:rounds] {
			k := rounds - 1 - i
			if want := fmt.Sprintf("[%d:1][%d:2][%d:3]", k, k, k); m.Body != want {
				t.Errorf("message %d = %q, want %q", i, m.Body, want)
			}
		}

		// Flushes on both servers while the last parts arrive: each message
		// is delivered once, every part is in at most one message.
		for i := range rounds {
			ref := fmt.Sprintf("f%d", i)
			receive(t, part(ref+"-1", r.Number, "Flush", "a", ref, 1, 2))
		}
		f.clock.Advance(fetchsms.DefaultPartsWait)
		var wg sync.WaitGroup
		for _, a := range apps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := a.FlushParts(ctx, 100); err != nil {
					t.Errorf("flush: %v", err)
				}
			}()
		}
		for i := range rounds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ref := fmt.Sprintf("f%d", i)
				if _, err := apps[i%2].ReceiveSMS(ctx, gw, part(ref+"-2", r.Number, "Flush", "b", ref, 2, 2)); err != nil {
					t.Errorf("last part of %s: %v", ref, err)
				}
			}()
		}
		wg.Wait()
		f.clock.Advance(fetchsms.DefaultPartsWait)
		if _, err := app2.FlushParts(ctx, 100); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, j := range joined(t) {
			for _, p := range j.Parts {
				seen[p.GatewayMsgID]++
			}
		}
		for i := range rounds {
			for _, id := range []string{fmt.Sprintf("f%d-1", i), fmt.Sprintf("f%d-2", i)} {
				if seen[id] != 1 {
					t.Errorf("part %s is in %d joined messages, want 1", id, seen[id])
				}
			}
		}
	})
}
