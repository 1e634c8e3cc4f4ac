package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fetchsms/fetchsms/internal/sse"
)

// The waiters phase: Waiters clients wait at once, half by long-poll (GET
// /v1/rentals/{id}/messages?wait=60&after=…, asked again as soon as answered)
// and half on event streams (GET /v1/events), spread over WaiterAccounts
// accounts with one rental each. Inbound SMS then go to the rentals in turn;
// each wakes its rental's long-polls and its account's streams, and the time
// from sending the SMS to each of them having it is the latency.

type waiterResult struct {
	connected     int
	rss           int64
	p50, p99, max time.Duration
	samples       int
}

type waiterAccount struct {
	token, rentalID, number string
	mu                      sync.Mutex
	after                   string // the newest message id
	sent                    time.Time
	want                    string // the body of the SMS in flight
	arrivals                chan time.Duration
}

func (b *benchClient) waitersPhase(ctx context.Context, srv *benchServer, waiters, accounts, smsCount int, during func() error) (*waiterResult, error) {
	if accounts <= 0 || waiters < 2*accounts {
		return nil, errors.New("bench: want at least two waiters per account")
	}
	var accts []*waiterAccount
	for i := 0; i < accounts; i++ {
		token, err := b.newAccount(srv, "waiter", i, 100_000)
		if err != nil {
			return nil, err
		}
		r, err := b.json("POST", "/v1/rentals", token, map[string]any{"service": 1, "days": 30}, 201)
		if err != nil {
			return nil, err
		}
		accts = append(accts, &waiterAccount{token: token, rentalID: r["id"].(string), number: r["number"].(string), arrivals: make(chan time.Duration, waiters)})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: waiters, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	var connected, failed atomic.Int64
	arrived := func(a *waiterAccount, body string) {
		a.mu.Lock()
		sent, want := a.sent, a.want
		a.mu.Unlock()
		if want != "" && body == want {
			select {
			case a.arrivals <- time.Since(sent):
			default:
			}
		}
	}
	polls, streams := waiters/2, waiters-waiters/2
	for i := 0; i < streams; i++ {
		a := accts[i%accounts]
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(wctx, "GET", srv.url+"/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
				if err == nil {
					resp.Body.Close()
				}
				return
			}
			defer resp.Body.Close()
			connected.Add(1)
			rd := sse.NewReader(resp.Body)
			for {
				ev, err := rd.Next()
				if err != nil {
					return
				}
				var p struct {
					Data struct {
						Body string `json:"body"`
					} `json:"data"`
				}
				if ev.Type == "sms.received" && json.Unmarshal([]byte(ev.Data), &p) == nil {
					arrived(a, p.Data.Body)
				}
			}
		}()
	}
	for i := 0; i < polls; i++ {
		a := accts[i%accounts]
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for wctx.Err() == nil {
				a.mu.Lock()
				after := a.after
				a.mu.Unlock()
				req, _ := http.NewRequestWithContext(wctx, "GET", srv.url+"/v1/rentals/"+a.rentalID+"/messages?wait=60&after="+after, nil)
				req.Header.Set("Authorization", "Bearer "+a.token)
				if first {
					connected.Add(1) // counted as it is sent: it waits in the server
					first = false
				}
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var page []struct { // newest first
					ID   string `json:"id"`
					Body string `json:"body"`
				}
				if resp.StatusCode != 200 || json.Unmarshal(body, &page) != nil {
					failed.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if len(page) > 0 && page[0].ID != after {
					a.mu.Lock()
					if a.after == after {
						a.after = page[0].ID
					}
					a.mu.Unlock()
					arrived(a, page[0].Body)
				}
			}
		}()
	}
	// Wait for every waiter to be connected (streams answered, long-polls sent).
	deadline := time.Now().Add(2 * time.Minute)
	for connected.Load()+failed.Load() < int64(waiters) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("bench: %d of %d waiters were refused", f, waiters)
	}
	time.Sleep(2 * time.Second) // the last long-polls reach the server and wait
	res := &waiterResult{connected: int(connected.Load())}
	res.rss = srv.rss()
	if during != nil {
		if err := during(); err != nil {
			return nil, err
		}
	}
	perAccount := func(a int) int { // waiters per account
		n := 0
		for i := 0; i < streams; i++ {
			if i%accounts == a {
				n++
			}
		}
		for i := 0; i < polls; i++ {
			if i%accounts == a {
				n++
			}
		}
		return n
	}
	var lat []time.Duration
	for i := 0; i < smsCount; i++ {
		ai := i % accounts
		a := accts[ai]
		body := fmt.Sprintf("bench message %d", i)
		a.mu.Lock()
		a.sent, a.want = time.Now(), body
		a.mu.Unlock()
		raw, _ := json.Marshal(map[string]any{"to": a.number, "from": "AcmeBank", "body": body})
		if st, out := b.do(b.client, "POST", srv.url+"/v1/sandbox/sms", srv.adminSession, raw); st != 202 {
			return nil, fmt.Errorf("bench: sandbox sms: %d %s", st, out)
		}
		want := perAccount(ai)
		timeout := time.After(10 * time.Second)
		for got := 0; got < want; got++ {
			select {
			case d := <-a.arrivals:
				lat = append(lat, d)
			case <-timeout:
				return nil, fmt.Errorf("bench: SMS %d reached %d of its %d waiters within 10 s", i, got, want)
			}
		}
		a.mu.Lock()
		a.want = ""
		a.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // the woken long-polls ask again
	}
	slices.Sort(lat)
	res.samples = len(lat)
	res.p50, res.p99, res.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	res.rss = max(res.rss, srv.rss())
	return res, nil
}
