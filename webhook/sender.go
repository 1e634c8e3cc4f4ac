package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Headers of every delivery.
const (
	HeaderEvent     = "X-FetchSMS-Event"
	HeaderSignature = "X-FetchSMS-Signature"
	HeaderDelivery  = "X-FetchSMS-Delivery"
	HeaderTimestamp = "X-FetchSMS-Timestamp"
	// HeaderSignaturePrevious is the seed's signature with the endpoint's
	// previous secret, sent only while a rotation's overlap lasts.
	HeaderSignaturePrevious = "X-FetchSMS-Signature-Previous"
)

// The Standard Webhooks headers, sent beside the seed's: the delivery id
// (stable across its retries), the attempt's Unix time, and "v1,<base64>"
// signatures of "id.timestamp.body", space-separated (the new secret's first
// during a rotation's overlap).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// StandardKey returns the Standard Webhooks HMAC key of an endpoint secret: the
// base64 after "whsec_". A secret not of that form (endpoints made before
// secrets took it) is used as its bytes, whole; such a receiver verifies with
// a library by rotating to a secret of the standard form.
func StandardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil && len(k) > 0 {
			return k
		}
	}
	return []byte(secret)
}

// SignStandard returns the Standard Webhooks signature "v1,<base64>" of the
// message id sent at timestamp with body, keyed by secret.
func SignStandard(secret, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, StandardKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the hex HMAC-SHA256 of body keyed by secret: the X-FetchSMS-Signature.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is the valid signature of body, in constant time.
func Verify(secret string, body []byte, signature string) bool {
	want, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}

// maxResponse is how much of a receiver's answer is read: enough to reuse the
// connection on a short reply, never enough to be flooded.
const maxResponse = 4 << 10

// Sender POSTs deliveries.
type Sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns a Sender whose connections obey guard, with a per-attempt timeout.
func NewSender(guard Guard, timeout time.Duration) *Sender {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: guard.Control}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		Proxy:                 nil, // never through an environment proxy: the guard must see the real peer
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{
		client: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is an answer, not an instruction
			},
		},
		now: time.Now,
	}
}

// Send makes one attempt at d and reports its outcome; it never returns an error of
// its own: failures are in the attempt.
func (s *Sender) Send(ctx context.Context, d *fetchsms.Delivery) fetchsms.DeliveryAttempt {
	start := s.now()
	a := fetchsms.DeliveryAttempt{At: start.UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		a.Error = "bad url: " + err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "FetchSMS-Webhooks/1")
	req.Header.Set(HeaderEvent, d.EventType)
	ts := start.Unix()
	req.Header.Set(HeaderSignature, Sign(d.Secret, d.Payload))
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	sig := SignStandard(d.Secret, d.ID, ts, d.Payload)
	if d.PreviousSecret != "" {
		req.Header.Set(HeaderSignaturePrevious, Sign(d.PreviousSecret, d.Payload))
		sig += " " + SignStandard(d.PreviousSecret, d.ID, ts, d.Payload)
	}
	// Set directly: the specification's names are lower-case, and some
	// receivers' libraries read them as sent.
	req.Header[HeaderWebhookID] = []string{d.ID}
	req.Header[HeaderWebhookTimestamp] = []string{strconv.FormatInt(ts, 10)}
	req.Header[HeaderWebhookSignature] = []string{sig}
	resp, err := s.client.Do(req)
	a.Latency = s.now().Sub(start)
	if err != nil {
		a.Error = describe(err)
		return a
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	a.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Error = fmt.Sprintf("receiver answered HTTP %d", resp.StatusCode)
	}
	return a
}

func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errBlocked):
		return "refused: the endpoint resolves to a private, loopback or reserved address"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
