package storetest

import (
	"context"
	"fmt"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Bench measures an engine's purchase and poll throughput through the Store
// interface, with 16 goroutines on one wallet: the figures of docs/PERFORMANCE.md.
// open must return a fresh, empty store.
func Bench(b *testing.B, open func(b *testing.B) fetchsms.Store) {
	ctx := context.Background()
	store := open(b)
	if err := store.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		b.Fatal(err)
	}
	db, err := fetchsms.New(ctx, store, fetchsms.Options{})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := db.CreateGateway(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var numbers []string
	for i := 0; i < 2000; i++ {
		numbers = append(numbers, fmt.Sprintf("+1332%07d", 5550000+i))
	}
	if _, _, err := db.ImportNumbers(ctx, gw.ID, fetchsms.PlainNumbers(numbers)); err != nil {
		b.Fatal(err)
	}
	u, err := db.CreateUser(ctx, "bench@example.com", "password123", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Adjust(ctx, u.ID, 1<<40, "bench"); err != nil {
		b.Fatal(err)
	}

	// A purchase and its cancel (two write transactions, the number goes back).
	b.Run("PurchaseCancel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v, err := db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
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
	})
	// A customer polling a waiting verification for its code.
	v, err := db.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: "telegram"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Poll", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.Verification(ctx, u.ID, v.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
