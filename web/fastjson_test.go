package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// FuzzFastJSON holds the hand-written encoders to encoding/json's bytes for the same
// answer, whatever the fields hold (quotes, HTML characters, control bytes, invalid
// UTF-8, numbers that are not E.164, zero and non-UTC times).
func FuzzFastJSON(f *testing.F) {
	f.Add("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "v_8R3p2K", "telegram", "Telegram", "+13325550100", "552953", "waiting", int64(70), int64(1795000000), int64(900), 30)
	f.Add("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "v_8R3p2K", "telegram", "Telegram", "+13325550100", "552953,<8>,\"x", "received", int64(70), int64(1795000000), int64(900), 30)
	f.Add("a\"b\\c", "<&>", "\u2028\u2029", "\x00\x1f\x7f", "+1<32555>100", "", "é", int64(-5), int64(0), int64(-3600), 0)
	f.Add("", "", "", "", "\xff\xfe", "\xff", "", int64(0), int64(-62135596800), int64(0), -1)
	f.Fuzz(func(t *testing.T, id, ref, slug, name, number, code, status string, cost, created, window int64, days int) {
		zone := time.FixedZone("X", int(window%86400))
		var c, e time.Time
		if created != 0 {
			c = time.Unix(created%(1<<40), 0).In(zone)
			e = c.Add(time.Duration(window) * time.Second)
		}
		v := &fetchsms.Verification{ID: id, Ref: ref, ServiceSlug: slug, ServiceName: name, Number: number, Code: code, Link: name + ref, Status: status,
			CostCents: fetchsms.Cents(cost), CreatedAt: c, ExpiresAt: e}
		if code != "" {
			v.Codes = strings.Split(code, ",") // none, one, or several (a resend)
		}
		want, err := json.MarshalIndent(verificationOut(v), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := (verificationAnswer{v}).appendIndented(nil); !bytes.Equal(got, want) {
			t.Fatalf("verification:\ngot  %s\nwant %s", got, want)
		}
		x := &fetchsms.Rental{ID: id, Ref: ref, ServiceSlug: slug, ServiceName: name, Number: number, DurationDays: days, ExtendedDays: days / 2, LastCode: code,
			Status: status, CostCents: fetchsms.Cents(cost), CreatedAt: c, ExpiresAt: e}
		want, err = json.MarshalIndent(rentalOut(x), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := (rentalAnswer{x}).appendIndented(nil); !bytes.Equal(got, want) {
			t.Fatalf("rental:\ngot  %s\nwant %s", got, want)
		}
	})
}

// BenchmarkEncodeVerification compares the two encoders of the poll's answer.
func BenchmarkEncodeVerification(b *testing.B) {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	v := &fetchsms.Verification{ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Ref: "v_8R3p2K", ServiceSlug: "telegram", ServiceName: "Telegram",
		Number: "+13325550100", Code: "552953", Status: "received", CostCents: 70, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	b.Run("MarshalIndent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			json.MarshalIndent(verificationOut(v), "", "  ")
		}
	})
	b.Run("appendIndented", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for i := 0; i < b.N; i++ {
			buf = verificationAnswer{v}.appendIndented(buf[:0])
		}
	})
}
