package btcpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/btcpay/btcpaytest"
)

const (
	apiKey  = "btcpay-test-api-key-0123456789"
	storeID = "StoreTest123"
	secret  = "webhook-test-secret"
)

func newProvider(t *testing.T) (*Provider, *btcpaytest.Server) {
	t.Helper()
	api := btcpaytest.New(t, apiKey, storeID)
	return New(api.URL+"/", apiKey, storeID, secret), api
}

// begin starts a deposit of amount on p and returns its invoice id.
func begin(t *testing.T, p *Provider, id string, amount fetchsms.Cents) string {
	t.Helper()
	ref, _, _, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: id, AmountCents: amount, ReturnURL: "https://fetchsms.example/dashboard/wallet"})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestBeginCreatesAnInvoice(t *testing.T) {
	p, api := newProvider(t)
	for i, c := range []struct {
		amount    fetchsms.Cents
		returnURL string
		want      string
		redirect  string
	}{
		{2500, "https://fetchsms.example/dashboard/wallet", "25.00", "https://fetchsms.example/dashboard/wallet?deposit=dep-0"},
		{1, "https://fetchsms.example/w?tab=funds", "0.01", "https://fetchsms.example/w?tab=funds&deposit=dep-1"},
		{2505, "http://127.0.0.1:8080/dashboard/wallet", "25.05", "http://127.0.0.1:8080/dashboard/wallet?deposit=dep-2"},
		{1_000_000, "https://fetchsms.example/dashboard/wallet", "10000.00", "https://fetchsms.example/dashboard/wallet?deposit=dep-3"},
	} {
		id := "dep-" + string(rune('0'+i))
		ref, link, completed, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: id, AmountCents: c.amount, ReturnURL: c.returnURL})
		inv := api.Invoices()[i]
		if err != nil || completed || ref != inv.ID || link != api.URL+"/i/"+inv.ID {
			t.Fatalf("Begin: %q %q %v %v", ref, link, completed, err)
		}
		if inv.Amount != c.want || inv.Currency != "USD" || inv.Metadata["orderId"] != id || inv.RedirectURL != c.redirect ||
			!inv.RedirectAutomatically || inv.Checkout["paymentTolerance"] != 0.0 {
			t.Errorf("invoice asked for: %+v", inv)
		}
	}
}

func TestBeginRequest(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.Write([]byte(`{"id": "Inv1", "checkoutLink": "https://btcpay.example/i/Inv1", "status": "New"}`))
	}))
	defer srv.Close()
	p := New(srv.URL, apiKey, "St/ore", secret)
	if _, _, _, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: "dep-1", AmountCents: 2500, ReturnURL: "https://x.example/w"}); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.URL.EscapedPath() != "/api/v1/stores/St%2Fore/invoices" ||
		got.Header.Get("Authorization") != "token "+apiKey || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request: %s %s %v", got.Method, got.URL.EscapedPath(), got.Header)
	}
	// The amount is a JSON string of dollars and cents, never a float.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || string(m["amount"]) != `"25.00"` || string(m["currency"]) != `"USD"` {
		t.Errorf("body: %s", body)
	}
}

func TestBeginFailuresAreUpstream(t *testing.T) {
	status, answer := http.StatusInternalServerError, `{"code": "oops", "message": "boom"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A redirect leads to a good answer: following it would be wrong.
		if strings.HasPrefix(r.URL.Path, "/moved/") {
			w.Write([]byte(`{"id": "Inv1", "checkoutLink": "https://btcpay.example/i/Inv1"}`))
			return
		}
		if status == http.StatusMovedPermanently {
			http.Redirect(w, r, "/moved"+r.URL.Path, status)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	p := New(srv.URL, apiKey, storeID, secret)
	check := func(what string) {
		t.Helper()
		_, _, _, err := p.Begin(context.Background(), &fetchsms.Deposit{ID: "dep-1", AmountCents: 2500})
		if fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM || fetchsms.ErrorMessage(err) != beginFailed {
			t.Errorf("%s: %v, want EUPSTREAM", what, err)
		}
		if err != nil && strings.Contains(err.Error(), apiKey) {
			t.Errorf("%s: the error shows the API key: %v", what, err)
		}
	}
	check("500")
	status = http.StatusUnauthorized
	check("401")
	status, answer = http.StatusOK, `{"id": "Inv1"}`
	check("no checkout link")
	answer = `<html>`
	check("not JSON")
	status = http.StatusMovedPermanently
	check("redirected")
	srv.Close()
	check("unreachable")

	_, api := newProvider(t)
	wrongKey := New(api.URL, "another-key", storeID, secret)
	if _, _, _, err := wrongKey.Begin(context.Background(), &fetchsms.Deposit{ID: "d", AmountCents: 100}); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Errorf("a refused key: %v", err)
	}
}

func TestSignature(t *testing.T) {
	p, api := newProvider(t)
	inv := begin(t, p, "dep-1", 2500)
	api.Settle(inv)
	n := api.Event("InvoiceSettled", inv)
	good := btcpaytest.Sign(n.Body, secret)
	if ev, err := p.ParseEvent(context.Background(), n.Body, http.Header{"Btcpay-Sig": {good}}); err != nil || ev.Outcome != fetchsms.PaymentPaid {
		t.Fatalf("a good signature: %+v %v", ev, err)
	}
	forged := bytes.Replace(n.Body, []byte(inv), []byte("Another"), 1)
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"forged body":     {forged, good},
		"wrong secret":    {n.Body, btcpaytest.Sign(n.Body, "another-secret")},
		"missing header":  {n.Body, ""},
		"no sha256=":      {n.Body, strings.TrimPrefix(good, "sha256=")},
		"other algorithm": {n.Body, "sha1=" + strings.TrimPrefix(good, "sha256=")},
		"not hex":         {n.Body, "sha256=zz"},
		"truncated":       {n.Body, good[:len(good)-2]},
		"empty body":      {nil, good},
	} {
		h := http.Header{}
		if c.sig != "" {
			h.Set("BTCPay-Sig", c.sig)
		}
		ev, err := p.ParseEvent(context.Background(), c.body, h)
		if !errors.Is(err, fetchsms.ErrPaymentSignature) || ev != nil {
			t.Errorf("%s: %+v %v, want ErrPaymentSignature", name, ev, err)
		}
	}
}

func TestParseEvent(t *testing.T) {
	p, api := newProvider(t)
	parse := func(n *btcpaytest.Notification) (*fetchsms.PaymentEvent, error) {
		return p.ParseEvent(context.Background(), n.Body, http.Header{"Btcpay-Sig": {btcpaytest.Sign(n.Body, secret)}})
	}
	paid := begin(t, p, "dep-paid", 2500)
	api.Settle(paid)
	n := api.Event("InvoiceSettled", paid)
	ev, err := parse(n)
	if err != nil || !bytes.Equal(ev.Payload, n.Body) {
		t.Fatalf("settled: %+v %v", ev, err)
	}
	got := *ev
	got.Payload = nil
	if want := (fetchsms.PaymentEvent{Provider: "btcpay", ID: n.DeliveryID, Type: "InvoiceSettled", DepositID: "dep-paid", ProviderRef: paid,
		AmountCents: 2500, Currency: "usd", Outcome: fetchsms.PaymentPaid}); !reflect.DeepEqual(got, want) {
		t.Fatalf("settled: %+v, want %+v", got, want)
	}
	// A redelivery is the same event; another notification of the invoice is not.
	again := n.Redelivery().Redelivery()
	if again.DeliveryID == n.DeliveryID {
		t.Fatal("the redelivery has the first delivery's id")
	}
	if ev, err := parse(again); err != nil || ev.ID != n.DeliveryID || ev.Outcome != fetchsms.PaymentPaid {
		t.Errorf("redelivery: %+v %v", ev, err)
	}
	if ev, err := parse(api.Event("InvoiceSettled", paid)); err != nil || ev.ID == n.DeliveryID {
		t.Errorf("another notification: %+v %v", ev, err)
	}

	// The invoice decides, not the notification: an amount changed since, or
	// an invoice that did not settle.
	short := begin(t, p, "dep-short", 2500)
	api.SetAmount(short, "24.00")
	api.Settle(short)
	if ev, err := parse(api.Event("InvoiceSettled", short)); err != nil || ev.AmountCents != 2400 || ev.Outcome != fetchsms.PaymentPaid {
		t.Errorf("a changed amount: %+v %v", ev, err)
	}
	pending := begin(t, p, "dep-pending", 2500)
	if ev, err := parse(api.Event("InvoiceSettled", pending)); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Errorf("settled by the notification, New by the invoice: %+v %v, want EUPSTREAM (send it again)", ev, err)
	}
	api.SetAmount(pending, "24.001")
	api.Settle(pending)
	if ev, err := parse(api.Event("InvoiceSettled", pending)); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Errorf("an amount of a tenth of a cent: %+v %v, want EUPSTREAM", ev, err)
	}

	for _, c := range []struct {
		typ    string
		mark   func(string)
		result string
	}{
		{"InvoiceExpired", api.Expire, fetchsms.PaymentFailed},
		{"InvoiceInvalid", api.Invalidate, fetchsms.PaymentFailed},
		// Notified of an expiry, but the invoice settled since: it was paid.
		{"InvoiceExpired", api.Settle, fetchsms.PaymentPaid},
	} {
		inv := begin(t, p, "dep-"+c.typ, 1000)
		c.mark(inv)
		if ev, err := parse(api.Event(c.typ, inv)); err != nil || ev.Outcome != c.result || ev.DepositID != "dep-"+c.typ || ev.AmountCents != 1000 {
			t.Errorf("%s: %+v %v", c.typ, ev, err)
		}
	}

	// Notifications that change nothing are not looked up: they parse with
	// BTCPay Server down.
	other := begin(t, p, "dep-other", 1000)
	api.SetFail(true)
	for _, typ := range []string{"InvoiceCreated", "InvoiceReceivedPayment", "InvoiceProcessing", "InvoicePaymentSettled", "PayoutCreated"} {
		if ev, err := parse(api.Event(typ, other)); err != nil || ev.Outcome != "" || ev.Type != typ || ev.DepositID != "dep-other" {
			t.Errorf("%s: %+v %v", typ, ev, err)
		}
	}
	if ev, err := parse(api.Event("InvoiceSettled", paid)); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM || ev != nil {
		t.Errorf("settled, BTCPay Server down: %+v %v, want EUPSTREAM", ev, err)
	}
	// Another store's notification is kept and changes nothing.
	otherStore := New(api.URL, apiKey, "AnotherStore", secret)
	if ev, err := otherStore.ParseEvent(context.Background(), n.Body, http.Header{"Btcpay-Sig": {btcpaytest.Sign(n.Body, secret)}}); err != nil ||
		ev.Outcome != "" || ev.DepositID != "" {
		t.Errorf("another store's: %+v %v", ev, err)
	}
	api.SetFail(false)

	// An invoice this store does not have: kept, changes nothing.
	signed := func(body string) (*fetchsms.PaymentEvent, error) {
		return p.ParseEvent(context.Background(), []byte(body), http.Header{"Btcpay-Sig": {btcpaytest.Sign([]byte(body), secret)}})
	}
	if ev, err := signed(`{"deliveryId": "D1", "type": "InvoiceSettled", "storeId": "` + storeID + `", "invoiceId": "Nope", "metadata": {"orderId": "dep-paid"}}`); err != nil ||
		ev.Outcome != "" || ev.DepositID != "" || ev.ID != "D1" {
		t.Errorf("an unknown invoice: %+v %v", ev, err)
	}
	// Metadata of another shape names no deposit, and is no reason to refuse.
	if ev, err := signed(`{"deliveryId": "D5", "type": "SubscriberCreated", "storeId": "` + storeID + `", "metadata": ["x"]}`); err != nil ||
		ev.Outcome != "" || ev.DepositID != "" {
		t.Errorf("metadata of another shape: %+v %v", ev, err)
	}
	// Old versions spelt originalDeliveryId orignalDeliveryId.
	if ev, err := signed(`{"deliveryId": "D2", "orignalDeliveryId": "D0", "isRedelivery": true, "type": "InvoiceCreated", "storeId": "` + storeID + `"}`); err != nil || ev.ID != "D0" {
		t.Errorf("orignalDeliveryId: %+v %v", ev, err)
	}
	// Signed, but not an event: 400, never 500.
	for _, body := range []string{`[]`, `{`, `{"type": "InvoiceSettled", "storeId": "` + storeID + `", "invoiceId": "x"}`, `{"deliveryId": "D3"}`,
		`{"deliveryId": "D4", "type": "InvoiceSettled", "storeId": "` + storeID + `"}`, `{"deliveryId": 5, "type": "InvoiceCreated"}`} {
		if ev, err := signed(body); fetchsms.ErrorCode(err) != fetchsms.EINVALID {
			t.Errorf("%s: %+v %v, want EINVALID", body, ev, err)
		}
	}
}

func TestRefund(t *testing.T) {
	p, api := newProvider(t)
	var log bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&log, nil))
	inv := begin(t, p, "dep-1", 2500)
	d := &fetchsms.Deposit{ID: "dep-1", AmountCents: 2500, ProviderRef: inv, Status: fetchsms.DepositSucceeded}

	// An invoice that was not paid cannot be refunded.
	if err := p.Refund(context.Background(), d); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM || fetchsms.ErrorMessage(err) != refundFailed {
		t.Fatalf("refund of an unpaid invoice: %v, want EUPSTREAM", err)
	}
	api.Settle(inv)
	if err := p.Refund(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	rs := api.Refunds()
	if len(rs) != 1 || rs[0].InvoiceID != inv || rs[0].Request["refundVariant"] != "CurrentRate" || !strings.Contains(rs[0].Request["name"].(string), "dep-1") {
		t.Fatalf("refunds asked for: %+v", rs)
	}
	if l := log.String(); !strings.Contains(l, rs[0].PullPaymentID) || strings.Contains(l, "pull-payments/") || strings.Contains(l, apiKey) {
		t.Errorf("the refund's log line: %s", l)
	}
	// Asked again (an answer lost, a retry): the store has the deposit's pull
	// payment, so nothing more is refunded.
	if err := p.Refund(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if rs := api.Refunds(); len(rs) != 1 || !strings.Contains(log.String(), "made before") {
		t.Fatalf("refunds after a retry: %+v", rs)
	}
	// Another deposit of the same store is refunded on its own.
	inv2 := begin(t, p, "dep-2", 1000)
	api.Settle(inv2)
	if err := p.Refund(context.Background(), &fetchsms.Deposit{ID: "dep-2", AmountCents: 1000, ProviderRef: inv2}); err != nil || len(api.Refunds()) != 2 {
		t.Fatalf("a second deposit's refund: %v, %+v", err, api.Refunds())
	}

	api.SetFail(true)
	if err := p.Refund(context.Background(), d); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Errorf("refund with BTCPay Server down: %v", err)
	}
	if err := p.Refund(context.Background(), &fetchsms.Deposit{ID: "dep-2", AmountCents: 100}); fetchsms.ErrorCode(err) != fetchsms.EUPSTREAM {
		t.Errorf("refund of a deposit without an invoice: %v", err)
	}
	if len(api.Refunds()) != 2 {
		t.Errorf("refunds: %+v", api.Refunds())
	}
}

// TestRefundRequest: the refund looks for the deposit's pull payment among the
// store's, archived ones included, then POSTs the refund of the store's
// invoice, with the key.
func TestRefundRequest(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var auth string
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths, auth = append(paths, r.Method+" "+r.URL.RequestURI()), r.Header.Get("Authorization")
		if r.Method == http.MethodGet {
			w.Write([]byte(`[{"id": "PP0", "name": "Fetch SMS refund of deposit dep-0"}]`))
			return
		}
		json.NewDecoder(r.Body).Decode(&body)
		w.Write([]byte(`{"id": "PP1", "viewLink": "https://btcpay.example/pull-payments/PP1"}`))
	}))
	defer srv.Close()
	p := New(srv.URL, apiKey, storeID, secret)
	p.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := p.Refund(context.Background(), &fetchsms.Deposit{ID: "dep-1", AmountCents: 2500, ProviderRef: "Inv1"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"GET /api/v1/stores/" + storeID + "/pull-payments?includeArchived=true", "POST /api/v1/stores/" + storeID + "/invoices/Inv1/refund"}
	if !reflect.DeepEqual(paths, want) || auth != "token "+apiKey || body["refundVariant"] != "CurrentRate" || body["name"] != "Fetch SMS refund of deposit dep-1" {
		t.Errorf("refund requests: %q %s %v", paths, auth, body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
