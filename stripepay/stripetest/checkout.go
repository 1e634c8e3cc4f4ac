package stripetest

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stand-in's hosted checkout: after Hosted, a Checkout Session's url is a
// page of the stand-in itself, where a browser pays or cancels. Paying sends
// the signed checkout.session.completed that Stripe would send to the webhook,
// then goes back to the session's success_url; cancelling goes back to its
// cancel_url. Without Hosted, sessions keep their unreachable
// https://checkout.stripe.test URL.

// hosted is the configuration and state of the hosted checkout.
type hosted struct {
	t          testing.TB // for Event; its failure path (a JSON encoding error) cannot happen here
	webhookURL string
	secret     string
	hold       bool
	held       []heldEvent
	paid       map[string]bool // sessions paid
}

type heldEvent struct {
	body      []byte
	signature string
}

// Hosted makes the Checkout Sessions created from now on payable on the
// stand-in, at {URL}/pay/{session id}; the events of their payments go to
// webhookURL (the server's /v1/payments/stripe/webhook), signed with whsec.
func (a *API) Hosted(t testing.TB, webhookURL, whsec string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hosted = &hosted{t: t, webhookURL: webhookURL, secret: whsec, paid: map[string]bool{}}
}

// HoldEvents keeps the events of the payments made from now on until
// ReleaseEvents: the customer is back on the success_url before Stripe's event
// arrives, as happens when the event is late.
func (a *API) HoldEvents() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hosted != nil {
		a.hosted.hold = true
	}
}

// ReleaseEvents sends the held events, oldest first, and stops holding. It
// returns the first failure to deliver one (an answer other than 200).
func (a *API) ReleaseEvents() error {
	a.mu.Lock()
	h := a.hosted
	var held []heldEvent
	if h != nil {
		held, h.held, h.hold = h.held, nil, false
	}
	a.mu.Unlock()
	if h == nil {
		return errors.New("stripetest: ReleaseEvents before Hosted")
	}
	for _, ev := range held {
		if err := h.deliver(ev); err != nil {
			return err
		}
	}
	return nil
}

// checkoutURL is the url of a new Checkout Session.
func (a *API) checkoutURL(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hosted == nil {
		return "https://checkout.stripe.test/c/pay/" + id
	}
	return a.URL + "/pay/" + id
}

// session returns the form a Checkout Session was created with; nil when none.
// The caller holds a.mu.
func (a *API) session(id string) map[string]string {
	for _, f := range a.forms {
		if "cs_test_"+f["client_reference_id"] == id {
			return f
		}
	}
	return nil
}

// serveHosted answers GET /pay/{id} (the page) and POST /pay/{id}/pay and
// /pay/{id}/cancel (its buttons); false for any other request, or before Hosted.
func (a *API) serveHosted(w http.ResponseWriter, r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, "/pay/")
	if !ok {
		return false
	}
	id, action, _ := strings.Cut(rest, "/")
	a.mu.Lock()
	h, form := a.hosted, a.session(id)
	done := h != nil && h.paid[id]
	if h != nil && form != nil && r.Method == http.MethodPost && action == "pay" {
		h.paid[id] = true // paid once, whatever the clicks
	}
	a.mu.Unlock()
	if h == nil {
		return false
	}
	amount, _ := strconv.ParseInt(form["line_items[0][price_data][unit_amount]"], 10, 64)
	switch {
	case form == nil:
		http.Error(w, "No such checkout session.", http.StatusNotFound)
	case r.Method == http.MethodGet && action == "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		checkoutPage.Execute(w, map[string]any{"ID": id, "Done": done, "Amount": fmt.Sprintf("$%d.%02d", amount/100, amount%100),
			"Currency": strings.ToUpper(form["line_items[0][price_data][currency]"]), "Product": form["line_items[0][price_data][product_data][name]"],
			"Back": form["success_url"]})
	case r.Method == http.MethodPost && action == "pay":
		if !done {
			if err := a.pay(h, form["client_reference_id"], amount); err != nil {
				a.mu.Lock()
				delete(h.paid, id) // the customer may press Pay again
				a.mu.Unlock()
				http.Error(w, err.Error(), http.StatusBadGateway)
				return true
			}
		}
		http.Redirect(w, r, form["success_url"], http.StatusSeeOther)
	case r.Method == http.MethodPost && action == "cancel":
		http.Redirect(w, r, form["cancel_url"], http.StatusSeeOther)
	default:
		http.Error(w, "Unexpected request.", http.StatusBadRequest)
	}
	return true
}

// pay sends (or holds) the checkout.session.completed of a session paid in full.
func (a *API) pay(h *hosted, deposit string, amount int64) error {
	body, sig := Event(h.t, h.secret, "evt_paid_"+deposit, "checkout.session.completed", deposit, "paid", amount, time.Now())
	a.mu.Lock()
	if h.hold {
		h.held = append(h.held, heldEvent{body, sig})
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	return h.deliver(heldEvent{body, sig})
}

// deliver posts an event to the webhook as Stripe does.
func (h *hosted) deliver(ev heldEvent) error {
	req, err := http.NewRequest(http.MethodPost, h.webhookURL, bytes.NewReader(ev.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", ev.signature)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("stripetest: the webhook could not be reached: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stripetest: the webhook answered %d: %s", resp.StatusCode, answer)
	}
	return nil
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout · Stripe stand-in (test mode)</title>
<style>
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #f6f9fc; color: #1a1f36; }
main { max-width: 420px; margin: 64px auto; background: #fff; border-radius: 12px; box-shadow: 0 2px 12px rgba(0,0,0,.08); padding: 32px; }
.test { display: inline-block; background: #ffde92; color: #663c00; font-size: 12px; font-weight: 700; text-transform: uppercase; padding: 2px 8px; border-radius: 4px; }
.amount { font-size: 36px; font-weight: 700; margin: 8px 0 0; }
.product { color: #697386; margin: 0 0 24px; }
button { font: inherit; font-weight: 600; width: 100%; padding: 12px; border-radius: 6px; border: 0; cursor: pointer; }
#pay { background: #635bff; color: #fff; margin-bottom: 12px; }
#cancel { background: #fff; color: #697386; border: 1px solid #e3e8ee; }
form { margin: 0; }
</style></head>
<body><main>
<span class="test">Test mode · Stripe stand-in</span>
<p class="amount" id="amount">{{.Amount}} {{.Currency}}</p>
<p class="product">{{.Product}}</p>
{{if .Done}}<p id="done">This checkout is complete.</p><p><a href="{{.Back}}">Return to the merchant</a></p>
{{else}}<form method="post" action="/pay/{{.ID}}/pay"><button id="pay" type="submit">Pay {{.Amount}}</button></form>
<form method="post" action="/pay/{{.ID}}/cancel"><button id="cancel" type="submit">Cancel</button></form>{{end}}
</main></body></html>
`))
