package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The Standard Webhooks specification's published test vector: every reference
// library's sign test (Go, JavaScript, Python, PHP, Java, C#) expects this
// signature of this message (standard-webhooks/standard-webhooks, libraries/*).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// captured is what a receiver got: its headers and body.
type captured struct {
	header http.Header
	body   []byte
}

// receiver answers 204 and hands each request it gets to got.
func receiver(t *testing.T) (*httptest.Server, chan captured) {
	got := make(chan captured, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- captured{r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// sendAt makes one attempt of d at the Unix second at and returns what arrived.
func sendAt(t *testing.T, d *fetchsms.Delivery, at int64, got chan captured) captured {
	t.Helper()
	s := NewSender(Guard{AllowLoopback: true}, 2*time.Second)
	s.now = func() time.Time { return time.Unix(at, 0) }
	if a := s.Send(context.Background(), d); !a.OK() {
		t.Fatalf("attempt %+v", a)
	}
	return <-got
}

// TestSendStandardVector: the sender's own headers carry the published
// signature of the published message, and with a previous secret both
// signatures, the new secret's first, space-separated.
func TestSendStandardVector(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t)
	d := &fetchsms.Delivery{ID: vectorID, URL: srv.URL, Secret: vectorSecret, Payload: []byte(vectorBody), EventType: "webhook.test"}
	c := sendAt(t, d, vectorTimestamp, got)
	if id, ts, sig := c.header.Get(HeaderWebhookID), c.header.Get(HeaderWebhookTimestamp), c.header.Get(HeaderWebhookSignature); id != vectorID || ts != strconv.Itoa(vectorTimestamp) || sig != vectorSignature {
		t.Fatalf("webhook-id %q, webhook-timestamp %q, webhook-signature %q; want %q, %d, %q", id, ts, sig, vectorID, vectorTimestamp, vectorSignature)
	}
	if c.header.Get(HeaderDelivery) != vectorID || c.header.Get(HeaderTimestamp) != strconv.Itoa(vectorTimestamp) || !bytes.Equal(c.body, []byte(vectorBody)) {
		t.Fatalf("the seed's headers or the body differ: %v %q", c.header, c.body)
	}

	// During a rotation's overlap: the new secret's signature, then the previous one's.
	const newer = "whsec_" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	d.Secret, d.PreviousSecret = newer, vectorSecret
	c = sendAt(t, d, vectorTimestamp, got)
	sigs := strings.Split(c.header.Get(HeaderWebhookSignature), " ")
	if len(sigs) != 2 || sigs[0] != SignStandard(newer, vectorID, vectorTimestamp, []byte(vectorBody)) || sigs[1] != vectorSignature {
		t.Fatalf("webhook-signature during an overlap: %q", c.header.Get(HeaderWebhookSignature))
	}
	if !Verify(newer, c.body, c.header.Get(HeaderSignature)) || !Verify(vectorSecret, c.body, c.header.Get(HeaderSignaturePrevious)) {
		t.Fatal("the seed's signatures during an overlap: the new secret's, and the previous one's beside it")
	}

	// A retry of the same delivery: the same id, its own timestamp, signed anew.
	d.PreviousSecret = ""
	c = sendAt(t, d, vectorTimestamp+30, got)
	if c.header.Get(HeaderWebhookID) != vectorID || c.header.Get(HeaderWebhookTimestamp) != strconv.Itoa(vectorTimestamp+30) ||
		c.header.Get(HeaderWebhookSignature) != SignStandard(newer, vectorID, vectorTimestamp+30, []byte(vectorBody)) || c.header.Get(HeaderSignaturePrevious) != "" {
		t.Fatalf("a retry's headers: %v", c.header)
	}
}

// TestStandardKey: the key of a secret of the specification's form is its
// decoded base64; a secret made before secrets took that form (whsec_ and
// unpadded URL-safe base64, 43 characters) is its own bytes, whole, as the
// seed's signature is.
func TestStandardKey(t *testing.T) {
	t.Parallel()
	if k := StandardKey(vectorSecret); !bytes.Equal(k, mustDecode(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")) {
		t.Fatalf("key of the vector's secret: %x", k)
	}
	legacy := "whsec_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	if len(legacy) != 6+43 || string(StandardKey(legacy)) != legacy {
		t.Fatalf("an older secret %q must be its own key", legacy)
	}
	m := hmac.New(sha256.New, []byte(legacy))
	m.Write([]byte("id.1.{}"))
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); SignStandard(legacy, "id", 1, []byte("{}")) != want {
		t.Fatal("an older secret's webhook-signature is not keyed by the whole string")
	}
	for _, s := range []string{"", "whsec_", "whsec_not*base64", "plain", "whsec_AAAA=A=="} {
		if string(StandardKey(s)) != s {
			t.Fatalf("%q must be its own key", s)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzStandardKey: any secret gives a key and a well-formed signature without
// panicking; the specification's form round-trips to the bytes it encodes; any
// other secret is its own key.
func FuzzStandardKey(f *testing.F) {
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []byte{1, 2, 3}, vectorID, int64(vectorTimestamp), []byte(vectorBody))
	f.Add("whsec_", []byte{}, "", int64(0), []byte{})
	f.Add("whsec_not*base64==", []byte{0}, "a.b", int64(-1), []byte("{\n}"))
	f.Fuzz(func(t *testing.T, raw string, key []byte, id string, ts int64, body []byte) {
		for _, secret := range []string{raw, "whsec_" + raw} {
			k := StandardKey(secret)
			if len(k) == 0 && secret != "" {
				t.Fatalf("%q gave an empty key", secret)
			}
			rest, prefixed := strings.CutPrefix(secret, "whsec_")
			if dec, err := base64.StdEncoding.DecodeString(rest); !prefixed || err != nil || len(dec) == 0 {
				if string(k) != secret {
					t.Fatalf("%q is not of the standard form but keyed by %x", secret, k)
				}
			}
			sig := SignStandard(secret, id, ts, body)
			mac, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,"))
			if !strings.HasPrefix(sig, "v1,") || err != nil || len(mac) != sha256.Size || strings.Contains(sig, " ") {
				t.Fatalf("signature %q", sig)
			}
		}
		if len(key) > 0 {
			if got := StandardKey("whsec_" + base64.StdEncoding.EncodeToString(key)); !bytes.Equal(got, key) {
				t.Fatalf("the standard form of %x gave the key %x", key, got)
			}
		}
	})
}
