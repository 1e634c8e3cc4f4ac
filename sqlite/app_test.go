package sqlite_test

import (
	"context"
	"testing"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/sqlite"
)

// appOf runs the domain over db, for tests that buy or pay through it.
func appOf(t testing.TB, db *sqlite.DB) *fetchsms.App {
	t.Helper()
	a, err := fetchsms.New(context.Background(), db, fetchsms.Options{Detector: fetchsms.NewDetector(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
