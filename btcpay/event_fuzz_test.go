package btcpay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/btcpay/btcpaytest"
)

// roundTrip answers requests in-process: no network.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzParseEvent: whatever a correctly signed body holds, ParseEvent never
// panics and either refuses it as bad input (400) or as an invoice it could not
// read (502), or returns an event that names itself and, when it pays or fails
// a deposit, says what the invoice read back says, never what the body says.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"deliveryId":"D1","webhookId":"W","originalDeliveryId":"D1","isRedelivery":false,"type":"InvoiceSettled","timestamp":1700000000,"storeId":"` + storeID + `","invoiceId":"Inv1","metadata":{"orderId":"dep-1"},"manuallyMarked":false,"overPaid":false}`,
		`{"deliveryId":"D2","originalDeliveryId":"D1","isRedelivery":true,"type":"InvoiceExpired","storeId":"` + storeID + `","invoiceId":"Inv/1?x","metadata":{"orderId":7}}`,
		`{"deliveryId":"D3","type":"InvoiceCreated","storeId":"` + storeID + `","invoiceId":"Inv1","metadata":{"orderId":"dep-9"}}`,
		`{"deliveryId":"D4","type":"InvoiceInvalid","storeId":"other","invoiceId":"Inv1"}`,
		`{"orignalDeliveryId":"D0","type":"InvoiceSettled","storeId":"` + storeID + `","invoiceId":"Inv1"}`,
		`{"deliveryId":"","type":"","storeId":null,"metadata":[]}`,
		`{"deliveryId":"D5","type":"InvoiceSettled","storeId":"` + storeID + `","invoiceId":"Inv1","timestamp":"soon","isRedelivery":"yes"}`,
		`null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s), "Settled", "25.00")
	}
	f.Add([]byte(`{"deliveryId":"D6","type":"InvoiceSettled","storeId":"`+storeID+`","invoiceId":"Inv1"}`), "Processing", "25.001")
	f.Add([]byte(`{"deliveryId":"D7","type":"InvoiceExpired","storeId":"`+storeID+`","invoiceId":"Inv1"}`), "Expired", "1e3")
	f.Fuzz(func(t *testing.T, body []byte, status, amount string) {
		var mu sync.Mutex
		var asked []string
		p := New("http://btcpay.invalid", apiKey, storeID, secret)
		p.client = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			prefix := "/api/v1/stores/" + storeID + "/invoices/"
			id, ok := strings.CutPrefix(r.URL.Path, prefix)
			if r.Method != http.MethodGet || !ok || r.Header.Get("Authorization") != "token "+apiKey {
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
				return nil, errors.New("unexpected request")
			}
			mu.Lock()
			asked = append(asked, id)
			mu.Unlock()
			inv, _ := json.Marshal(map[string]any{"id": id, "storeId": storeID, "amount": amount, "currency": "USD", "status": status,
				"metadata": map[string]any{"orderId": "dep-from-invoice"}})
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(string(inv))), Header: http.Header{}, Request: r}, nil
		})}
		ev, err := p.ParseEvent(context.Background(), body, http.Header{"Btcpay-Sig": {btcpaytest.Sign(body, secret)}})
		if err != nil {
			if code := fetchsms.ErrorCode(err); ev != nil || (code != fetchsms.EINVALID && code != fetchsms.EUPSTREAM) {
				t.Fatalf("%s: %+v %v (code %s)", body, ev, err, code)
			}
			return
		}
		if ev.Provider != "btcpay" || ev.ID == "" || ev.Type == "" || string(ev.Payload) != string(body) {
			t.Fatalf("%s: %+v", body, ev)
		}
		switch ev.Outcome {
		case "":
		case fetchsms.PaymentPaid, fetchsms.PaymentFailed:
			if len(asked) != 1 || ev.ProviderRef != asked[0] || ev.DepositID != "dep-from-invoice" || ev.Currency != "usd" {
				t.Fatalf("%s: %+v, invoice asked for: %q", body, ev, asked)
			}
			if want, err := parseAmount(amount); err != nil || ev.AmountCents != want {
				t.Fatalf("%s: %+v with an invoice of %q", body, ev, amount)
			}
		default:
			t.Fatalf("%s: outcome %q", body, ev.Outcome)
		}
	})
}
