package web

import (
	"bytes"
	"encoding/json"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// FuzzFastJSON holds the hand-written encoders to encoding/json's bytes, whatever
// the strings hold (quotes, HTML characters, control bytes, invalid UTF-8).
func FuzzFastJSON(f *testing.F) {
	f.Add("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "v_8R3p2K", "telegram", "Telegram", "(332) 555-0100", "552953", "waiting", int64(70), "2026-11-26T03:00:00Z", true, 30)
	f.Add("a\"b\\c", "<&>", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "", "é", int64(-5), "", false, 0)
	f.Fuzz(func(t *testing.T, id, ref, slug, name, number, code, status string, cost int64, at string, hasTimes bool, days int) {
		var created, expires *string
		if hasTimes {
			created, expires = &at, &status
		}
		v := verificationJSON{ID: id, Ref: ref, Service: slug, ServiceName: name, Number: number, Code: strOrNil(code), Status: status,
			CostCents: fetchsms.Cents(cost), CreatedAt: created, ExpiresAt: expires}
		want, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := v.appendIndented(nil); !bytes.Equal(got, want) {
			t.Fatalf("verification:\ngot  %s\nwant %s", got, want)
		}
		x := rentalJSON{ID: id, Ref: ref, Service: slug, ServiceName: name, Number: number, DurationDays: days, LastCode: strOrNil(code),
			Status: status, CostCents: fetchsms.Cents(cost), CreatedAt: created, ExpiresAt: expires}
		want, err = json.MarshalIndent(x, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := x.appendIndented(nil); !bytes.Equal(got, want) {
			t.Fatalf("rental:\ngot  %s\nwant %s", got, want)
		}
	})
}

// BenchmarkEncodeVerification compares the two encoders of the poll's answer.
func BenchmarkEncodeVerification(b *testing.B) {
	code, c, e := "552953", "2026-11-26T03:00:00Z", "2026-11-26T03:15:00Z"
	v := verificationJSON{ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Ref: "v_8R3p2K", Service: "telegram", ServiceName: "Telegram",
		Number: "(332) 555-0100", Code: &code, Status: "received", CostCents: 70, CreatedAt: &c, ExpiresAt: &e}
	b.Run("MarshalIndent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			json.MarshalIndent(v, "", "  ")
		}
	})
	b.Run("appendIndented", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for i := 0; i < b.N; i++ {
			buf = v.appendIndented(buf[:0])
		}
	})
}
