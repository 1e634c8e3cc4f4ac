package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sealbox"
	"github.com/fetchsms/fetchsms/sqlite"
)

// TestBackupUnderLoad copies the database of a running server several times
// while customers buy, receive and cancel, and checks every copy: it opens,
// every balance equals its ledger, no number is held twice, the secret key
// came along and opens the secrets the copy holds. An existing copy is
// replaced only with --force.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	// A webhook endpoint: the copy must hold a sealed secret that its key opens.
	s.call(t, http.MethodPost, "/v1/webhooks", s.DemoSession, map[string]any{"url": "http://127.0.0.1:9/hook"}, http.StatusCreated)
	demo := s.call(t, http.MethodGet, "/v1/account", s.DemoSession, nil, http.StatusOK)
	s.fund(t, str(t, demo["id"]), 1_000_000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bought atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, _, raw, err := s.send(http.MethodPost, "/v1/verifications", s.APIKey, map[string]any{"service": "telegram"})
				if err != nil || status != http.StatusCreated {
					continue
				}
				bought.Add(1)
				var v struct{ ID, Number string }
				if json.Unmarshal(raw, &v) != nil {
					continue
				}
				if i%2 == 0 {
					s.send(http.MethodPost, "/v1/verifications/"+v.ID+"/cancel", s.APIKey, nil)
				} else {
					to := "+1" + strings.NewReplacer("(", "", ")", "", " ", "", "-", "").Replace(v.Number)
					s.send(http.MethodPost, "/v1/sandbox/sms", s.AdminSession, map[string]any{"to": to, "from": "Telegram", "body": fmt.Sprintf("Telegram code: %06d", w*100000+i)})
				}
			}
		}(w)
	}
	dir := t.TempDir()
	ctx := context.Background()
	var copies []string
	for i := 0; i < 4; i++ {
		time.Sleep(150 * time.Millisecond)
		dst := filepath.Join(dir, fmt.Sprintf("copy-%d.db", i))
		var out, errb bytes.Buffer
		if code := cli(ctx, []string{"backup", "--db", s.DBPath, "--to", dst}, &out, &errb); code != 0 {
			t.Fatalf("backup %d: exit %d: %s", i, code, errb.String())
		}
		if !strings.Contains(out.String(), "integrity ok") || !strings.Contains(out.String(), "copied the secret key") {
			t.Errorf("backup said: %s", out.String())
		}
		copies = append(copies, dst)
	}
	close(stop)
	wg.Wait()
	if bought.Load() < 10 {
		t.Fatalf("only %d purchases during the backups: no load", bought.Load())
	}

	// Refused without --force, replaced with it.
	var errb bytes.Buffer
	if code := cli(ctx, []string{"backup", "--db", s.DBPath, "--to", copies[0]}, &bytes.Buffer{}, &errb); code == 0 || !strings.Contains(errb.String(), "--force") {
		t.Errorf("overwrite without --force: exit %d: %s", code, errb.String())
	}
	if code := cli(ctx, []string{"backup", "--db", s.DBPath, "--to", copies[0], "--force"}, &bytes.Buffer{}, &errb); code != 0 {
		t.Errorf("--force: exit %d: %s", code, errb.String())
	}
	if code := cli(ctx, []string{"backup", "--db", filepath.Join(dir, "missing.db"), "--to", filepath.Join(dir, "x.db")}, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
		t.Error("a missing database was backed up")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("backing up a missing database created it")
	}
	if code := cli(ctx, []string{"backup", "--db", s.DBPath, "--to", s.DBPath, "--force"}, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
		t.Error("the database was backed up onto itself")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}

	// Each copy is a consistent database with the key that opens its secrets.
	// (copies[0] was replaced last, by --force: it is the newest.)
	var last int
	for _, c := range append(copies[1:], copies[0]) {
		db, err := sqlite.Open(ctx, c)
		if err != nil {
			t.Fatalf("open %s: %v", c, err)
		}
		check, err := db.CheckInvariants(ctx, time.Now())
		if err != nil || !check.OK() || check.DoubleHeldNumbers != 0 || check.DoubleRefunds != 0 {
			t.Errorf("%s: invariants %v %v", c, check, err)
		}
		box, err := sealbox.FromFile(c + ".key")
		if err != nil {
			t.Fatal(err)
		}
		app, err := fetchsms.New(ctx, db, fetchsms.Options{Operator: true, Secrets: box})
		if err != nil {
			t.Fatal(err)
		}
		if _, stuck, err := app.SealStoredSecrets(ctx); err != nil || stuck != 0 {
			t.Errorf("%s: secrets its key cannot open: %d %v", c, stuck, err)
		}
		entries, _, err := db.Ledger(ctx, str(t, demo["id"]), fetchsms.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < last {
			t.Errorf("a later copy holds fewer ledger entries (%d < %d)", len(entries), last)
		}
		last = len(entries)
		app.Close()
	}
	if last < 3 {
		t.Errorf("the last copy holds %d ledger entries: it missed the load", last)
	}
}
