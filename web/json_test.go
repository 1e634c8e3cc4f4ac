package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

type purchaseBody struct {
	Service  serviceRef `json:"service"`
	Days     intField   `json:"days"`
	AreaCode *string    `json:"area_code"`
}

func decodeString(body string) (purchaseBody, error) {
	var b purchaseBody
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	err := decode(httptest.NewRecorder(), r, &b)
	return b, unwrapDecodeErr(err)
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, service string
		days          int64
		code          string
	}{
		{`{"service": 4}`, "4", 0, ""},
		{`{"service": "telegram"}`, "telegram", 0, ""},
		{`{"service": 1, "days": 30}`, "1", 30, ""},
		{`{"service": 4}  `, "4", 0, ""},
		{``, "", 0, fetchsms.EINVALID},
		{`[]`, "", 0, fetchsms.EINVALID},
		{`{"service": 4} {}`, "", 0, fetchsms.EINVALID},
		{`{"service": 4, "bogus": 1}`, "", 0, fetchsms.EINVALID},
		{`{"service": true}`, "", 0, fetchsms.EUNPROCESSABLE},
		{`{"service": 4.5}`, "", 0, fetchsms.EUNPROCESSABLE},
		{`{"service": -4}`, "", 0, fetchsms.EUNPROCESSABLE},
		{`{"service": 99999999999999999999999}`, "", 0, fetchsms.EUNPROCESSABLE},
		{`{"service": 1, "days": "30"}`, "", 0, fetchsms.EINVALID},
		{`{"service": 1, "days": 1e400}`, "", 0, fetchsms.EINVALID},
		{`{"service": 4`, "", 0, fetchsms.EINVALID},
		{`{"area_code": 332}`, "", 0, fetchsms.EINVALID},
		{`{"service": 4}` + strings.Repeat(" ", maxBody), "", 0, fetchsms.ETOOLARGE},
	} {
		b, err := decodeString(tc.body)
		if got := fetchsms.ErrorCode(err); got != tc.code {
			t.Errorf("%.40q: code %q, want %q (%v)", tc.body, got, tc.code, err)
			continue
		}
		if err == nil && (string(b.Service) != tc.service || b.Days.Value != tc.days) {
			t.Errorf("%.40q: got %+v", tc.body, b)
		}
	}
}

// FuzzDecode: any body decodes or fails with a client error, never a panic or an
// internal error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"service": 4}`, `{"service": "telegram", "area_code": "332"}`, `{"service": 1, "days": 30}`, `[`, `{"service": {}}`, `null`, `{"days": -1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := decodeString(body)
		if err == nil {
			return
		}
		code := fetchsms.ErrorCode(err)
		if status := statusOf[code]; status < 400 || status >= 500 {
			t.Fatalf("%q: %v gives status %d", body, err, status)
		}
	})
}

// BenchmarkVerificationJSON is the encoding of the most polled answer.
func BenchmarkVerificationJSON(b *testing.B) {
	v := &fetchsms.Verification{ID: "9f3e1c2a-0000-4000-8000-000000000000", Ref: "v_8R3p2K", ServiceSlug: "telegram", ServiceName: "Telegram",
		Number: "+13325550184", Code: "482910", Status: "received", CostCents: 70}
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rec.Body.Reset()
		writeJSON(rec, http.StatusOK, verificationOut(v))
	}
}
