package main

import (
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentPurchases races 40 purchases against a balance that covers exactly
// 10: the wallet must never go negative, no number may be sold twice, and the
// ledger must still add up.
func TestConcurrentPurchases(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testConcurrentPurchases)
}

func testConcurrentPurchases(t *testing.T, engine string) {
	s := startServerOn(t, engine, "--sandbox", "--simulator=false")
	sess, userID := s.signup(t)
	s.fund(t, userID, 700)

	const buyers = 40
	type result struct {
		status int
		body   []byte
	}
	results := make([]result, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, hdr, raw, err := s.send(http.MethodPost, "/v1/verifications", sess, map[string]any{"service": 4})
			if err != nil {
				t.Errorf("purchase %d: %v", i, err)
				return
			}
			if status >= 400 {
				assertErrorBody(t, "concurrent purchase", hdr, raw)
			}
			results[i] = result{status, raw}
		}()
	}
	close(start)
	wg.Wait()

	created, refused := 0, 0
	numbers := map[string]bool{}
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			created++
			v := decode[map[string]any](t, r.body)
			n := str(t, v["number"])
			if numbers[n] {
				t.Errorf("number %s sold twice", n)
			}
			numbers[n] = true
		case http.StatusPaymentRequired:
			refused++
		default:
			t.Errorf("unexpected answer %d: %s", r.status, r.body)
		}
	}
	if created != 10 || refused != 30 {
		t.Errorf("%d created and %d refused with 402, want 10 and 30", created, refused)
	}
	if len(numbers) != created {
		t.Errorf("%d distinct numbers for %d purchases", len(numbers), created)
	}
	if b := s.balance(t, sess); b != 0 {
		t.Errorf("balance %d, want 0", b)
	}
	if l := s.list(t, "/v1/verifications?tab=active&limit=200", sess); len(l) != created {
		t.Errorf("%d active verifications, want %d", len(l), created)
	}
	ledger := s.ledger(t, sess)
	if len(ledger) != 11 {
		t.Errorf("ledger has %d entries, want 1 adjustment + 10 purchases", len(ledger))
	}
	assertLedgerConsistent(t, ledger, 0)
	checkInvariants(t, s.DBPath)

	t.Run("ConcurrentCancelsRefundOnce", func(t *testing.T) {
		active := s.list(t, "/v1/verifications?tab=active&limit=200", sess)
		if len(active) == 0 {
			t.Skip("no purchases to cancel")
		}
		id := str(t, active[0]["id"])
		var wg sync.WaitGroup
		statuses := make([]int, 10)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				statuses[i], _, _, err = s.send(http.MethodPost, "/v1/verifications/"+id+"/cancel", sess, nil)
				if err != nil {
					t.Errorf("cancel %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
			default:
				t.Errorf("cancel answered %d", st)
			}
		}
		if ok != 1 {
			t.Errorf("%d cancels succeeded, want exactly 1", ok)
		}
		if b := s.balance(t, sess); b != 70 {
			t.Errorf("balance %d after racing cancels, want 70 (one refund)", b)
		}
		checkInvariants(t, s.DBPath)
	})
}
