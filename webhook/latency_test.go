package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// BenchmarkInboundToWebhook measures the time from the commit of an inbound SMS
// (ReceiveSMS returning) to the POST arriving at the receiver, on an idle server.
// It reports p50 and p99 in milliseconds.
func BenchmarkInboundToWebhook(b *testing.B) {
	ctx := context.Background()
	arrived := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- time.Now()
	}))
	defer srv.Close()
	db := open(b, filepath.Join(b.TempDir(), "bench.db"), &testClock{t: time.Now().UTC()})
	defer db.Close()
	gw, _ := db.CreateGateway(ctx, "bank")
	db.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers([]string{"+14155550142"}))
	u, _ := db.CreateUser(ctx, "bench@example.com", "password123", "customer")
	db.Adjust(ctx, u.ID, 100000, "credit")
	if _, err := db.CreateEndpoint(ctx, u.ID, srv.URL, nil); err != nil {
		b.Fatal(err)
	}
	r, err := db.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "1", Days: 30})
	if err != nil {
		b.Fatal(err)
	}
	stop := startWorker(db)
	defer stop()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := db.ReceiveSMS(ctx, gw.ID, fetchsms.InboundSMS{ID: fmt.Sprint("m", i), To: r.Number, From: "Telegram", Body: fmt.Sprintf("Telegram code: %05d", i)})
		committed := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(committed))
		case <-time.After(5 * time.Second):
			b.Fatal("no delivery within 5 s")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
