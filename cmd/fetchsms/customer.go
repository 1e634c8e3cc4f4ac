package main

// The customer's commands: services, balance, buy, rent. They are clients of a
// running server (FETCHSMS_URL) with an API key (FETCHSMS_API_KEY), through the
// public Go client, like any program of a customer.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fetchsms/fetchsms/client"
	"golang.org/x/term"
)

// Exit statuses of the customer's commands (docs/CLIENT.md). Every other
// failure — a bad argument, an unknown service, a refused key, an unreachable
// server — is exitFailure, as for every command of the binary.
const (
	exitFailure = 2
	exitNoCode  = 3 // buy --wait: no code came (the window closed, --timeout ran out, or interrupted): refunded
	exitNoStock = 4 // out_of_stock: no number for that service (and area code) right now
	exitNoMoney = 5 // insufficient_balance or purchases_paused: add funds
	exitTooDear = 6 // the price is above --max-price: nothing was bought
)

// exitError is an error with its own exit status.
type exitError struct {
	status int
	err    error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitStatus returns the status err ends the command with.
func exitStatus(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.status
	}
	return exitFailure
}

// purchaseError gives a refused purchase its exit status.
func purchaseError(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	switch client.ErrorCode(err) {
	case client.CodeOutOfStock:
		return &exitError{exitNoStock, err}
	case client.CodeInsufficientBalance, client.CodePurchasesPaused:
		return &exitError{exitNoMoney, err}
	}
	return err
}

// apiFlags are the flags of every command that calls the API.
type apiFlags struct {
	url string
	key string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "url", client.DefaultURL, "the Fetch SMS server (FETCHSMS_URL)")
	fs.StringVar(&a.key, "api-key", "", "your API key, fsk_… (prefer FETCHSMS_API_KEY: other local users can read a command line)")
}

// client returns the API client; keyed says whether the command needs a key.
func (a *apiFlags) client(keyed bool) (*client.Client, error) {
	if keyed && a.key == "" {
		return nil, errors.New("no API key: set FETCHSMS_API_KEY (or --api-key) to a key from the dashboard's API page")
	}
	return client.New(a.url, a.key, client.WithUserAgent("fetchsms-cli/"+buildVersion()))
}

// parseWithArgs is parse for a command that takes positional arguments among
// its flags (`buy telegram --wait` as well as `buy --wait telegram`); it returns
// the arguments.
func parseWithArgs(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	if err := setFromEnv(fs, os.LookupEnv); err != nil {
		return nil, err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// commandUsage sets the synopsis that -h prints above the flags.
func commandUsage(fs *flag.FlagSet, synopsis string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fetchsms %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
}

// dollars formats cents as "$0.70".
func dollars(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// parseDollars reads a price given as dollars ("0.80", "$0.8", "1") into cents;
// more than two decimals, a sign or anything else is an error.
func parseDollars(s string) (int64, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, hasFrac := strings.Cut(v, ".")
	bad := fmt.Errorf("%q is not a price in dollars such as 0.80", s)
	if whole == "" && frac == "" || len(frac) > 2 || hasFrac && frac == "" || len(whole) > 9 {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	var cents int64
	if whole != "" {
		n, _ := strconv.ParseInt(whole, 10, 64)
		cents = n * 100
	}
	if frac != "" {
		n, _ := strconv.ParseInt((frac + "0")[:2], 10, 64)
		cents += n
	}
	return cents, nil
}

// dollarsFlag is a flag.Value of a price in dollars, held in cents.
type dollarsFlag struct {
	cents int64
	set   bool
}

func (d *dollarsFlag) String() string {
	if d == nil || !d.set {
		return ""
	}
	return dollars(d.cents)[1:]
}

func (d *dollarsFlag) Set(s string) error {
	c, err := parseDollars(s)
	if err != nil {
		return err
	}
	*d = dollarsFlag{c, true}
	return nil
}

// max returns the maximum in cents, -1 when none was given.
func (d *dollarsFlag) max() int64 {
	if !d.set {
		return -1
	}
	return d.cents
}

func servicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("services", flag.ContinueOnError)
	commandUsage(fs, "services [--url URL]   the catalog: what each service costs and how many numbers are for sale")
	var a apiFlags
	a.register(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	c, err := a.client(false)
	if err != nil {
		return err
	}
	list, err := c.Services(ctx)
	if err != nil {
		return fmt.Errorf("services: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tNAME\tPRICE\tIN STOCK")
	for _, s := range list {
		price, stock := dollars(s.PriceCents), strconv.Itoa(s.ShortAvailable)
		if len(s.LongPrices) > 0 {
			price, stock = longPriceList(s.LongPrices), strconv.Itoa(s.LongAvailable)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.ID, s.Slug, s.Name, price, stock)
	}
	return tw.Flush()
}

// longPriceList shows a rental's prices: "1d $3.00, 7d $6.00, …" by term.
func longPriceList(m map[string]int64) string {
	type term struct {
		days  int
		price int64
	}
	var terms []term
	for k, v := range m {
		d, _ := strconv.Atoi(k)
		terms = append(terms, term{d, v})
	}
	for i := range terms { // a handful: insertion sort
		for j := i; j > 0 && terms[j].days < terms[j-1].days; j-- {
			terms[j], terms[j-1] = terms[j-1], terms[j]
		}
	}
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = fmt.Sprintf("%dd %s", t.days, dollars(t.price))
	}
	return strings.Join(parts, ", ")
}

func balanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("balance", flag.ContinueOnError)
	commandUsage(fs, "balance   your wallet's balance")
	var a apiFlags
	a.register(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	b, err := c.Balance(ctx)
	if err != nil {
		return fmt.Errorf("balance: %w", err)
	}
	fmt.Fprintln(stdout, dollars(b.BalanceCents))
	return nil
}

// purchaseFlags are the flags of buy and rent.
type purchaseFlags struct {
	apiFlags
	areaCode string
	maxPrice dollarsFlag
}

func (p *purchaseFlags) register(fs *flag.FlagSet, verb string) {
	p.apiFlags.register(fs)
	fs.StringVar(&p.areaCode, "area-code", "", "a 3-digit US area code for the number (+$0.10)")
	fs.Var(&p.maxPrice, "max-price", verb+" only if it costs at most this many dollars, such as 0.80")
}

// resolveService turns what the customer typed into a service reference: a
// numeric id as it is; else the catalog's service of that slug or name (any
// case); else what was typed, for the server to refuse.
func resolveService(ctx context.Context, c *client.Client, typed string) (client.ServiceRef, error) {
	if _, err := strconv.Atoi(typed); err == nil {
		return client.ServiceRef(typed), nil
	}
	list, err := c.Services(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range list {
		if strings.EqualFold(s.Slug, typed) || strings.EqualFold(s.Name, typed) {
			return client.ServiceID(s.ID), nil
		}
	}
	return client.ServiceRef(typed), nil
}

// checkPrice refuses (exitTooDear) a purchase whose quote is above max cents
// (-1: no maximum).
func checkPrice(ctx context.Context, c *client.Client, q client.QuoteRequest, max int64) error {
	if max < 0 {
		return nil
	}
	quote, err := c.Quote(ctx, q)
	if err != nil {
		return fmt.Errorf("pricing: %w", err)
	}
	if quote.TotalCents > max {
		return &exitError{exitTooDear, fmt.Errorf("%s costs %s, more than --max-price %s: nothing was bought", quote.Service, dollars(quote.TotalCents), dollars(max))}
	}
	return nil
}

func buyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("buy", flag.ContinueOnError)
	commandUsage(fs, "buy SERVICE [--area-code N] [--max-price 0.80] [--wait [--timeout 5m]]\n\n"+
		"Buys a number for one code of SERVICE (its id, slug or name). Prints the purchase\n"+
		"as \"key value\" lines; with --wait, then waits for the code and prints \"code …\".\n"+
		"Exit status: 0 bought (with --wait: the code came), 3 no code came (refunded),\n"+
		"4 out of stock, 5 not enough money, 6 above --max-price, 2 any other failure.")
	var a purchaseFlags
	a.register(fs, "buy")
	wait := fs.Bool("wait", false, "wait for the code and print it: a spinner and countdown on a terminal, plain lines otherwise")
	timeout := fs.Duration("timeout", 0, "with --wait: give up after this long, cancel and refund (default: when the 15-minute window closes)")
	pos, err := parseWithArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("buy: name one SERVICE, such as telegram or 4 (fetchsms services lists them)")
	}
	if *timeout < 0 {
		return errors.New("buy: --timeout must be positive")
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	svc, err := resolveService(ctx, c, pos[0])
	if err != nil {
		return fmt.Errorf("buy: %w", err)
	}
	if err := checkPrice(ctx, c, client.QuoteRequest{Service: svc, Mode: client.ModeShort, CustomAreaCode: a.areaCode != ""}, a.maxPrice.max()); err != nil {
		return fmt.Errorf("buy: %w", err)
	}
	v, err := c.CreateVerification(ctx, client.VerificationRequest{Service: svc, AreaCode: a.areaCode})
	if err != nil {
		return purchaseError("buy", err)
	}
	fmt.Fprintf(stdout, "verification %s\nservice %s (%s)\nnumber %s\ncost %s\nexpires %s\n",
		v.ID, v.Service, v.ServiceName, v.Number, dollars(v.CostCents), v.ExpiresAt.UTC().Format(time.RFC3339))
	if !*wait {
		return nil
	}
	return awaitCode(ctx, c, v, *timeout, stdout, stderr)
}

// awaitCode waits for the code of v, showing progress on stderr, and prints
// "code …" on stdout. When no code comes it returns exitNoCode: the window
// closed, or timeout (0: none) ran out or ctx ended, and then v is cancelled.
func awaitCode(ctx context.Context, c *client.Client, v *client.Verification, timeout time.Duration, stdout, stderr io.Writer) error {
	// The window as a duration, from here: the server's clock may not be ours.
	window := v.ExpiresAt.Sub(v.CreatedAt)
	deadline := time.Now().Add(window)
	limit := window + 30*time.Second // the server ends it at the window's close
	if timeout > 0 && timeout < limit {
		limit, deadline = timeout, time.Now().Add(timeout)
	}
	waitCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	type result struct {
		v   *client.Verification
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := c.WaitForCode(waitCtx, v.ID)
		done <- result{got, err}
	}()
	p := newProgress(stderr, v.Number, deadline)
	var r result
	for wait := true; wait; {
		select {
		case r = <-done:
			wait = false
		case <-p.tick():
			p.show()
		}
	}
	p.clear()
	if r.err == nil {
		return codeOutcome(r.v, stdout)
	}
	if waitCtx.Err() == nil {
		return fmt.Errorf("buy: waiting for the code of verification %s (it may still receive one): %w", v.ID, r.err)
	}
	// Out of time, or interrupted: cancel, so that it is refunded, unless the
	// code won the race.
	why := "no code before --timeout"
	if ctx.Err() != nil {
		why = "interrupted"
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer ccancel()
	got, err := c.CancelVerification(cctx, v.ID)
	switch client.ErrorCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("buy: %s, and cancelling verification %s failed: %w", why, v.ID, err)
		}
		return &exitError{exitNoCode, fmt.Errorf("buy: %s: verification %s cancelled and refunded", why, v.ID)}
	case client.CodeAlreadyReceived, client.CodeNotWaiting:
		if got, err = c.Verification(cctx, v.ID); err != nil {
			return fmt.Errorf("buy: reading verification %s: %w", v.ID, err)
		}
		return codeOutcome(got, stdout)
	}
	return fmt.Errorf("buy: %s, and cancelling verification %s failed: %w", why, v.ID, err)
}

// codeOutcome prints the code of an ended verification, or says why none came.
func codeOutcome(v *client.Verification, stdout io.Writer) error {
	switch v.Status {
	case client.StatusReceived:
		if v.Code != "" {
			fmt.Fprintf(stdout, "code %s\n", v.Code)
		}
		if v.Link != "" {
			fmt.Fprintf(stdout, "link %s\n", v.Link) // a service that signs in by link
		}
		return nil
	case client.StatusExpired:
		return &exitError{exitNoCode, fmt.Errorf("buy: no code came before the window closed: verification %s expired and was refunded", v.ID)}
	}
	return &exitError{exitNoCode, fmt.Errorf("buy: verification %s is %s: no code", v.ID, v.Status)}
}

// progress shows the wait for a code on stderr: a spinner and a countdown
// redrawn in place on a terminal; elsewhere a plain line now and each minute.
type progress struct {
	w        io.Writer
	tty      bool
	number   string
	deadline time.Time
	frame    int
	ticker   *time.Ticker
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, number string, deadline time.Time) *progress {
	p := &progress{w: w, tty: isTerminal(w), number: number, deadline: deadline}
	every := time.Minute
	if p.tty {
		every = 100 * time.Millisecond
	}
	p.ticker = time.NewTicker(every)
	p.show()
	return p
}

func (p *progress) tick() <-chan time.Time { return p.ticker.C }

func (p *progress) show() {
	left := max(time.Until(p.deadline), 0).Round(time.Second)
	clock := fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s waiting for the code on %s · %s left\x1b[K", spinner[p.frame%len(spinner)], p.number, clock)
		p.frame++
		return
	}
	fmt.Fprintf(p.w, "waiting for the code on %s: %s left\n", p.number, clock)
}

func (p *progress) clear() {
	p.ticker.Stop()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func rentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rent", flag.ContinueOnError)
	commandUsage(fs, "rent --days N [SERVICE] [--area-code N] [--max-price 12.00]\n\n"+
		"Rents a number for N days (1, 7, 30, 90 or 365) that receives every SMS of any\n"+
		"service; SERVICE is the long-term product, unlimited-services (id 1), by default.\n"+
		"Exit status: 0 rented, 4 out of stock, 5 not enough money, 6 above --max-price,\n"+
		"2 any other failure.")
	var a purchaseFlags
	a.register(fs, "rent")
	days := fs.Int("days", 0, "the term in days: 1, 7, 30, 90 or 365 (required)")
	pos, err := parseWithArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("rent: one SERVICE at most, got %q", pos)
	}
	if *days == 0 {
		return errors.New("rent: --days is required: 1, 7, 30, 90 or 365")
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	svc := client.UnlimitedServices
	if len(pos) == 1 {
		if svc, err = resolveService(ctx, c, pos[0]); err != nil {
			return fmt.Errorf("rent: %w", err)
		}
	}
	if err := checkPrice(ctx, c, client.QuoteRequest{Service: svc, Mode: client.ModeLong, Days: *days, CustomAreaCode: a.areaCode != ""}, a.maxPrice.max()); err != nil {
		return fmt.Errorf("rent: %w", err)
	}
	r, err := c.CreateRental(ctx, client.RentalRequest{Service: svc, Days: *days, AreaCode: a.areaCode})
	if err != nil {
		return purchaseError("rent", err)
	}
	fmt.Fprintf(stdout, "rental %s\nservice %s (%s)\nnumber %s\ndays %d\ncost %s\nexpires %s\n",
		r.ID, r.Service, r.ServiceName, r.Number, r.DurationDays, dollars(r.CostCents), r.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}
