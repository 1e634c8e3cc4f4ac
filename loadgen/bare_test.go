package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBare: the baseline prints its URL first, then replays each answer's
// headers (but its Date) and body, and 404s any other path.
func TestServeBare(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bare.json")
	answers := map[string]*bareAnswer{"/v1/services": {
		Header: http.Header{"Content-Type": {"application/json"}, "X-Test": {"1"}, "Date": {"Mon, 01 Jan 2001 00:00:00 GMT"}},
		Body:   []byte(`{"data": []}`),
	}}
	b, _ := json.Marshal(answers)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeBare(ctx, file, pw); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)

	resp, err := http.Get(base + "/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"data": []}` || resp.Header.Get("X-Test") != "1" ||
		resp.Header.Get("Content-Type") != "application/json" || strings.HasPrefix(resp.Header.Get("Date"), "Mon, 01 Jan 2001") {
		t.Errorf("answer: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, err = http.Get(base + "/v1/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d, want 404", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeBare after cancel: %v", err)
	}
}
