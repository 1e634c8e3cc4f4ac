// Command fetchsms is the one binary of Fetch SMS: the server and the operator's
// commands. This package only parses flags and wires the parts together.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sealbox"
	"github.com/fetchsms/fetchsms/loadgen"
	"github.com/fetchsms/fetchsms/postgres"
	"github.com/fetchsms/fetchsms/sqlite"
)

const usage = `fetchsms — real US numbers for SMS verification

Usage:
  fetchsms serve [--addr 127.0.0.1:8080] [--db fetchsms.db | --database-url postgres://…] [--servers N] [--sandbox] [--simulator=false]
                 [--gateway-silence 15m (default off)]
                 [--stripe-secret-key sk_… --stripe-webhook-secret whsec_… [--stripe-api-url URL]]
                 [--btcpay-url URL --btcpay-api-key KEY --btcpay-store-id ID --btcpay-webhook-secret SECRET]
                 [--log-format text|json] [--log-level info] [--metrics-token T]
                 [--tls-cert F --tls-key F | --tls-domain example.com [--tls-cache-dir D] [--tls-http-addr :80] [--tls-acme-url URL [--tls-acme-ca F]]]
  fetchsms user create --db fetchsms.db --email E (FETCHSMS_PASSWORD=P | --password-stdin | --password P) [--role admin]
  fetchsms gateway create --db fetchsms.db --name N
  fetchsms gateway rotate --db fetchsms.db --id ID       a new token, printed last; the old one stops at once
  fetchsms gateway disable --db fetchsms.db --id ID      refuse its token and withdraw its numbers from sale
  fetchsms gateway enable --db fetchsms.db --id ID [--gateway-silence 15m (default off)]
                                                         accept it again; its numbers are on sale unless it is silent
  fetchsms bench [--duration 5s] [--keys 200]     load a fresh sandbox server beside a bare handler
  fetchsms version                                the version of this binary
  fetchsms backup --db fetchsms.db --to FILE [--force]
                                                  a consistent, checked copy of a (running) SQLite database and its key file

A customer's commands, on the server at FETCHSMS_URL (default http://127.0.0.1:8080) with the
API key in FETCHSMS_API_KEY (or --url, --api-key):
  fetchsms services                               the catalog: prices and numbers in stock
  fetchsms balance                                your wallet's balance
  fetchsms buy SERVICE [--area-code N] [--max-price 0.80] [--wait [--timeout 5m]]
                                                  a number for one code; --wait prints the code
  fetchsms rent --days N [SERVICE] [--area-code N] [--max-price 12.00]
                                                  a number of your own for 1, 7, 30, 90 or 365 days
Exit status: 0 done; 3 no code came (refunded); 4 out of stock; 5 not enough money;
6 above --max-price; 2 any other failure. Every command takes -h.

Every flag may also be set as FETCHSMS_<FLAG> in the environment (FETCHSMS_DB, FETCHSMS_ADDR, …).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// cli runs the command and returns its exit status: 0 when it succeeded or
// printed the help it was asked for (-h, --help), else the status of its error
// (exitStatus). A failure is printed with its whole chain of causes: the
// operator reads them.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if !errors.Is(err, errNoCommand) {
		fmt.Fprintln(stderr, "fetchsms:", err)
	}
	return exitStatus(err)
}

// errNoCommand: the binary was run without a command (the usage is printed).
var errNoCommand = errors.New("no command")

// isHelp says whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errNoCommand
	}
	switch {
	case args[0] == "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case len(args) >= 2 && args[0] == "user" && args[1] == "create":
		return userCreate(ctx, args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "gateway" && args[1] == "create":
		return gatewayCreate(ctx, args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "gateway" && (args[1] == "rotate" || args[1] == "disable" || args[1] == "enable"):
		return gatewayChange(ctx, args[1], args[2:], stdout, stderr)
	case args[0] == "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case args[0] == "backup":
		return backup(ctx, args[1:], stdout, stderr)
	case args[0] == loadgen.BareCommand: // internal: the bench's baseline, in its own process
		return benchBare(ctx, args[1:], stdout)
	case args[0] == "services":
		return servicesCmd(ctx, args[1:], stdout, stderr)
	case args[0] == "balance":
		return balanceCmd(ctx, args[1:], stdout, stderr)
	case args[0] == "buy":
		return buyCmd(ctx, args[1:], stdout, stderr)
	case args[0] == "rent":
		return rentCmd(ctx, args[1:], stdout, stderr)
	case args[0] == "version" || args[0] == "--version":
		return versionCmd(ctx, args[1:], stdout, stderr)
	case isHelp(args[0]), (args[0] == "user" || args[0] == "gateway") && len(args) >= 2 && isHelp(args[1]):
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// dbFlags are the storage flags every command takes.
type dbFlags struct {
	path    string
	url     string
	keyFile string
	// sqlite tunes an SQLite database (no options at present).
	sqlite sqlite.Options
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.path, "db", "fetchsms.db", "SQLite database file")
	fs.StringVar(&d.url, "database-url", "", "PostgreSQL URL (postgres://…) instead of SQLite")
	fs.StringVar(&d.keyFile, "secret-key-file", "", "file of the key(s) that seal secrets the server must read back, such as gateway tokens (default: FETCHSMS_SECRET_KEY, else <db>.key beside an SQLite database, made when missing)")
}

// secrets returns the box that seals the secrets the server must read back:
// the keys of FETCHSMS_SECRET_KEY (base64, comma-separated, the first seals),
// else of --secret-key-file, else of a key file beside an SQLite database (made
// on first use). PostgreSQL without a key keeps no such secrets (nil): several
// servers must share the key, so it is never made up.
func (d *dbFlags) secrets() (*sealbox.Box, error) {
	if v := os.Getenv("FETCHSMS_SECRET_KEY"); v != "" {
		keys, err := sealbox.ParseKeys(v)
		if err != nil {
			return nil, fmt.Errorf("FETCHSMS_SECRET_KEY: %w", err)
		}
		return sealbox.New(keys...)
	}
	switch {
	case d.keyFile != "":
		return sealbox.FromFile(d.keyFile)
	case d.url == "":
		return sealbox.FromFile(d.path + ".key")
	}
	return nil, nil
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

// gatewaySilenceFlag registers --gateway-silence: serve's limit, which the
// gateway commands need too (enabling a gateway lists its numbers again only
// when it is not silent).
func gatewaySilenceFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("gateway-silence", 0, "a gateway not heard from (no message, no heartbeat) for longer has its numbers withdrawn from sale until it is, e.g. 15m when every gateway sends heartbeats; 0 (the default) turns this off (give every server and command the same: FETCHSMS_GATEWAY_SILENCE)")
}

var errGatewaySilence = errors.New("--gateway-silence must be 0 (off) or a positive duration such as 15m")

// openApp opens the database as open does, with the domain over it, for an
// operator's command; silence is the gateway silence limit (health.go).
func (d *dbFlags) openApp(ctx context.Context, silence time.Duration) (*fetchsms.App, error) {
	db, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	box, err := d.secrets()
	if err != nil {
		db.Close()
		return nil, err
	}
	// An operator's command changes no purchase: a serving SQLite process
	// caches the verifications it alone writes (fetchsms.Options.Operator).
	opts := fetchsms.Options{Operator: true, GatewaySilence: silence}
	if box != nil {
		opts.Secrets = box
	}
	app, err := fetchsms.New(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return app, nil
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

// parse sets the flags of fs from the environment (see setFromEnv), then from
// args: the command line wins.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := setFromEnv(fs, os.LookupEnv); err != nil {
		return err
	}
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
	password := fs.String("password", "", "password, at least 8 characters (visible to other local users while the command runs: prefer FETCHSMS_PASSWORD or --password-stdin)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	role := fs.String("role", "customer", "customer or admin")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *passwordStdin {
		if *password != "" {
			return errors.New("user create: --password and --password-stdin are exclusive")
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("user create: reading the password: %w", err)
		}
		*password = strings.TrimRight(line, "\r\n")
	}
	if *email == "" || *password == "" {
		return errors.New("user create: --email and a password (FETCHSMS_PASSWORD, --password-stdin or --password) are required")
	}
	app, err := d.openApp(ctx, 0)
	if err != nil {
		return err
	}
	defer app.Close()
	u, err := app.CreateUser(ctx, *email, *password, *role)
	if err != nil {
		return fmt.Errorf("user create: %w", err)
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
	app, err := d.openApp(ctx, 0)
	if err != nil {
		return err
	}
	defer app.Close()
	g, err := app.CreateGateway(ctx, *name)
	if err != nil {
		return fmt.Errorf("gateway create: %w", err)
	}
	fmt.Fprintf(stdout, "created gateway %s (id %s); its token is shown once:\n%s\n", g.Name, g.ID, g.Token)
	return nil
}

// gatewayChange rotates the token of a gateway, or disables or enables it, on
// the database of a running server or not: tokens are never cached, so the
// change holds at once on every server.
func gatewayChange(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway "+verb, flag.ContinueOnError)
	var d dbFlags
	d.register(fs)
	id := fs.String("id", "", "the gateway's id, as gateway create printed it or GET /v1/admin/gateways lists it (required)")
	silence := gatewaySilenceFlag(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("gateway %s: --id is required", verb)
	}
	if *silence < 0 {
		return errGatewaySilence
	}
	app, err := d.openApp(ctx, *silence)
	if err != nil {
		return err
	}
	defer app.Close()
	var g *fetchsms.Gateway
	switch verb {
	case "rotate":
		g, err = app.RotateGatewayToken(ctx, *id)
	default:
		g, err = app.SetGatewayDisabled(ctx, *id, verb == "disable")
	}
	if err != nil {
		return fmt.Errorf("gateway %s: %w", verb, err)
	}
	switch {
	case verb == "rotate":
		fmt.Fprintf(stdout, "rotated the token of gateway %s (id %s): the old token stopped working; the new one is shown once:\n%s\n", g.Name, g.ID, g.Token)
	case verb == "disable":
		fmt.Fprintf(stdout, "disabled gateway %s (id %s): its token is refused and its numbers are withdrawn from sale; a running server ends and refunds the verifications waiting on them at its next health sweep\n", g.Name, g.ID)
	case g.WithdrawnAt.IsZero():
		fmt.Fprintf(stdout, "enabled gateway %s (id %s): its numbers are on sale again\n", g.Name, g.ID)
	default:
		fmt.Fprintf(stdout, "enabled gateway %s (id %s): it has been silent too long, so its numbers return to sale when it is next heard from (a message or a heartbeat)\n", g.Name, g.ID)
	}
	return nil
}

// envVar is the environment variable of a flag: FETCHSMS_ and the flag's name in
// upper case, '-' as '_' (--database-url: FETCHSMS_DATABASE_URL).
func envVar(flagName string) string {
	return "FETCHSMS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// setFromEnv sets each flag of fs whose variable lookup finds, as if it were on
// the command line: a value the flag does not parse (a boolean not accepted by
// strconv.ParseBool, an integer, a duration…) is an error naming the variable,
// never a silent default.
func setFromEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envVar(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: invalid value for --%s%s: %v", name, v, f.Name, wantOf(f), err))
		}
	})
	return errors.Join(errs...)
}

// wantOf says what a flag of a standard kind accepts, for its error.
func wantOf(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case bool:
		return " (want true or false, or 1, 0, t, f…: what strconv.ParseBool accepts)"
	case int, int64, uint, uint64:
		return " (want an integer)"
	case time.Duration:
		return " (want a duration such as 5s or 2m)"
	}
	return ""
}
