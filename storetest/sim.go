package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The randomized simulation (issue 27): customers buy verifications and
// rentals, SMS arrive, purchases are cancelled, expire, are resent, reported
// and extended, money is deposited and adjusted — in an order a seeded RNG
// chooses, over an engine whose transactions fail as the same RNG decides
// (faults.go: a statement fails, the commit fails, or the commit's answer is
// lost). Clients behave as ours do: a purchase, cancel, resend, report or
// extension is sent with an Idempotency-Key and retried with it until it gets
// an answer (the web layer's protocol, runIdempotent, played here over the
// App); a gateway sends an SMS again under its id until it is taken; an admin
// whose adjustment's outcome was lost looks for it in the ledger. After every
// step the store's invariants are checked, and every few steps (and at the
// end) an audit compares the whole store with what the clients were told.
//
//	FETCHSMS_SIM_SEED=N   replay the run of seed N (printed by every run)
//	FETCHSMS_SIM_STEPS=N  steps of the deterministic run (default simSteps)
//
// The deterministic run is one goroutine: the same seed makes the same
// choices, the same faults and the same failure. The concurrent run spreads
// the same steps over several goroutines sharing the engine (for -race and
// for interleavings inside the engine); its seed fixes each goroutine's
// choices but not the scheduling.

const (
	simSteps      = 250  // default length of the deterministic run
	simFaultRate  = 0.25 // the share of transactions that fail
	simAuditEvery = 10
)

// simSeed returns the run's seed: FETCHSMS_SIM_SEED, or a fresh one.
func simSeed(t *testing.T) uint64 {
	if s := os.Getenv("FETCHSMS_SIM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FETCHSMS_SIM_SEED=%q: %v", s, err)
		}
		return n
	}
	return rand.Uint64() >> 1
}

func simLength(t *testing.T, def int) int {
	if s := os.Getenv("FETCHSMS_SIM_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("FETCHSMS_SIM_STEPS=%q: want a positive number", s)
		}
		return n
	}
	return def
}

// testSimulation is the deterministic run: one goroutine, every choice and
// every fault from the seed.
func testSimulation(t *testing.T, open Opener) {
	seed := simSeed(t)
	t.Logf("seed %d (replay: FETCHSMS_SIM_SEED=%d)", seed, seed)
	w := newSimWorld(t, open, seed, 12)
	s := w.newSim(seed, 3)
	steps := simLength(t, simSteps)
	for i := 0; i < steps && !t.Failed(); i++ {
		s.step(i)
		w.checkInvariants(t, s)
		if i%simAuditEvery == simAuditEvery-1 {
			w.audit(t, []*sim{s})
		}
	}
	w.finish(t, []*sim{s})
}

// testSimulationConcurrent runs several simulated clients at once over one
// engine, with the same faults; the invariants and the audit are checked when
// they are done.
func testSimulationConcurrent(t *testing.T, open Opener) {
	seed := simSeed(t)
	t.Logf("seed %d (replay of each goroutine's choices: FETCHSMS_SIM_SEED=%d)", seed, seed)
	w := newSimWorld(t, open, seed, 16)
	const workers = 4
	steps := simLength(t, simSteps) / 2
	var sims []*sim
	for i := range workers {
		s := w.newSim(seed+uint64(i)+1, 2)
		s.goroutine = true
		sims = append(sims, s)
	}
	var wg sync.WaitGroup
	for _, s := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < steps/workers && !t.Failed(); i++ {
				s.step(i)
			}
		}()
	}
	wg.Wait()
	for _, s := range sims {
		s.goroutine = false
	}
	w.finish(t, sims)
}

// simWorld is what the simulated clients share: the store, the App over it
// with faults, the clocks.
type simWorld struct {
	t        *testing.T
	f        *fixture
	in       *injector
	app      *fetchsms.App // over the faulty store
	prov     *provider
	mu       sync.Mutex
	numbers  []string          // the pool, as imported
	imported int               // numbers the admins imported
	bank2    *fetchsms.Gateway // a second gateway, which an admin disables and enables
	gateway  map[string]string // number → its gateway
	disabled map[string]bool   // gateway → disabled (or being disabled): no message is sent from it
}

// gatewayOf returns the gateway of a number, and whether it may send.
func (w *simWorld) gatewayOf(number string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.gateway[number]
	return g, !w.disabled[g]
}

// number returns one of the pool's numbers whose gateway may send.
func (w *simWorld) number(rng *rand.Rand) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if n := w.numbers[rng.IntN(len(w.numbers))]; !w.disabled[w.gateway[n]] {
			return n
		}
	}
}

func newSimWorld(t *testing.T, open Opener, seed uint64, numbers int) *simWorld {
	ctx := context.Background()
	f := setup(t, open, numbers)
	w := &simWorld{t: t, f: f, in: newInjector(seed, simFaultRate), prov: &provider{}, numbers: slices.Clone(f.numbers),
		gateway: map[string]string{}, disabled: map[string]bool{}}
	for _, n := range f.numbers {
		w.gateway[n] = f.gateway.ID
	}
	bank2, err := f.db.CreateGateway(ctx, "bank2")
	if err != nil {
		t.Fatal(err)
	}
	var more []string
	for i := range numbers / 2 {
		n := fmt.Sprintf("+1347555%04d", i)
		more, w.gateway[n] = append(more, n), bank2.ID
	}
	if _, _, err := f.db.ImportNumbers(ctx, bank2.ID, fetchsms.PlainNumbers(more)); err != nil {
		t.Fatal(err)
	}
	w.bank2, w.numbers = bank2, append(w.numbers, more...)
	app, err := fetchsms.New(ctx, &faultStore{Store: f.store, in: w.in}, fetchsms.Options{Clock: f.clock, WallClock: f.wall,
		Payments: []fetchsms.PaymentProvider{w.prov}})
	if err != nil {
		t.Fatal(err)
	}
	w.app = app
	return w
}

// sim is one simulated client population: its users, what it was told, and
// the steps it took (printed when a check fails).
type sim struct {
	w     *simWorld
	rng   *rand.Rand
	users []*fetchsms.User
	keys  int
	msgs  int
	adjs  int

	verifications []*simPurchase // in order of purchase
	rentals       []*simPurchase
	byID          map[string]*simPurchase
	sms           []simSMS            // messages a gateway had taken, to send again
	adjusted      map[string]struct{} // reasons of the adjustments made
	paid          []*fetchsms.Deposit // deposits paid through a payment event
	trail         []string            // the last steps, for a failure's report
	goroutine     bool                // runs on a goroutine of its own (the concurrent run)
}

// simPurchase is a purchase as its client last saw it.
type simPurchase struct {
	id, userID, numberID, number, service string
	rental                                bool
	status                                string
	codes                                 int
}

type simSMS struct {
	in  fetchsms.InboundSMS
	got fetchsms.InboundResult
}

func (w *simWorld) newSim(seed uint64, users int) *sim {
	s := &sim{w: w, rng: rand.New(rand.NewPCG(seed, 0x51)), byID: map[string]*simPurchase{}, adjusted: map[string]struct{}{}}
	for range users {
		s.users = append(s.users, w.f.user(w.t, 2000))
	}
	return s
}

func (s *sim) logf(format string, args ...any) {
	s.trail = append(s.trail, fmt.Sprintf(format, args...))
	if len(s.trail) > 40 {
		s.trail = s.trail[1:]
	}
}

func (s *sim) fatalf(format string, args ...any) {
	s.w.t.Helper()
	s.w.t.Errorf("%s\nlast steps:\n  %s\nfaults: %s", fmt.Sprintf(format, args...), strings.Join(s.trail, "\n  "), s.w.in)
	if s.goroutine {
		runtime.Goexit() // a client's own goroutine: FailNow is for the test's
	}
	s.w.t.FailNow()
}

// step takes one randomly chosen step.
func (s *sim) step(i int) {
	ctx := context.Background()
	u := s.users[s.rng.IntN(len(s.users))]
	switch r := s.rng.IntN(100); {
	case r < 18:
		s.buyVerification(ctx, i, u)
	case r < 24:
		s.buyRental(ctx, i, u)
	case r < 42:
		s.inbound(ctx, i)
	case r < 50:
		s.cancel(ctx, i)
	case r < 58:
		s.sweep(ctx, i)
	case r < 64:
		s.resend(ctx, i)
	case r < 70:
		s.report(ctx, i)
	case r < 74:
		s.extend(ctx, i)
	case r < 80:
		s.adjust(ctx, i, u)
	case r < 83:
		s.deposit(ctx, i, u)
	case r < 86:
		s.paymentEvent(ctx, i)
	case r < 89:
		s.restock(ctx, i)
	case r < 94:
		s.longSMS(ctx, i)
	case r < 96:
		s.toggleGateway(ctx, i)
	default:
		s.read(ctx, i)
	}
}

// answer is what a client was finally told about a keyed request.
type answer struct {
	body string // the resource's summary on success
	err  error  // a 4xx
}

// keyed runs a request under a fresh Idempotency-Key as the web layer and
// our clients do (web.runIdempotent, client/): claim the key, run with it,
// store the answer (and keep trying to store a 2xx or 4xx answer a little, as
// web.finishLater does), and retry with the same key whenever the outcome was
// unknown (a 503). A retry that finds the first run in progress waits as
// Retry-After says (the wall clock moves on); one that finds a run abandoned
// after committing is answered from its resource (resume). Sometimes the
// client loses a definitive answer too and asks again: the replay must say
// the same.
func (s *sim) keyed(ctx context.Context, what string, userID string, run func(ctx context.Context) (string, error), resume func(ctx context.Context, id string) (string, error)) answer {
	s.keys++
	key := fmt.Sprintf("k%d-%d", s.keys, s.rng.Uint32())
	hash := []byte(what)
	var first *answer
	for attempt := 0; ; attempt++ {
		if attempt > 200 {
			s.fatalf("%s: no answer after %d attempts with key %s", what, attempt, key)
		}
		st, err := s.w.app.BeginIdempotent(ctx, userID, key, hash)
		var got answer
		switch {
		case fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE:
			continue
		case fetchsms.ErrorCode(err) == fetchsms.ECONFLICT:
			// The first run is in progress or abandoned: wait as told.
			wait := fetchsms.IdempotencyAbandonedAfter + time.Second
			var fe *fetchsms.Error
			if errors.As(err, &fe) && fe.RetryAfter > 0 && s.rng.IntN(2) == 0 {
				wait = fe.RetryAfter
			}
			s.w.f.wall.Advance(wait)
			continue
		case err != nil:
			s.fatalf("%s: BeginIdempotent: %v", what, err)
		case st != nil && st.Replay:
			if st.Status >= 300 {
				got = answer{err: fmt.Errorf("%d %s", st.Status, st.Response)}
			} else {
				got = answer{body: string(st.Response)}
			}
		case st != nil:
			body, err := resume(ctx, st.ResourceID)
			if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
				continue
			} else if err != nil {
				s.fatalf("%s: resuming from resource %s: %v", what, st.ResourceID, err)
			}
			got = answer{body: body}
		default:
			body, err := run(fetchsms.WithIdempotency(ctx, userID, key))
			status := simStatus(err)
			if status == 500 {
				s.fatalf("%s: a 500: %v", what, err)
			}
			response := []byte(body)
			if err != nil {
				response = []byte(fetchsms.ErrorCode(err) + ": " + fetchsms.ErrorMessage(err))
			}
			ferr := s.w.app.FinishIdempotent(ctx, userID, key, status, response)
			for try := 0; ferr != nil && status < 500 && try < 3; try++ {
				ferr = s.w.app.FinishIdempotent(ctx, userID, key, status, response)
			}
			if status == 503 {
				s.logf("  %s attempt %d: 503 (%v)", what, attempt, err)
				continue
			}
			if err != nil {
				got = answer{err: fmt.Errorf("%d %s", status, response)}
			} else {
				got = answer{body: body}
			}
		}
		if first == nil {
			first = &got
			if s.rng.IntN(8) == 0 {
				continue // the answer was lost on its way: ask again
			}
			break
		}
		// The retry of an answer that was lost. A success is answered again
		// with its resource; a 4xx (which changed nothing) may run again
		// when its answer could not be stored, and answer otherwise.
		if first.err == nil && (got.err != nil || resourceOf(first.body) != resourceOf(got.body)) {
			s.fatalf("%s: key %s answered %+v, then %+v", what, key, *first, got)
		}
		first = &got
		break
	}
	s.logf("  %s → %s %v", what, first.body, first.err)
	return *first
}

// simStatus is the HTTP status the web layer would answer for err.
func simStatus(err error) int {
	switch fetchsms.ErrorCode(err) {
	case "":
		return 200
	case fetchsms.EUNAVAILABLE:
		return 503
	case fetchsms.ENOTFOUND:
		return 404
	case fetchsms.ECONFLICT:
		return 409
	case fetchsms.EPAYMENT:
		return 402
	case fetchsms.EUNPROCESSABLE, fetchsms.EINVALID:
		return 422
	}
	return 500
}

// resourceOf is what a summary names: the purchase (and a report's
// replacement), without the state it was in.
func resourceOf(summary string) string {
	f := strings.Fields(summary)
	if len(f) < 2 {
		return summary
	}
	_, repl, _ := strings.Cut(summary, " replacement ")
	return f[1] + " " + repl
}

func vSummary(v *fetchsms.Verification) string {
	return fmt.Sprintf("v %s %s %s codes=%d", v.ID, v.Status, v.NumberID, len(v.Codes))
}

func rSummary(r *fetchsms.Rental) string {
	return fmt.Sprintf("r %s %s %s", r.ID, r.Status, r.NumberID)
}

// learn records a purchase the client was told of (a verification or rental
// summary), checking that its status moved as the state machines allow.
func (s *sim) learn(summary string) *simPurchase {
	f := strings.Fields(summary)
	if len(f) < 4 {
		return nil
	}
	p := s.byID[f[1]]
	if p == nil {
		s.fatalf("told of a purchase this client never bought: %s", summary)
	}
	codes := p.codes
	if len(f) > 4 && strings.HasPrefix(f[4], "codes=") {
		codes, _ = strconv.Atoi(strings.TrimPrefix(f[4], "codes="))
	}
	s.observe(p, f[2], codes)
	return p
}

func (s *sim) add(summary, userID, service string) {
	f := strings.Fields(summary)
	if len(f) < 4 {
		s.fatalf("a purchase answered %q", summary)
	}
	if s.byID[f[1]] != nil {
		return
	}
	// Bought waiting; an answer resumed from its resource (web's render after a
	// lost answer) shows it as it is now.
	p := &simPurchase{id: f[1], userID: userID, rental: f[0] == "r", status: fetchsms.StatusWaiting, numberID: f[3], service: service}
	s.byID[p.id] = p
	if p.rental {
		s.rentals = append(s.rentals, p)
	} else {
		s.verifications = append(s.verifications, p)
	}
	s.learn(summary)
}

// observe checks a purchase's move from what was last seen to status:
// waiting → received, cancelled, expired; received → waiting (resend, for a
// verification); a waiting verification with codes → received (its wait for
// another ends); cancelled and expired never change; codes never go away.
func (s *sim) observe(p *simPurchase, status string, codes int) {
	s.w.t.Helper()
	from := p.status
	ok := from == status
	switch {
	case ok:
	case from == fetchsms.StatusWaiting:
		ok = status == fetchsms.StatusReceived || status == fetchsms.StatusCancelled || status == fetchsms.StatusExpired
		if ok && p.codes > 0 && !p.rental {
			ok = status == fetchsms.StatusReceived // its first code was charged: it cannot end refunded
		}
	case from == fetchsms.StatusReceived:
		ok = (status == fetchsms.StatusWaiting && !p.rental) || (p.rental && (status == fetchsms.StatusExpired))
	}
	if !ok {
		s.fatalf("purchase %s moved from %s to %s", p.id, from, status)
	}
	if codes < p.codes {
		s.fatalf("purchase %s had %d codes, now %d", p.id, p.codes, codes)
	}
	p.status, p.codes = status, codes
}

func (s *sim) pick(list []*simPurchase, ok func(*simPurchase) bool) *simPurchase {
	var c []*simPurchase
	for _, p := range list {
		if ok == nil || ok(p) {
			c = append(c, p)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.rng.IntN(len(c))]
}

var simServices = []struct{ slug, sender, text string }{
	{"telegram", "Telegram", "Telegram code: %d. Do not give this code to anyone."},
	{"whatsapp", "WhatsApp", "Your WhatsApp code: %d"},
	{"google", "Google", "G-%d is your Google verification code."},
}

func (s *sim) buyVerification(ctx context.Context, i int, u *fetchsms.User) {
	svc := simServices[s.rng.IntN(len(simServices))].slug
	s.logf("%d: %s buys a %s verification", i, u.ID, svc)
	a := s.keyed(ctx, "buy "+svc, u.ID, verificationAnswer(func(ctx context.Context) (*fetchsms.Verification, error) {
		return s.w.app.CreateVerification(ctx, u.ID, fetchsms.VerificationRequest{Service: svc})
	}), s.resumeVerification(u.ID))
	if a.err == nil {
		s.add(a.body, u.ID, svc)
	}
}

func (s *sim) resumeVerification(userID string) func(ctx context.Context, id string) (string, error) {
	return func(ctx context.Context, id string) (string, error) {
		return verificationAnswer(func(ctx context.Context) (*fetchsms.Verification, error) {
			return s.w.app.Verification(ctx, userID, id)
		})(ctx)
	}
}

func (s *sim) resumeRental(userID string) func(ctx context.Context, id string) (string, error) {
	return func(ctx context.Context, id string) (string, error) {
		return rentalAnswer(func(ctx context.Context) (*fetchsms.Rental, error) { return s.w.app.Rental(ctx, userID, id) })(ctx)
	}
}

func (s *sim) buyRental(ctx context.Context, i int, u *fetchsms.User) {
	days := []int{1, 7}[s.rng.IntN(2)]
	s.logf("%d: %s rents a number for %d days", i, u.ID, days)
	a := s.keyed(ctx, fmt.Sprintf("rent %d", days), u.ID, rentalAnswer(func(ctx context.Context) (*fetchsms.Rental, error) {
		return s.w.app.CreateRental(ctx, u.ID, fetchsms.RentalRequest{Service: "unlimited-services", Days: days})
	}), s.resumeRental(u.ID))
	if a.err == nil {
		s.add(a.body, u.ID, "")
	}
}

// inbound: the gateway delivers an SMS — a code for a live purchase, a
// message for another service, or one it delivered before — and sends it
// again under its id until it is taken.
func (s *sim) inbound(ctx context.Context, i int) {
	var in fetchsms.InboundSMS
	var want string // the purchase the message must reach, when it is sure
	switch r := s.rng.IntN(10); {
	case r < 2 && len(s.sms) > 0:
		old := s.sms[s.rng.IntN(len(s.sms))]
		gw, ok := s.w.gatewayOf(old.in.To)
		if !ok {
			return // its gateway is disabled: nothing it sends is taken
		}
		s.logf("%d: the gateway sends message %s again", i, old.in.ID)
		got, err := s.w.app.ReceiveSMS(ctx, gw, old.in)
		if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
			return
		} else if err != nil {
			s.fatalf("message %s again: %v", old.in.ID, err)
		}
		if got.MessageID != old.got.MessageID || got.VerificationID != old.got.VerificationID || got.RentalID != old.got.RentalID {
			s.fatalf("message %s sent again was taken as %+v, first as %+v", old.in.ID, *got, old.got)
		}
		return
	default:
		p := s.pick(append(slices.Clip(s.verifications), s.rentals...), func(p *simPurchase) bool {
			return p.status == fetchsms.StatusWaiting || (p.rental && p.status == fetchsms.StatusReceived)
		})
		svc := simServices[s.rng.IntN(len(simServices))]
		number := s.w.number(s.rng)
		if p != nil && r < 8 && s.sendable(ctx, p) {
			number = s.numberOf(ctx, p)
			for _, c := range simServices {
				if c.slug == p.service && s.rng.IntN(4) > 0 {
					svc = c
				}
			}
			want = s.routesTo(ctx, p, svc.slug)
		}
		s.msgs++
		in = fetchsms.InboundSMS{ID: fmt.Sprintf("m%d-%d", s.msgs, s.rng.Uint32()), To: number, From: svc.sender, Body: fmt.Sprintf(svc.text, 100000+s.rng.IntN(900000))}
	}
	s.logf("%d: SMS %s to %s from %s", i, in.ID, in.To, in.From)
	for attempt := 0; ; attempt++ {
		if attempt > 100 {
			s.fatalf("message %s never taken", in.ID)
		}
		gw, _ := s.w.gatewayOf(in.To)
		got, err := s.w.app.ReceiveSMS(ctx, gw, in)
		if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
			continue
		} else if err != nil {
			s.fatalf("message %s: %v", in.ID, err)
		}
		s.sms = append(s.sms, simSMS{in: in, got: *got})
		s.logf("  taken: %+v", *got)
		if want != "" && got.VerificationID+got.RentalID != want {
			s.fatalf("message %s with a code for purchase %s was taken as %+v", in.ID, want, *got)
		}
		for _, id := range []string{got.VerificationID, got.RentalID} {
			if id == "" {
				continue
			}
			if p := s.byID[id]; p != nil { // another client's purchase is checked by the audit
				s.refresh(ctx, p)
			}
		}
		return
	}
}

// routesTo returns p's id when a message from service (its code) must reach
// p: a rental whose term runs takes every message, a verification waiting in
// its window its service's code. In the concurrent run another client may
// move the clock meanwhile, so nothing is sure there ("").
func (s *sim) routesTo(ctx context.Context, p *simPurchase, service string) string {
	if s.goroutine {
		return ""
	}
	now := s.w.f.clock.Now()
	if p.rental {
		r, err := s.w.f.store.LoadRental(ctx, p.userID, p.id)
		if err != nil {
			s.fatalf("read rental %s: %v", p.id, err)
		}
		if simLive(r.Status) && now.Before(r.ExpiresAt) {
			return p.id
		}
		return ""
	}
	v, err := s.w.f.store.LoadVerification(ctx, p.userID, p.id)
	if err != nil {
		s.fatalf("read verification %s: %v", p.id, err)
	}
	if v.Status == fetchsms.StatusWaiting && now.Before(v.ExpiresAt) && service == p.service {
		return p.id
	}
	return ""
}

// sendable tells whether the gateway of p's number may send.
func (s *sim) sendable(ctx context.Context, p *simPurchase) bool {
	_, ok := s.w.gatewayOf(s.numberOf(ctx, p))
	return ok
}

// numberOf is the E.164 of a purchase's number.
func (s *sim) numberOf(ctx context.Context, p *simPurchase) string {
	if p.number != "" {
		return p.number
	}
	if p.rental {
		r, err := s.w.f.store.LoadRental(ctx, p.userID, p.id)
		if err != nil {
			s.fatalf("read rental %s: %v", p.id, err)
		}
		p.number = r.Number
	} else {
		v, err := s.w.f.store.LoadVerification(ctx, p.userID, p.id)
		if err != nil {
			s.fatalf("read verification %s: %v", p.id, err)
		}
		p.number = v.Number
	}
	return p.number
}

// refresh reads a purchase as stored (without the faults, without ending
// it) and checks its move.
func (s *sim) refresh(ctx context.Context, p *simPurchase) {
	if p.rental {
		r, err := s.w.f.store.LoadRental(ctx, p.userID, p.id)
		if err != nil {
			s.fatalf("read rental %s: %v", p.id, err)
		}
		s.observe(p, r.Status, p.codes)
		return
	}
	v, err := s.w.f.store.LoadVerification(ctx, p.userID, p.id)
	if err != nil {
		s.fatalf("read verification %s: %v", p.id, err)
	}
	s.observe(p, v.Status, len(v.Codes))
}

func (s *sim) cancel(ctx context.Context, i int) {
	if s.rng.IntN(3) == 0 {
		if p := s.pick(s.rentals, nil); p != nil {
			s.logf("%d: cancel rental %s (%s)", i, p.id, p.status)
			s.change(ctx, p, "cancel", rentalAnswer(func(ctx context.Context) (*fetchsms.Rental, error) { return s.w.app.CancelRental(ctx, p.userID, p.id) }))
		}
		return
	}
	if p := s.pick(s.verifications, nil); p != nil {
		s.logf("%d: cancel verification %s (%s)", i, p.id, p.status)
		s.change(ctx, p, "cancel", verificationAnswer(func(ctx context.Context) (*fetchsms.Verification, error) {
			return s.w.app.CancelVerification(ctx, p.userID, p.id)
		}))
	}
}

func (s *sim) resend(ctx context.Context, i int) {
	if p := s.pick(s.verifications, func(p *simPurchase) bool { return p.status == fetchsms.StatusReceived || s.rng.IntN(4) == 0 }); p != nil {
		s.logf("%d: resend verification %s (%s)", i, p.id, p.status)
		s.change(ctx, p, "resend", verificationAnswer(func(ctx context.Context) (*fetchsms.Verification, error) {
			return s.w.app.ResendVerification(ctx, p.userID, p.id)
		}))
	}
}

// change runs a keyed change of the purchase p and checks how p moved.
func (s *sim) change(ctx context.Context, p *simPurchase, what string, do func(ctx context.Context) (string, error)) {
	resume := s.resumeVerification(p.userID)
	if p.rental {
		resume = s.resumeRental(p.userID)
	}
	if a := s.keyed(ctx, what+" "+p.id, p.userID, do, resume); a.err == nil {
		s.learn(a.body)
	}
	s.refresh(ctx, p)
}

// verificationAnswer and rentalAnswer make an App call's result a summary.
func verificationAnswer(call func(ctx context.Context) (*fetchsms.Verification, error)) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		v, err := call(ctx)
		if err != nil {
			return "", err
		}
		return vSummary(v), nil
	}
}

func rentalAnswer(call func(ctx context.Context) (*fetchsms.Rental, error)) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		r, err := call(ctx)
		if err != nil {
			return "", err
		}
		return rSummary(r), nil
	}
}

func (s *sim) report(ctx context.Context, i int) {
	p := s.pick(s.verifications, func(p *simPurchase) bool { return p.status == fetchsms.StatusWaiting || s.rng.IntN(4) == 0 })
	if p == nil {
		return
	}
	s.logf("%d: report verification %s (%s)", i, p.id, p.status)
	summary := func(r *fetchsms.ReportResult) string {
		out := vSummary(r.Refunded)
		if r.Replacement != nil {
			out += " replacement " + r.Replacement.ID
		}
		return out
	}
	a := s.keyed(ctx, "report "+p.id, p.userID, func(ctx context.Context) (string, error) {
		r, err := s.w.app.ReportVerification(ctx, p.userID, p.id, "the service says this number cannot be used")
		if err != nil {
			return "", err
		}
		return summary(r), nil
	}, func(ctx context.Context, id string) (string, error) {
		r, err := s.w.app.VerificationReport(ctx, p.userID, id)
		if err != nil {
			return "", err
		}
		return summary(r), nil
	})
	if a.err == nil {
		if _, repl, ok := strings.Cut(a.body, " replacement "); ok {
			v, err := s.w.f.store.LoadVerification(ctx, p.userID, repl)
			if err != nil {
				s.fatalf("read replacement %s: %v", repl, err)
			}
			s.add(vSummary(v), p.userID, p.service)
		}
	}
	s.refresh(ctx, p)
}

func (s *sim) extend(ctx context.Context, i int) {
	if p := s.pick(s.rentals, nil); p != nil {
		s.logf("%d: extend rental %s (%s) by a day", i, p.id, p.status)
		s.change(ctx, p, "extend", rentalAnswer(func(ctx context.Context) (*fetchsms.Rental, error) {
			return s.w.app.ExtendRental(ctx, p.userID, p.id, 1)
		}))
	}
}

// sweep moves business time on (often a little, sometimes past a window or
// a day) and runs the expiry sweep and the reminders, as the worker does.
func (s *sim) sweep(ctx context.Context, i int) {
	d := []time.Duration{0, time.Minute, 5 * time.Minute, fetchsms.VerificationWindow + time.Second, 25 * time.Hour}[s.rng.IntN(5)]
	s.w.f.clock.Advance(d)
	s.logf("%d: %v later, the sweep runs", i, d)
	if _, err := s.w.app.ExpireDue(ctx, 100); err != nil && fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		s.fatalf("ExpireDue: %v", err)
	}
	if _, err := s.w.app.RemindExpiring(ctx, 100); err != nil && fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		s.fatalf("RemindExpiring: %v", err)
	}
	if _, err := s.w.app.SweepGatewayHealth(ctx); err != nil && fetchsms.ErrorCode(err) != fetchsms.EUNAVAILABLE {
		s.fatalf("SweepGatewayHealth: %v", err)
	}
}

const simAdjustment = "sim adjustment"

// adjust: an admin credits or debits a wallet. It has no key: when its
// outcome is lost the admin looks in the ledger for its reason.
func (s *sim) adjust(ctx context.Context, i int, u *fetchsms.User) {
	amount := fetchsms.Cents([]int64{500, 1500, -100, -5000}[s.rng.IntN(4)])
	s.adjs++
	reason := fmt.Sprintf("%s %d-%d", simAdjustment, s.adjs, s.rng.Uint32())
	s.logf("%d: adjust %s by %d (%s)", i, u.ID, amount, reason)
	_, err := s.w.app.Adjust(ctx, u.ID, amount, reason)
	switch fetchsms.ErrorCode(err) {
	case "":
		s.adjusted[reason] = struct{}{}
	case fetchsms.EPAYMENT:
	case fetchsms.EUNAVAILABLE:
		if s.inLedger(ctx, u.ID, reason) {
			s.adjusted[reason] = struct{}{}
		}
	default:
		s.fatalf("adjust: %v", err)
	}
}

func (s *sim) inLedger(ctx context.Context, userID, reason string) bool {
	entries := s.w.ledger(ctx, userID)
	for _, e := range entries {
		if e.Reason == reason {
			return true
		}
	}
	return false
}

// deposit: a customer starts a deposit, and the provider's confirmation
// arrives (once or twice) until it is taken.
func (s *sim) deposit(ctx context.Context, i int, u *fetchsms.User) {
	s.logf("%d: %s deposits $10", i, u.ID)
	d, err := s.w.app.Deposit(ctx, u.ID, "", 1000, "")
	if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
		return // stored pending or not at all: nothing is credited
	} else if err != nil {
		s.fatalf("deposit: %v", err)
	}
	if s.rng.IntN(2) == 0 {
		// The provider's notification of the payment: a payment event.
		s.paid = append(s.paid, d)
		s.event(fetchsms.PaymentPaid, d, d.AmountCents)
		return
	}
	for n, times := 0, 1+s.rng.IntN(2); n < times; {
		got, err := s.w.app.CompleteDeposit(ctx, d.ID, "cs_"+d.ID)
		if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
			continue
		} else if err != nil {
			s.fatalf("complete deposit %s: %v", d.ID, err)
		}
		if got.Status != fetchsms.DepositSucceeded {
			s.fatalf("deposit %s completed as %s", d.ID, got.Status)
		}
		n++
	}
}

// restock: an admin imports two new numbers (the pool would run out: a
// number gives each service one code), and sends the import again under
// the same numbers when its outcome was lost (an import skips what it has).
func (s *sim) restock(ctx context.Context, i int) {
	s.w.mu.Lock()
	var add []string
	for range 2 {
		s.w.imported++
		add = append(add, fmt.Sprintf("+1646555%04d", s.w.imported))
	}
	s.w.mu.Unlock()
	s.logf("%d: import %v", i, add)
	for attempt := 0; ; attempt++ {
		if attempt > 100 {
			s.fatalf("import %v never done", add)
		}
		added, skipped, err := s.w.app.ImportNumbers(ctx, s.w.f.gateway.ID, fetchsms.PlainNumbers(add))
		if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
			continue
		} else if err != nil {
			s.fatalf("import %v: %v", add, err)
		}
		if added+skipped != len(add) || (attempt == 0 && skipped != 0) {
			s.fatalf("import %v (attempt %d): %d added, %d skipped", add, attempt, added, skipped)
		}
		s.w.mu.Lock()
		s.w.numbers = append(s.w.numbers, add...)
		for _, n := range add {
			s.w.gateway[n] = s.w.f.gateway.ID
		}
		s.w.mu.Unlock()
		return
	}
}

// paymentEvent: the provider tells of a refund of a paid deposit (a new
// total), a dispute, or a dispute's end; the App takes back, owes, or gives
// back what the totals say.
func (s *sim) paymentEvent(ctx context.Context, i int) {
	if len(s.paid) == 0 {
		return
	}
	d := s.paid[s.rng.IntN(len(s.paid))]
	outcome := []string{fetchsms.PaymentRefunded, fetchsms.PaymentDisputed, fetchsms.PaymentDisputeWon, fetchsms.PaymentDisputeLost}[s.rng.IntN(4)]
	amount := d.AmountCents
	if outcome == fetchsms.PaymentRefunded && s.rng.IntN(2) == 0 {
		amount /= 2
	}
	s.logf("%d: the provider: deposit %s %s %d", i, d.ID, outcome, amount)
	s.event(outcome, d, amount)
}

// event sends a provider's event under a fresh id until it is taken, and
// sometimes again (a provider repeats its notifications).
func (s *sim) event(outcome string, d *fetchsms.Deposit, amount fetchsms.Cents) {
	s.msgs++
	ev := fetchsms.PaymentEvent{Provider: "test", ID: fmt.Sprintf("evt_%d_%d", s.msgs, s.rng.Uint32()), Type: outcome, DepositID: d.ID, PaymentRef: "pi_" + d.ID,
		AmountCents: amount, Currency: "usd", Outcome: outcome, Payload: []byte(`{}`)}
	for n, times := 0, 1+s.rng.IntN(2); n < times; {
		res, err := s.w.app.HandlePaymentEvent(context.Background(), ev)
		if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
			continue
		} else if err != nil {
			s.fatalf("payment event %s (%s): %v", ev.ID, outcome, err)
		}
		s.logf("  event %s: %s", ev.ID, res)
		n++
	}
}

// longSMS: the gateway forwards a long SMS in parts (in any order, a part
// sometimes twice, sometimes one never), to a live purchase's number or any;
// a lost part is joined without it by the flush once the wait is over.
func (s *sim) longSMS(ctx context.Context, i int) {
	number := s.w.number(s.rng)
	svc := simServices[s.rng.IntN(len(simServices))]
	var target *simPurchase
	if p := s.pick(append(slices.Clip(s.verifications), s.rentals...), func(p *simPurchase) bool {
		return simLive(p.status) && s.sendable(ctx, p)
	}); p != nil && s.rng.IntN(4) > 0 {
		number, target = s.numberOf(ctx, p), p
		for _, c := range simServices {
			if c.slug == p.service {
				svc = c
			}
		}
	}
	text := fmt.Sprintf(svc.text, 100000+s.rng.IntN(900000)) + " " + strings.Repeat("This text is long enough to need parts. ", 4)
	count := 2 + s.rng.IntN(2)
	size := (len(text) + count - 1) / count
	s.msgs++
	ref := strconv.Itoa(s.msgs)
	order := s.rng.Perm(count)
	if s.rng.IntN(4) == 0 {
		order = order[1:] // a part never arrives
	}
	if s.rng.IntN(4) == 0 {
		order = append(order, order[0]) // a part arrives twice
	}
	s.logf("%d: a long SMS in %d parts (%v arrive) to %s from %s", i, count, order, number, svc.sender)
	want := ""
	if target != nil && slices.Contains(order, 0) { // the code is in the first part
		want = s.routesTo(ctx, target, svc.slug)
	}
	var reached string
	for _, k := range order {
		in := fetchsms.InboundSMS{ID: fmt.Sprintf("p%s-%d", ref, k), To: number, From: svc.sender, Body: text[min(k*size, len(text)):min((k+1)*size, len(text))],
			Part: &fetchsms.SMSPart{Ref: ref, Index: k + 1, Count: count}}
		for attempt := 0; ; attempt++ {
			if attempt > 100 {
				s.fatalf("part %s never taken", in.ID)
			}
			gw, _ := s.w.gatewayOf(in.To)
			got, err := s.w.app.ReceiveSMS(ctx, gw, in)
			if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
				continue
			} else if err != nil {
				s.fatalf("part %s: %v", in.ID, err)
			}
			s.logf("  part %s taken: %+v", in.ID, *got)
			if id := got.VerificationID + got.RentalID; id != "" && reached != id { // a repeated part answers as its message did
				reached += id
			}
			break
		}
	}
	if distinct := len(slices.Compact(slices.Sorted(slices.Values(order)))); distinct < count {
		s.w.f.clock.Advance(fetchsms.DefaultPartsWait + time.Second)
		for attempt := 0; ; attempt++ {
			n, err := s.w.app.FlushParts(ctx, 100)
			if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE && attempt < 100 {
				continue
			} else if err != nil {
				s.fatalf("flush parts: %v", err)
			}
			s.logf("  flushed %d", n)
			break
		}
		if want != "" { // joined by the flush: the purchase shows it
			reached = want
			if target.rental {
				r, err := s.w.f.store.LoadRental(ctx, target.userID, target.id)
				if err != nil || r.Status != fetchsms.StatusReceived {
					s.fatalf("a long SMS flushed without its last part did not reach rental %s: %+v %v", target.id, r, err)
				}
			}
		}
	}
	if want != "" && reached != want {
		s.fatalf("a long SMS for purchase %s reached %q", want, reached)
	}
	for _, p := range s.byID {
		if p.number == number {
			s.refresh(ctx, p)
		}
	}
}

// toggleGateway: an admin disables the second gateway (its numbers leave
// the stock, the verifications waiting on them end refunded) or enables it
// again; when the outcome was lost the admin reads the gateway. While it is
// disabled (or being disabled) the simulated gateway sends nothing.
func (s *sim) toggleGateway(ctx context.Context, i int) {
	g := s.w.bank2.ID
	s.w.mu.Lock()
	disable := !s.w.disabled[g]
	if disable {
		s.w.disabled[g] = true
	}
	s.w.mu.Unlock()
	s.logf("%d: the admin sets gateway %s disabled=%v", i, g, disable)
	_, err := s.w.app.SetGatewayDisabled(ctx, g, disable)
	now := disable
	switch {
	case err == nil:
	case fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE:
		gs, err := s.w.f.store.ListGateways(ctx)
		if err != nil {
			s.fatalf("list gateways: %v", err)
		}
		for _, x := range gs {
			if x.ID == g {
				now = x.Disabled
			}
		}
		s.logf("  unavailable; the gateway is disabled=%v", now)
	default:
		s.fatalf("set gateway disabled=%v: %v", disable, err)
	}
	s.w.mu.Lock()
	s.w.disabled[g] = now
	s.w.mu.Unlock()
}

// read: a customer reads one of its purchases (a read ends one whose time is
// up, through the faulty store).
func (s *sim) read(ctx context.Context, i int) {
	p := s.pick(append(slices.Clip(s.verifications), s.rentals...), nil)
	if p == nil {
		return
	}
	s.logf("%d: read %s", i, p.id)
	var summary string
	var err error
	if p.rental {
		var r *fetchsms.Rental
		if r, err = s.w.app.Rental(ctx, p.userID, p.id); err == nil {
			summary = rSummary(r)
		}
	} else {
		var v *fetchsms.Verification
		if v, err = s.w.app.Verification(ctx, p.userID, p.id); err == nil {
			summary = vSummary(v)
		}
	}
	switch {
	case fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE:
	case err != nil:
		s.fatalf("read %s: %v", p.id, err)
	default:
		s.learn(summary)
	}
}

func (w *simWorld) ledger(ctx context.Context, userID string) []*fetchsms.LedgerEntry {
	var all []*fetchsms.LedgerEntry
	var cursor int64
	for {
		page, next, err := w.f.store.Ledger(ctx, userID, fetchsms.Page{Limit: 200, Cursor: cursor})
		if err != nil {
			w.t.Fatalf("ledger of %s: %v", userID, err)
		}
		all = append(all, page...)
		if next == 0 {
			return all
		}
		cursor = next
	}
}

// checkInvariants checks the store's invariants (CheckInvariants, read
// without faults).
func (w *simWorld) checkInvariants(t *testing.T, s *sim) {
	t.Helper()
	c, err := w.f.store.CheckInvariants(context.Background(), w.f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !c.OK() {
		if s != nil {
			s.fatalf("invariants broken: %+v", c)
		}
		t.Fatalf("invariants broken: %+v", c)
	}
}

// audit compares the whole store with what the clients were told: every
// purchase in the store was bought by a client that got its answer (no
// request charged twice, none half-written), each was charged once (plus its
// extensions) and refunded at most once, for what it cost, exactly when it
// ended without a code; no number is held by two live purchases; balances
// are their ledgers' sums; every adjustment an admin saw is in the ledger
// once.
func (w *simWorld) audit(t *testing.T, sims []*sim) {
	t.Helper()
	ctx := context.Background()
	fail := func(format string, args ...any) {
		t.Helper()
		if len(sims) == 1 {
			sims[0].fatalf(format, args...)
		}
		t.Fatalf(format, args...)
	}
	known := map[string]*simPurchase{}
	for _, s := range sims {
		for id, p := range s.byID {
			known[id] = p
		}
	}
	held := map[string]string{} // number → live purchase
	hold := func(numberID, id string) {
		if other, ok := held[numberID]; ok {
			fail("number %s held by live purchases %s and %s", numberID, other, id)
		}
		held[numberID] = id
	}
	type money struct{ bought, extended, refunded, purchases, refunds int64 }
	allAdjustments := map[string]int{}
	listed := map[string]*fetchsms.Verification{} // as the lists read them
	answered := map[string]bool{}
	for _, s := range sims {
		for reason := range s.adjusted {
			answered[reason] = true
		}
	}
	for _, s := range sims {
		for _, u := range s.users {
			stored := map[string]string{} // purchase → status
			status := map[string]*fetchsms.Verification{}
			rentals := map[string]*fetchsms.Rental{}
			for _, history := range []bool{false, true} {
				var cursor int64
				for {
					vs, next, err := w.f.store.LoadVerifications(ctx, u.ID, history, fetchsms.Page{Limit: 200, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					for _, v := range vs {
						stored[v.ID], status[v.ID] = v.Status, v
						listed[v.ID] = v
					}
					if next == 0 {
						break
					}
					cursor = next
				}
				cursor = 0
				for {
					rs, next, err := w.f.store.LoadRentals(ctx, u.ID, history, fetchsms.Page{Limit: 200, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rs {
						stored[r.ID], rentals[r.ID] = r.Status, r
					}
					if next == 0 {
						break
					}
					cursor = next
				}
			}
			for id := range stored {
				if known[id] == nil {
					fail("purchase %s of %s is in the store, but no client was answered with it (charged twice, or half-written)", id, u.ID)
				}
			}
			m := map[string]*money{}
			var sum int64
			adjustments := map[string]int{}
			for _, e := range w.ledger(ctx, u.ID) {
				sum += int64(e.AmountCents)
				id := e.VerificationID + e.RentalID
				if m[id] == nil {
					m[id] = &money{}
				}
				switch e.Kind {
				case fetchsms.LedgerPurchase:
					m[id].purchases++
					m[id].bought -= int64(e.AmountCents)
					if e.Reason == fetchsms.LedgerReasonExtension {
						m[id].extended++
					}
				case fetchsms.LedgerRefund:
					m[id].refunds++
					m[id].refunded += int64(e.AmountCents)
				case fetchsms.LedgerAdjustment:
					adjustments[e.Reason]++
				}
				if id != "" && stored[id] == "" {
					fail("ledger entry %s names purchase %s, which is not in the store", e.ID, id)
				}
			}
			b, err := w.f.store.Balance(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if int64(b) != sum {
				fail("balance of %s is %d, its ledger sums to %d", u.ID, b, sum)
			}
			for reason, n := range adjustments {
				if strings.HasPrefix(reason, simAdjustment) {
					allAdjustments[reason] += n
				}
			}
			for id, v := range status {
				mm := m[id]
				if mm == nil || mm.purchases != 1 || mm.bought != int64(v.CostCents) {
					fail("verification %s (%s, cost %d) was charged %+v", id, v.Status, v.CostCents, mm)
				}
				ended := v.Status == fetchsms.StatusCancelled || v.Status == fetchsms.StatusExpired
				if want := map[bool]int64{true: 1}[ended]; mm.refunds != want || (ended && mm.refunded != mm.bought) {
					fail("verification %s (%s, codes %v) refunded %+v", id, v.Status, v.Codes, mm)
				}
				if ended && len(v.Codes) > 0 {
					fail("verification %s ended %s with codes %v", id, v.Status, v.Codes)
				}
				if v.Status == fetchsms.StatusWaiting {
					hold(v.NumberID, id)
				}
				if p := known[id]; p != nil {
					if p.rental {
						fail("purchase %s is a verification, its client bought a rental", id)
					}
				}
			}
			for id, r := range rentals {
				mm := m[id]
				if mm == nil || mm.purchases != 1+mm.extended || mm.bought != int64(r.CostCents) {
					fail("rental %s (%s, cost %d) was charged %+v", id, r.Status, r.CostCents, mm)
				}
				if mm.refunds > 1 || (mm.refunds == 1 && mm.refunded != mm.bought) {
					fail("rental %s (%s) refunded %+v", id, r.Status, mm)
				}
				if r.Status == fetchsms.StatusCancelled && mm.refunds != 1 {
					fail("rental %s cancelled without its refund: %+v", id, mm)
				}
				if simLive(r.Status) {
					if mm.refunds != 0 {
						fail("live rental %s refunded: %+v", id, mm)
					}
					hold(r.NumberID, id)
				}
			}
		}
	}
	for reason, n := range allAdjustments {
		if n != 1 || !answered[reason] {
			fail("adjustment %q is in the ledger %d times; its admin saw it made: %v", reason, n, answered[reason])
		}
	}
	for reason := range answered {
		if allAdjustments[reason] != 1 {
			fail("adjustment %q, which its admin saw made, is in the ledger %d times", reason, allAdjustments[reason])
		}
	}
	for _, s := range sims {
		for _, p := range s.byID {
			if p.rental {
				continue
			}
			v, err := w.f.store.LoadVerification(ctx, p.userID, p.id)
			if err != nil {
				fail("verification %s, answered to its client, is not in the store: %v", p.id, err)
			}
			// A read by id (SQLite answers it from a cache that commits
			// keep coherent) shows what the list (SQL) shows.
			if l := listed[p.id]; l == nil || l.Status != v.Status || len(l.Codes) != len(v.Codes) || l.NumberID != v.NumberID {
				fail("verification %s read by id: %s %v; listed: %+v", p.id, v.Status, v.Codes, l)
			}
			s.observe(p, v.Status, len(v.Codes))
		}
	}
	w.checkInvariants(t, nil)
}

func simLive(status string) bool {
	return status == fetchsms.StatusWaiting || status == fetchsms.StatusReceived
}

// finish audits the store with the faults off after a last sweep, and
// reports what was injected.
func (w *simWorld) finish(t *testing.T, sims []*sim) {
	t.Helper()
	if t.Failed() {
		return
	}
	w.in.setOff(true)
	w.f.clock.Advance(400 * 24 * time.Hour)
	if _, err := w.app.SweepGatewayHealth(context.Background()); err != nil {
		t.Fatalf("the last gateway health sweep: %v", err)
	}
	if _, err := w.app.ExpireDue(context.Background(), 10000); err != nil {
		t.Fatalf("the last sweep: %v", err)
	}
	w.audit(t, sims)
	c, err := w.f.store.CheckInvariants(context.Background(), w.f.clock.Now())
	if err != nil || c.WaitingOnWithdrawn != 0 {
		t.Fatalf("after the sweeps, verifications still wait on withdrawn numbers: %+v %v", c, err)
	}
	n := 0
	for _, s := range sims {
		n += len(s.byID)
	}
	t.Logf("%d purchases; faults: %s", n, w.in)
}
