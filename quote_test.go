package fetchsms

import "testing"

func unlimited() Service {
	return Service{ID: 1, Slug: "unlimited-services", Name: "Unlimited Services", PriceCents: 300,
		LongPrices: map[int]Cents{1: 300, 7: 600, 30: 1200, 90: 2500, 365: 9000}}
}

func TestQuoteLong(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		days, perDay, discount int
		total                  Cents
	}{
		{1, 300, 0, 300},
		{7, 86, 71, 600},    // 600/7 = 85.7; 1 − 600/2100 = 71.4%
		{30, 40, 87, 1200},  // the seed's example
		{90, 28, 91, 2500},  // 27.8; 90.7%
		{365, 25, 92, 9000}, // 24.7; 91.8%
	} {
		q, err := QuoteLong(unlimited(), tc.days, false)
		if err != nil {
			t.Fatal(err)
		}
		if q.PerDayCents != Cents(tc.perDay) || q.DiscountPct != tc.discount || q.TotalCents != tc.total || q.BaseDailyCents != 300 {
			t.Errorf("%d days: got %+v", tc.days, q)
		}
		s, _ := QuoteLong(unlimited(), tc.days, true)
		if s.SurchargeCents != 10 || s.TotalCents != tc.total+10 || s.PerDayCents != q.PerDayCents {
			t.Errorf("%d days with area code: got %+v", tc.days, s)
		}
	}
	if _, err := QuoteLong(unlimited(), 45, false); ErrorCode(err) != EUNPROCESSABLE {
		t.Errorf("45 days: %v", err)
	}
	if _, err := QuoteLong(Service{ID: 4, Slug: "telegram", PriceCents: 70}, 30, false); ErrorCode(err) != EINVALID {
		t.Errorf("short service long: %v", err)
	}
}

func TestQuoteShort(t *testing.T) {
	t.Parallel()
	tg := Service{ID: 4, Slug: "telegram", PriceCents: 70}
	q, _ := QuoteShort(tg, true)
	if q != (Quote{Service: "telegram", Mode: "short", BaseDailyCents: 70, SurchargeCents: 10, TotalCents: 80}) {
		t.Errorf("got %+v", q)
	}
	if _, err := QuoteShort(unlimited(), false); ErrorCode(err) != EINVALID {
		t.Errorf("unlimited short: %v", err)
	}
}

func TestRoundDiv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, want int64 }{{1, 2, 1}, {1, 3, 0}, {2, 3, 1}, {-1, 2, -1}, {5, 10, 1}, {4, 10, 0}} {
		if got := roundDiv(tc.a, tc.b); got != tc.want {
			t.Errorf("roundDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
