package sandbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Deliverer hands an SMS to the real inbound path, as the number's gateway would.
type Deliverer func(ctx context.Context, to, from, body string) error

// Simulator is the simulated SIM bank: a few seconds after each purchase on its
// numbers it sends the number a realistic SMS for the purchased service (for a
// rental, from a popular service) through Deliver (Run finds the purchases).
type Simulator struct {
	Deliver Deliverer
	Logger  *slog.Logger
	// MinDelay and MaxDelay bound the wait before the SMS (default 1–3 s).
	MinDelay, MaxDelay time.Duration

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	rng    *rand.Rand
	wake   chan struct{}
}

func (s *Simulator) init() {
	s.once.Do(func() {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		s.wake = make(chan struct{}, 1)
		if s.MaxDelay == 0 {
			s.MinDelay, s.MaxDelay = time.Second, 3*time.Second
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
	})
}

// VerificationCreated schedules the SMS that answers a verification.
func (s *Simulator) VerificationCreated(v *fetchsms.Verification) {
	s.init()
	s.mu.Lock()
	code := NewCode(s.rng)
	s.mu.Unlock()
	sender, body, _ := SampleSMS(v.ServiceSlug, v.ServiceName, code)
	s.later(v.Number, sender, body)
}

// popular are the services a simulated rental hears from.
var popular = [][2]string{{"whatsapp", "WhatsApp"}, {"telegram", "Telegram"}, {"google", "Google"}, {"discord", "Discord"}, {"uber", "Uber"}}

// RentalCreated schedules an SMS from a popular service to a new rental's number.
func (s *Simulator) RentalCreated(r *fetchsms.Rental) {
	s.init()
	s.mu.Lock()
	code := NewCode(s.rng)
	p := popular[s.rng.IntN(len(popular))]
	s.mu.Unlock()
	sender, body, _ := SampleSMS(p[0], p[1], code)
	s.later(r.Number, sender, body)
}

func (s *Simulator) later(to, sender, body string) {
	s.mu.Lock()
	d := s.MinDelay
	if s.MaxDelay > s.MinDelay {
		d += time.Duration(s.rng.Int64N(int64(s.MaxDelay - s.MinDelay)))
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Deliver(s.ctx, to, sender, body); err != nil {
			s.Logger.Warn("simulated SMS not delivered", "to", to, "err", err)
		}
	}()
}

// Close drops the SMS not yet sent and waits for those in flight.
func (s *Simulator) Close() {
	s.init()
	s.cancel()
	s.wg.Wait()
}

// Waiting lists the purchases waiting for an SMS on the SIM bank's numbers
// (App.WaitingOnGateway of its gateway).
type Waiting func(ctx context.Context) ([]*fetchsms.Verification, []*fetchsms.Rental, error)

// Hear wakes Run at a purchase made on this server, or a resend's request for
// another code: pass it to App.Listen. (Run also looks every poll, for
// purchases other servers made.)
func (s *Simulator) Hear(_ context.Context, change any) {
	switch change.(type) {
	case fetchsms.PurchaseMade, fetchsms.CodeRequested:
		s.init()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Run answers, until ctx ends, each purchase waiting on the SIM bank's
// numbers once, whichever server sold it: it looks every poll, and at once
// when Hear hears a purchase. Only one server runs it when several share a
// database (leader election: serve), so each purchase gets one SMS.
func (s *Simulator) Run(ctx context.Context, waiting Waiting, poll time.Duration) {
	s.init()
	t := time.NewTicker(poll)
	defer t.Stop()
	// purchases still waiting whose SMS is scheduled; a verification by its id
	// and how many codes it has, so that a resend's wait is answered too
	answered := map[string]bool{}
	for {
		vs, rs, err := waiting(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.Logger.Warn("simulated SIM bank: listing the purchases waiting on it failed", "err", err)
		} else {
			still := make(map[string]bool, len(vs)+len(rs))
			for _, v := range vs {
				key := v.ID + "/" + strconv.Itoa(len(v.Codes))
				still[key] = true
				if !answered[key] {
					s.VerificationCreated(v)
				}
			}
			for _, r := range rs {
				still[r.ID] = true
				if !answered[r.ID] {
					s.RentalCreated(r)
				}
			}
			answered = still
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}
