package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchsms/fetchsms/internal/sse"
)

// TestWaitingOverHTTP1AndHTTP2: a long-poll or event stream on an HTTP/1.1
// connection is parked (its connection taken from net/http while it waits,
// web/park.go) and answered as a whole response, its connection then serving
// the client's next request; on
// HTTP/2, where a connection cannot be taken, it waits in its handler. Both
// give the same answers, with the request id and security headers, and the
// access line is written once, with the answer's status. A shutdown answers
// the waiting long-polls at once and ends the streams.
func TestWaitingOverHTTP1AndHTTP2(t *testing.T) {
	t.Parallel()
	cert, key, pool := selfSigned(t, t.TempDir(), "park")
	s := startServer(t, "--sandbox", "--simulator=false", "--tls-cert", cert, "--tls-key", key)
	h1 := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
	}}
	h2 := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	s.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}

	type answer struct {
		resp *http.Response
		body map[string]any
		err  error
	}
	get := func(c *http.Client, path string) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, s.BaseURL+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.APIKey)
			resp, err := c.Do(req)
			if err != nil {
				ch <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var m map[string]any
			raw, _ := io.ReadAll(resp.Body)
			err = json.Unmarshal(raw, &m)
			ch <- answer{resp, m, err}
		}()
		return ch
	}
	stream := func(c *http.Client) (*http.Response, *sse.Reader) {
		req, _ := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/events: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, sse.NewReader(resp.Body)
	}
	nextOfType := func(rd *sse.Reader, typ string) sse.Event {
		for {
			ev, err := rd.Next()
			if err != nil {
				t.Fatalf("stream ended waiting for %s: %v", typ, err)
			}
			if ev.Type == typ {
				return ev
			}
		}
	}

	for _, proto := range []struct {
		name  string
		c     *http.Client
		major int
	}{{"HTTP/1.1", h1, 1}, {"HTTP/2", h2, 2}} {
		resp, rd := stream(proto.c)
		if resp.ProtoMajor != proto.major || resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s stream: proto %d, headers %v", proto.name, resp.ProtoMajor, resp.Header)
		}
		v := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"}, http.StatusCreated)
		id := str(t, v["id"])
		// Five long-polls of the same verification: woken together, they share
		// one read and get the same answer.
		var polls []<-chan answer
		for range 5 {
			polls = append(polls, get(proto.c, "/v1/verifications/"+id+"?wait=30"))
		}
		time.Sleep(300 * time.Millisecond) // they wait
		s.sms(t, str(t, v["number"]), "Telegram", "Telegram code: 246810")
		for i, ch := range polls {
			a := <-ch
			if a.err != nil || a.resp.StatusCode != http.StatusOK || a.body["code"] != "246810" || a.body["status"] != "received" {
				t.Fatalf("%s long-poll %d: %+v", proto.name, i, a)
			}
			if a.resp.ProtoMajor != proto.major || a.resp.Header.Get("X-Request-Id") == "" || a.resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(a.resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s long-poll %d: proto %d, headers %v", proto.name, i, a.resp.ProtoMajor, a.resp.Header)
			}
			// The connection is kept for the client's next request.
			if a.resp.Close {
				t.Errorf("%s long-poll %d: Connection: close", proto.name, i)
			}
		}
		var p struct {
			Data map[string]any `json:"data"`
		}
		if ev := nextOfType(rd, "verification.updated"); json.Unmarshal([]byte(ev.Data), &p) != nil || p.Data["code"] != "246810" {
			t.Fatalf("%s stream: %+v", proto.name, ev)
		}
		// A parked long-poll's connection serves the client's next request:
		// one connection, reused, for two waits that run out and a plain GET.
		w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
		if proto.major == 1 {
			one := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxConnsPerHost: 1,
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
			var conns []string
			for _, q := range []string{"?wait=1", "?wait=1", ""} {
				req, _ := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/verifications/"+str(t, w["id"])+q, nil)
				req.Header.Set("Authorization", "Bearer "+s.APIKey)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
					conns = append(conns, ci.Conn.LocalAddr().String())
				}}))
				resp, err := one.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 {
					t.Fatalf("GET%s: %v %v", q, resp, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if len(conns) != 3 || conns[0] != conns[1] || conns[1] != conns[2] {
				t.Errorf("connections of three requests: %v, want one", conns)
			}
		}
		// A long-poll that runs out answers the waiting state with 200.
		if a := <-get(proto.c, "/v1/verifications/"+str(t, w["id"])+"?wait=1"); a.err != nil || a.resp.StatusCode != http.StatusOK || a.body["status"] != "waiting" {
			t.Fatalf("%s long-poll running out: %+v", proto.name, a)
		}
		// An error found after waiting is the same error body: the rental does
		// not exist for this account.
		if a := <-get(proto.c, "/v1/rentals/00000000-0000-0000-0000-000000000000/messages?wait=1"); a.err != nil || a.resp.StatusCode != http.StatusNotFound || a.body["code"] == nil {
			t.Fatalf("%s long-poll of an unknown rental: %+v", proto.name, a)
		}
	}

	// One access line per answered long-poll, with its status: the parked
	// ones are logged when they answer, not when they park.
	logged := strings.Count(s.log.String(), `route="GET /v1/verifications/{id}" status=200`)
	if logged < 12 {
		t.Errorf("access lines of the long-polls: %d, want at least 12", logged)
	}

	// Shutdown: waiting long-polls answer at once, streams end.
	w := s.call(t, http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "whatsapp"}, http.StatusCreated)
	var waiting []<-chan answer
	for _, c := range []*http.Client{h1, h2} {
		waiting = append(waiting, get(c, "/v1/verifications/"+str(t, w["id"])+"?wait=60"))
	}
	_, rd1 := stream(h1)
	_, rd2 := stream(h2)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.stop() }()
	for i, ch := range waiting {
		if a := <-ch; a.err != nil || a.body["status"] != "waiting" || time.Since(start) > 15*time.Second {
			t.Errorf("long-poll %d at shutdown: %+v after %v", i, a, time.Since(start))
		}
	}
	for i, rd := range []*sse.Reader{rd1, rd2} {
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("stream %d ended %v after the shutdown began", i, time.Since(start))
		}
	}
	wg.Wait()
}
