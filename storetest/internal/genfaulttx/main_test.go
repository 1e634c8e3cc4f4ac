package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent: storetest/faulttx.go is what the generator
// writes for the Tx contract as it is now (go generate ./storetest).
func TestGeneratedFileIsCurrent(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../faulttx.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("storetest/faulttx.go is not what the generator writes: run go generate ./storetest")
	}
}
