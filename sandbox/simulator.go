package sandbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Deliverer hands an SMS to the real inbound path, as the number's gateway would.
type Deliverer func(ctx context.Context, to, from, body string) error

// Simulator is the simulated SIM bank: a few seconds after each purchase it sends
// the number a realistic SMS for the purchased service (for a rental, from a popular
// service) through Deliver.
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
}

func (s *Simulator) init() {
	s.once.Do(func() {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
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

// Hear answers the domain's purchases, and a resend's request for another
// code: pass it to App.Listen.
func (s *Simulator) Hear(_ context.Context, change any) {
	if r, ok := change.(fetchsms.CodeRequested); ok && r.Verification != nil {
		s.VerificationCreated(r.Verification)
		return
	}
	if p, ok := change.(fetchsms.PurchaseMade); ok {
		switch {
		case p.Verification != nil:
			s.VerificationCreated(p.Verification)
		case p.Rental != nil:
			s.RentalCreated(p.Rental)
		}
	}
}
