package storetest

import (
	"context"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// testSupport covers tickets: opening (about one's own purchase only), the thread,
// statuses as staff and customer answer, isolation between customers, and paging.
func testSupport(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 2)
	alice, bob := f.user(t, 1000), f.user(t, 0)
	v, err := f.db.CreateVerification(ctx, alice.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, req := range []fetchsms.TicketRequest{{Body: "x"}, {Subject: "x"}, {Subject: "x", Body: "y", VerificationID: v.ID, RentalID: v.ID}} {
			if _, err := f.db.CreateTicket(ctx, alice.ID, req); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
				t.Errorf("%+v: %v, want invalid", req, err)
			}
		}
	})
	t.Run("AnotherCustomersPurchaseIsNotFound", func(t *testing.T) {
		_, err := f.db.CreateTicket(ctx, bob.ID, fetchsms.TicketRequest{Subject: "s", Body: "b", VerificationID: v.ID})
		if fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("got %v, want not found", err)
		}
	})

	tk, err := f.db.CreateTicket(ctx, alice.ID, fetchsms.TicketRequest{Subject: "  No code  ", Body: "The code never came.", VerificationID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Subject != "No code" || tk.Status != fetchsms.TicketOpen || tk.VerificationID != v.ID || len(tk.Messages) != 1 {
		t.Fatalf("created: %+v", tk)
	}

	t.Run("ThreadAndStatuses", func(t *testing.T) {
		if _, err := f.db.AddTicketMessage(ctx, bob.ID, tk.ID, false, "hijack"); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("another customer's reply: %v, want not found", err)
		}
		if _, err := f.db.Ticket(ctx, bob.ID, tk.ID); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("another customer's read: %v, want not found", err)
		}
		if _, err := f.db.AddTicketMessage(ctx, alice.ID, tk.ID, false, "   "); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Fatalf("empty reply: %v", err)
		}
		f.clock.Advance(time.Minute)
		if _, err := f.db.AddTicketMessage(ctx, "", tk.ID, true, "Refunded, sorry."); err == nil {
			t.Fatal("a staff reply needs an author")
		}
		admin, err := f.db.CreateUser(ctx, "staff-"+tk.ID+"@example.com", "password123", fetchsms.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.AddTicketMessage(ctx, admin.ID, tk.ID, true, "We are looking."); err != nil {
			t.Fatal(err)
		}
		got, err := f.db.Ticket(ctx, alice.ID, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != fetchsms.TicketAnswered || len(got.Messages) != 2 || !got.Messages[1].Staff || got.Messages[0].Staff ||
			got.Messages[1].Body != "We are looking." || !got.UpdatedAt.After(got.CreatedAt) || got.UserEmail != alice.Email {
			t.Fatalf("after staff reply: %+v %+v", got, got.Messages)
		}
		closed, err := f.db.CloseTicket(ctx, tk.ID)
		if err != nil || closed.Status != fetchsms.TicketClosed {
			t.Fatalf("close: %+v %v", closed, err)
		}
		if again, err := f.db.CloseTicket(ctx, tk.ID); err != nil || again.Status != fetchsms.TicketClosed {
			t.Fatalf("close twice: %+v %v", again, err)
		}
		if _, err := f.db.AddTicketMessage(ctx, alice.ID, tk.ID, false, "Still broken."); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.db.Ticket(ctx, "", tk.ID); got.Status != fetchsms.TicketOpen || len(got.Messages) != 3 {
			t.Fatalf("customer reply should reopen: %+v", got)
		}
		if _, err := f.db.CloseTicket(ctx, "00000000-0000-0000-0000-000000000000"); fetchsms.ErrorCode(err) != fetchsms.ENOTFOUND {
			t.Fatalf("close unknown: %v", err)
		}
	})

	t.Run("ListsNewestFirstWithCursor", func(t *testing.T) {
		for _, s := range []string{"b1", "b2", "b3"} {
			if _, err := f.db.CreateTicket(ctx, bob.ID, fetchsms.TicketRequest{Subject: s, Body: "body"}); err != nil {
				t.Fatal(err)
			}
		}
		page1, next, err := f.db.Tickets(ctx, fetchsms.TicketFilter{UserID: bob.ID}, fetchsms.Page{Limit: 2})
		if err != nil || len(page1) != 2 || next == 0 || page1[0].Subject != "b3" || page1[1].Subject != "b2" {
			t.Fatalf("page 1: %v %d %v", subjects(page1), next, err)
		}
		page2, next2, err := f.db.Tickets(ctx, fetchsms.TicketFilter{UserID: bob.ID}, fetchsms.Page{Limit: 2, Cursor: next})
		if err != nil || len(page2) != 1 || next2 != 0 || page2[0].Subject != "b1" {
			t.Fatalf("page 2: %v %d %v", subjects(page2), next2, err)
		}
		all, _, err := f.db.Tickets(ctx, fetchsms.TicketFilter{}, fetchsms.Page{})
		if err != nil || len(all) != 4 {
			t.Fatalf("staff queue: %v %v", subjects(all), err)
		}
		open, _, err := f.db.Tickets(ctx, fetchsms.TicketFilter{Status: fetchsms.TicketOpen, UserID: alice.ID}, fetchsms.Page{})
		if err != nil || len(open) != 1 || open[0].ID != tk.ID {
			t.Fatalf("alice's open tickets: %v %v", subjects(open), err)
		}
	})
}

func subjects(ts []*fetchsms.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Subject+"/"+t.Status)
	}
	return out
}

// testAdminViews covers the stats and the pool list the admin pages show.
func testAdminViews(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 4)
	u := f.user(t, 1000)
	v1, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "m1", To: v1.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	v2, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CancelVerification(ctx, u.ID, v2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "whatsapp"}); err != nil {
		t.Fatal(err)
	}
	stats, err := f.db.ServiceStats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("stats: %+v", stats)
	}
	tg := stats[0]
	if tg.ServiceName != "Telegram" || tg.Purchases != 2 || tg.Received != 1 || tg.Ended != 2 || tg.RevenueCents != 70 ||
		tg.MedianToCode != 30*time.Second || tg.SuccessRate() != 0.5 {
		t.Fatalf("telegram: %+v", tg)
	}
	if wa := stats[1]; wa.Purchases != 1 || wa.Ended != 0 || wa.RevenueCents != 0 || wa.MedianToCode != 0 {
		t.Fatalf("whatsapp: %+v", wa)
	}
	if later, err := f.db.ServiceStats(ctx, f.clock.Now().Add(time.Hour)); err != nil || len(later) != 0 {
		t.Fatalf("window: %+v %v", later, err)
	}

	nums, next, err := f.db.ListNumbers(ctx, fetchsms.Page{Limit: 3})
	if err != nil || len(nums) != 3 || next == 0 {
		t.Fatalf("numbers: %+v %d %v", nums, next, err)
	}
	if nums[0].E164 != f.numbers[3] || nums[0].GatewayName != "bank" || nums[0].Status != "active" {
		t.Fatalf("newest number: %+v", nums[0])
	}
	held := 0
	rest, _, err := f.db.ListNumbers(ctx, fetchsms.Page{Cursor: next})
	if err != nil || len(rest) != 1 {
		t.Fatalf("numbers page 2: %+v %v", rest, err)
	}
	for _, n := range append(nums, rest...) {
		if n.Holder != "" {
			held++
		}
	}
	if held != 1 {
		t.Fatalf("held numbers: %d, want 1 (the waiting WhatsApp verification)", held)
	}
}
