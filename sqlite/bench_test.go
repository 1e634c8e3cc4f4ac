package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

func benchDB(b *testing.B) (*fetchsms.App, *fetchsms.User, *fetchsms.APIKey, *fetchsms.Verification) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SeedCatalog(ctx, fetchsms.DefaultCatalog())
	app, err := fetchsms.New(ctx, db, fetchsms.Options{})
	if err != nil {
		b.Fatal(err)
	}
	gw, _ := app.CreateGateway(ctx, "g")
	var nums []string
	for i := 0; i < 100; i++ {
		nums = append(nums, "+1332555"+string(rune('1'+i/10%9))+"0"+string(rune('0'+i/10))+string(rune('0'+i%10)))
	}
	app.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(nums))
	u, _ := app.CreateUser(ctx, "b@example.com", "password123", "customer")
	app.Adjust(ctx, u.ID, 1_000_000, "bench")
	k, _ := app.CreateAPIKey(ctx, u.ID, "k")
	v, err := app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
	if err != nil {
		b.Fatal(err)
	}
	return app, u, k, v
}

// BenchmarkVerificationRead is the poll: one verification by id.
func BenchmarkVerificationRead(b *testing.B) {
	db, u, _, v := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Verification(ctx, u.ID, v.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is the credential lookup of every API request.
func BenchmarkAuthenticate(b *testing.B) {
	db, _, k, _ := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Authenticate(ctx, k.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPurchaseCancel is one purchase and its cancel, each its own transaction.
func BenchmarkPurchaseCancel(b *testing.B) {
	db, u, _, _ := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.CancelVerification(ctx, u.ID, v.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPurchaseCancelParallel runs purchase + cancel pairs from 16 goroutines:
// what group commit is for.
func BenchmarkPurchaseCancelParallel(b *testing.B) {
	db, u, _, _ := benchDB(b)
	ctx := context.Background()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v, err := db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "4"})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := db.CancelVerification(ctx, u.ID, v.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHistoryPages reads one 50-row page of a customer's verification history
// at the newest end, the middle and the oldest end of a large table: with cursor
// pagination on an index the cost stays that of one page wherever it is. Rows:
// FETCHSMS_BENCH_ROWS (default 200000; the PERFORMANCE.md figure uses 1000000).
func BenchmarkHistoryPages(b *testing.B) {
	rows := 200_000
	if v, err := strconv.Atoi(os.Getenv("FETCHSMS_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	db, u, _, v := benchDB(b)
	ctx := context.Background()
	var numberID string
	{
		got, err := db.Verification(ctx, u.ID, v.ID)
		if err != nil {
			b.Fatal(err)
		}
		numberID = got.NumberID
	}
	if err := db.Store.(*sqlite.DB).BulkVerificationsForTest(ctx, u.ID, numberID, rows); err != nil {
		b.Fatal(err)
	}
	// Collect cursors for the start, middle and end by walking once with big pages.
	var cursors []int64
	var cur int64
	for {
		_, next, err := db.ListVerifications(ctx, u.ID, true, fetchsms.Page{Limit: 200, Cursor: cur})
		if err != nil {
			b.Fatal(err)
		}
		if next == 0 {
			break
		}
		cursors = append(cursors, next)
		cur = next
	}
	for _, at := range []struct {
		name   string
		cursor int64
	}{{"newest", 0}, {"middle", cursors[len(cursors)/2]}, {"oldest", cursors[len(cursors)-2]}} {
		b.Run(at.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				page, _, err := db.ListVerifications(ctx, u.ID, true, fetchsms.Page{Limit: 50, Cursor: at.cursor})
				if err != nil || len(page) != 50 {
					b.Fatalf("%d rows, %v", len(page), err)
				}
			}
		})
	}
}
