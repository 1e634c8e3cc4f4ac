// Command fetchsms is the one binary of Fetch SMS: the server and the operator's
// commands. This package only parses flags and wires the parts together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/sqlite"
)

const usage = `fetchsms — real US numbers for SMS verification

Usage:
  fetchsms serve [--addr 127.0.0.1:8080] [--db fetchsms.db | --database-url postgres://…] [--servers N] [--sandbox] [--simulator=false]
  fetchsms user create --db fetchsms.db --email E --password P [--role admin]
  fetchsms gateway create --db fetchsms.db --name N
  fetchsms bench [--duration 5s] [--keys 200]     load a fresh sandbox server beside a bare handler

Every flag may also be set as FETCHSMS_<FLAG> in the environment (FETCHSMS_DB, FETCHSMS_ADDR, …).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fetchsms:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch {
	case args[0] == "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case len(args) >= 2 && args[0] == "user" && args[1] == "create":
		return userCreate(ctx, args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "gateway" && args[1] == "create":
		return gatewayCreate(ctx, args[2:], stdout, stderr)
	case args[0] == "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case args[0] == "bench-bare": // internal: the bench's baseline, in its own process
		return benchBare(ctx, args[1:], stdout)
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// dbFlags are the storage flags every command takes.
type dbFlags struct {
	path string
	url  string
	// sqlite tunes an SQLite database (no options at present).
	sqlite sqlite.Options
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.path, "db", env("DB", "fetchsms.db"), "SQLite database file")
	fs.StringVar(&d.url, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL (postgres://…) instead of SQLite")
}

// open opens the PostgreSQL database when --database-url is set, else the SQLite
// file, and seeds the default catalog into it.
func (d *dbFlags) open(ctx context.Context) (fetchsms.Store, error) {
	var db fetchsms.Store
	var err error
	if d.url != "" {
		db, err = postgres.Open(ctx, d.url)
	} else {
		db, err = sqlite.OpenWith(ctx, d.path, d.sqlite)
	}
	if err != nil {
		return nil, err
	}
	if err := db.SeedCatalog(ctx, fetchsms.DefaultCatalog()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// describe names the database for the log, without the URL's password.
func (d *dbFlags) describe() string {
	if d.url == "" {
		return d.path
	}
	if u, err := url.Parse(d.url); err == nil {
		return u.Redacted()
	}
	return "postgres"
}

// envInt is env for an integer flag; a malformed value keeps def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(env(name, "")); err == nil {
		return v
	}
	return def
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("FETCHSMS_" + name); ok {
		return v
	}
	return def
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	var d dbFlags
	d.register(fs)
	email := fs.String("email", "", "email address (required)")
	password := fs.String("password", "", "password, at least 8 characters (required)")
	role := fs.String("role", "customer", "customer or admin")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *email == "" || *password == "" {
		return errors.New("user create: --email and --password are required")
	}
	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, *email, *password, *role)
	if err != nil {
		return errors.New(fetchsms.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created %s user %s\n%s\n", u.Role, u.Email, u.ID)
	return nil
}

func gatewayCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway create", flag.ContinueOnError)
	var d dbFlags
	d.register(fs)
	name := fs.String("name", "", "gateway name (required)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("gateway create: --name is required")
	}
	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	g, err := db.CreateGateway(ctx, *name)
	if err != nil {
		return errors.New(fetchsms.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created gateway %s (id %s); its token is shown once:\n%s\n", g.Name, g.ID, g.Token)
	return nil
}
