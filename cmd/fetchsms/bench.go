package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os/exec"
	"time"

	"github.com/fetchsms/fetchsms/loadgen"
)

// benchCommand, when set, makes the bench's child processes (tests run their own
// binary); nil runs this executable.
var benchCommand func(ctx context.Context, args ...string) *exec.Cmd

// bench loads a fresh sandbox server beside a bare handler: see package loadgen.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := loadgen.Options{Command: benchCommand}
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of each load phase")
	fs.IntVar(&o.Keys, "keys", 1000, "API keys to spread load over (each keeps its 100 req/s, so 1000 keys allow 100 000 req/s)")
	fs.IntVar(&o.Webhooks, "webhooks", 300, "inbound SMS to time to their webhook POST")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the server's CPU profile here")
	fs.IntVar(&o.Waiters, "waiters", 10_000, "clients waiting at once for an SMS (half long-poll, half event stream); 0 skips the phase")
	fs.IntVar(&o.WaiterAccounts, "waiter-accounts", 100, "accounts the waiters are spread over (one rental each)")
	fs.IntVar(&o.WaiterSMS, "waiter-sms", 200, "inbound SMS timed to their waiters")
	fs.IntVar(&o.PairAccounts, "pair-accounts", 8, "accounts the purchase + cancel pairs are spread over (as pgbench spreads its clients over branches)")
	fs.IntVar(&o.ListRows, "list-rows", 1_000_000, "verifications in one customer's history for the list phase")
	soak := loadgen.SoakOptions{Command: benchCommand}
	fs.DurationVar(&soak.Duration, "soak", 0, "instead of the bench: a soak run this long (30m) of mixed load at half the capacity it measures, a row every --soak-every, then a verdict")
	fs.DurationVar(&soak.Every, "soak-every", time.Minute, "how often the soak prints server RSS, goroutines and p99")
	fs.Float64Var(&soak.Rate, "soak-rate", 0, "mixed operations a second for the soak (0: half the measured capacity)")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "run the server on PostgreSQL: on a database made for the run on this URL's cluster (its role needs CREATEDB), beside pgbench on the same cluster")
	fs.StringVar(&o.PGBench, "pgbench", "", "pgbench's path (default: on PATH, else /usr/lib/postgresql/*/bin)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if soak.Duration != 0 {
		return loadgen.Soak(ctx, soak, stdout)
	}
	return loadgen.Run(ctx, o, stdout)
}

// benchBare is the bench's baseline, in its own process (an internal command).
func benchBare(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("bench-bare: want the answers file")
	}
	return loadgen.ServeBare(ctx, args[0], stdout)
}
