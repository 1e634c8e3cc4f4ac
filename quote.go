package fetchsms

// Quote is the exact price of a purchase, as GET /v1/services/quote shows it.
type Quote struct {
	Service        string // slug
	Mode           string // "short" or "long"
	Days           int    // 0 for short
	BaseDailyCents Cents
	DiscountPct    int
	PerDayCents    Cents // 0 for short
	SurchargeCents Cents
	TotalCents     Cents
}

// QuoteShort prices a verification of s, with the area-code surcharge when customArea.
func QuoteShort(s Service, customArea bool) (Quote, error) {
	if s.IsLongTerm() {
		return Quote{}, Errorf(EINVALID, "%s is the long-term product; quote it with mode=long", s.Slug)
	}
	q := Quote{Service: s.Slug, Mode: "short", BaseDailyCents: s.PriceCents, TotalCents: s.PriceCents}
	if customArea {
		q.SurchargeCents = AreaCodeSurchargeCents
		q.TotalCents += AreaCodeSurchargeCents
	}
	return q, nil
}

// QuoteLong prices a rental of the long-term product s for days, with the area-code
// surcharge when customArea. per_day = round(term price / days);
// discount = round(100 × (1 − term price / (base daily × days))).
func QuoteLong(s Service, days int, customArea bool) (Quote, error) {
	if !s.IsLongTerm() {
		return Quote{}, Errorf(EINVALID, "long-term rentals are the single unlimited-services product (id %d); %s is sold only as a short-term verification", UnlimitedServiceID, s.Slug)
	}
	if !ValidRentalTerm(days) {
		return Quote{}, Errorf(EUNPROCESSABLE, "unsupported duration %d: days must be one of 1, 7, 30, 90, 365", days)
	}
	price, ok := s.LongPrices[days]
	if !ok {
		return Quote{}, Errorf(EUNPROCESSABLE, "no price for a %d-day rental", days)
	}
	full := int64(s.PriceCents) * int64(days)
	q := Quote{
		Service:        s.Slug,
		Mode:           "long",
		Days:           days,
		BaseDailyCents: s.PriceCents,
		PerDayCents:    Cents(roundDiv(int64(price), int64(days))),
		TotalCents:     price,
	}
	if full > 0 {
		q.DiscountPct = int(roundDiv(100*(full-int64(price)), full))
	}
	if customArea {
		q.SurchargeCents = AreaCodeSurchargeCents
		q.TotalCents += AreaCodeSurchargeCents
	}
	return q, nil
}
