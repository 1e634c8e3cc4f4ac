package fetchsms

// Service is one entry of the catalog. Short-term verifications are sold per service;
// the long-term product is the single service UnlimitedServiceID, whose LongPrices map
// holds the price of each rental term. Senders and Keywords are the detection rules
// that tie an inbound SMS to the service.
type Service struct {
	ID         int
	Slug       string
	Name       string
	PriceCents Cents
	LongPrices map[int]Cents // term in days → price; empty except on the unlimited product
	Enabled    bool
	// Senders are sender ids that hint at this service: alphanumeric names
	// ("Telegram"), short codes ("32665") or long numbers. A hint, not proof: short
	// codes are shared by many services.
	Senders []string
	// Keywords are lower-case words or phrases that name the service in a message body.
	Keywords []string
}

// IsLongTerm reports whether s is the long-term rental product.
func (s Service) IsLongTerm() bool { return s.ID == UnlimitedServiceID }

// ServiceStock is a service with its live availability.
type ServiceStock struct {
	Service
	ShortAvailable int
	LongAvailable  int
}
