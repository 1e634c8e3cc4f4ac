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
		wantError(t, "another's verification", err, fetchsms.ENOTFOUND, "verification not found")
		_, err = f.db.CreateTicket(ctx, bob.ID, fetchsms.TicketRequest{Subject: "s", Body: "b", RentalID: "00000000-0000-0000-0000-000000000000"})
		wantError(t, "unknown rental", err, fetchsms.ENOTFOUND, "rental not found")
		if list, _, err := f.db.Tickets(ctx, fetchsms.TicketFilter{UserID: bob.ID}, fetchsms.Page{}); err != nil || len(list) != 0 {
			t.Fatalf("refused tickets stored: %v %v", subjects(list), err)
		}
	})

	tk, err := f.db.CreateTicket(ctx, alice.ID, fetchsms.TicketRequest{Subject: "  No code  ", Body: "The code never came.", VerificationID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Subject != "No code" || tk.Status != fetchsms.TicketOpen || tk.VerificationID != v.ID || len(tk.Messages) != 1 || tk.UserEmail != alice.Email {
		t.Fatalf("created: %+v", tk)
	}
	if got, err := f.db.Ticket(ctx, alice.ID, tk.ID); err != nil || got.Subject != tk.Subject || !got.CreatedAt.Equal(tk.CreatedAt) ||
		len(got.Messages) != 1 || got.Messages[0].ID != tk.Messages[0].ID || got.Messages[0].Body != "The code never came." || got.Messages[0].Staff {
		t.Fatalf("read back: %+v %v", got, err)
	}

	t.Run("ThreadAndStatuses", func(t *testing.T) {
		_, err := f.db.AddTicketMessage(ctx, bob.ID, tk.ID, false, "hijack")
		wantError(t, "another customer's reply", err, fetchsms.ENOTFOUND, "ticket not found")
		_, err = f.db.Ticket(ctx, bob.ID, tk.ID)
		wantError(t, "another customer's read", err, fetchsms.ENOTFOUND, "ticket not found")
		_, err = f.db.AddTicketMessage(ctx, alice.ID, "00000000-0000-0000-0000-000000000000", false, "hello?")
		wantError(t, "reply to no ticket", err, fetchsms.ENOTFOUND, "ticket not found")
		if got, _ := f.db.Ticket(ctx, "", tk.ID); got.Status != fetchsms.TicketOpen || len(got.Messages) != 1 {
			t.Fatalf("refused replies changed the ticket: %+v", got)
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
		f.clock.Advance(time.Minute)
		if again, err := f.db.CloseTicket(ctx, tk.ID); err != nil || again.Status != fetchsms.TicketClosed || !again.UpdatedAt.Equal(closed.UpdatedAt) {
			t.Fatalf("close twice: %+v %v (first %v)", again, err, closed.UpdatedAt)
		}
		if _, err := f.db.AddTicketMessage(ctx, alice.ID, tk.ID, false, "Still broken."); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.db.Ticket(ctx, "", tk.ID); got.Status != fetchsms.TicketOpen || len(got.Messages) != 3 {
			t.Fatalf("customer reply should reopen: %+v", got)
		}
		_, err = f.db.CloseTicket(ctx, "00000000-0000-0000-0000-000000000000")
		wantError(t, "close unknown", err, fetchsms.ENOTFOUND, "ticket not found")
		// A staff reply answers a reopened ticket again.
		if _, err := f.db.AddTicketMessage(ctx, admin.ID, tk.ID, true, "Refunded."); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.db.Ticket(ctx, alice.ID, tk.ID); got.Status != fetchsms.TicketAnswered || len(got.Messages) != 4 || !got.UpdatedAt.Equal(f.clock.Now()) {
			t.Fatalf("staff reply to a reopened ticket: %+v", got)
		}
		if _, err := f.db.AddTicketMessage(ctx, alice.ID, tk.ID, false, "Thanks."); err != nil {
			t.Fatal(err)
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
	t.Run("RentalSales", func(t *testing.T) { t.Parallel(); testRentalSales(t, open) })
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

// testRentalSales: rentals count as purchases of their service and earn their
// price unless refunded.
func testRentalSales(t *testing.T, open Opener) {
	ctx := context.Background()
	f := setup(t, open, 3)
	u := f.user(t, 5000)
	kept, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 7})
	if err != nil {
		t.Fatal(err)
	}
	refunded, err := f.db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CancelRental(ctx, u.ID, refunded.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ReceiveSMS(ctx, f.gateway.ID, fetchsms.InboundSMS{ID: "r1", To: kept.Number, From: "Telegram", Body: "Telegram code: 482910"}); err != nil {
		t.Fatal(err)
	}
	stats, err := f.db.ServiceStats(ctx, time.Time{})
	if err != nil || len(stats) != 1 {
		t.Fatalf("stats: %+v %v", stats, err)
	}
	if s := stats[0]; s.ServiceID != kept.ServiceID || s.ServiceName != "Unlimited Services" || s.Purchases != 2 || s.RevenueCents != kept.CostCents ||
		s.Received != 0 || s.Ended != 0 || s.MedianToCode != 0 {
		t.Fatalf("rentals: %+v (kept %d cents)", s, kept.CostCents)
	}
}
