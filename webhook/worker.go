package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// Store is what the worker needs: the domain's delivery steps (fetchsms.App),
// which lease due deliveries and apply the retry rules to each attempt.
type Store interface {
	// ClaimDeliveries leases due deliveries; inFlight counts, by account, those
	// the worker sends already (one account gets a fair share of the slots).
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration, inFlight map[string]int) ([]*fetchsms.Delivery, error)
	RecordAttempt(ctx context.Context, d *fetchsms.Delivery, a fetchsms.DeliveryAttempt) error
}

// Worker sends due deliveries. It wakes on Wake (signalled after a commit that
// enqueued deliveries) and at least every Poll, so retries become due by the
// business clock and a restart resumes where it stopped: all state is in the store.
type Worker struct {
	Store       Store
	Sender      *Sender
	Wake        <-chan struct{}
	Poll        time.Duration
	Concurrency int
	Logger      *slog.Logger
}

// lease covers the longest attempt (the sender's timeout is 10 s); deliveries a
// worker held when it died go to another worker, or to the restarted one, after it.
const lease = 15 * time.Second

// Run delivers until ctx ends, then waits for attempts in flight.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	n := w.Concurrency
	if n <= 0 {
		n = 16
	}
	sem := make(chan struct{}, n)
	freed := make(chan struct{}, 1)
	var mu sync.Mutex
	inFlight := map[string]int{} // by account: what this worker sends now
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			free := n - len(sem)
			if free == 0 {
				break
			}
			mu.Lock()
			busy := make(map[string]int, len(inFlight))
			for k, v := range inFlight {
				busy[k] = v
			}
			mu.Unlock()
			ds, err := w.Store.ClaimDeliveries(ctx, free, lease, busy)
			if err != nil {
				if ctx.Err() == nil && w.Logger != nil {
					if fetchsms.ErrorCode(err) == fetchsms.EUNAVAILABLE {
						w.Logger.Warn("claim deliveries: storage unavailable", "err", err)
					} else {
						w.Logger.Error("claim deliveries", "err", err)
					}
				}
				break
			}
			for _, d := range ds {
				sem <- struct{}{}
				mu.Lock()
				inFlight[d.UserID]++
				mu.Unlock()
				wg.Add(1)
				go func(d *fetchsms.Delivery) {
					defer wg.Done()
					defer func() {
						mu.Lock()
						if inFlight[d.UserID]--; inFlight[d.UserID] <= 0 {
							delete(inFlight, d.UserID)
						}
						mu.Unlock()
						<-sem
						select {
						case freed <- struct{}{}:
						default:
						}
					}()
					a := w.Sender.Send(ctx, d)
					if ctx.Err() != nil {
						return // shutting down: the lease lapses and the delivery is retried
					}
					if err := w.Store.RecordAttempt(context.WithoutCancel(ctx), d, a); err != nil && w.Logger != nil {
						w.Logger.Error("record delivery attempt", "delivery", d.ID, "err", err)
					}
				}(d)
			}
			if len(ds) < free {
				break // nothing more due, or only accounts at their share
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.Wake:
		case <-freed:
		case <-t.C:
		}
	}
}
