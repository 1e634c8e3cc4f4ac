package main

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/fetchsms/fetchsms/client"
)

// TestClientCatalog: the Go client's catalog calls against the real server,
// without a credential: the seed's ids and prices, area codes, and its two quote
// examples to the cent.
func TestClientCatalog(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--sandbox", "--simulator=false")
	api := s.api(t, "")
	ctx := context.Background()

	services := noErr[[]client.Service](t)(api.Services(ctx))
	byID := map[int]client.Service{}
	for _, x := range services {
		byID[x.ID] = x
	}
	if len(services) < 50 || byID[4].Slug != "telegram" || byID[4].PriceCents != 70 || byID[2].Slug != "whatsapp" || byID[2].PriceCents != 140 ||
		len(byID[4].LongPrices) != 0 || byID[4].ShortAvailable == 0 {
		t.Errorf("catalog: %d services, 4 = %+v, 2 = %+v", len(services), byID[4], byID[2])
	}
	if u := byID[1]; u.Slug != "unlimited-services" || u.LongPrices["30"] != 1200 || u.LongPrices["365"] != 9000 || u.LongAvailable == 0 {
		t.Errorf("the long-term product = %+v", u)
	}

	threeDigits := regexp.MustCompile(`^\d{3}$`)
	for _, r := range []client.AreaCodesRequest{{}, {Mode: client.ModeShort, Service: "2"}, {Mode: client.ModeLong}} {
		codes := noErr[[]string](t)(api.AreaCodes(ctx, r))
		if len(codes) == 0 {
			t.Errorf("area codes %+v: none", r)
		}
		for _, c := range codes {
			if !threeDigits.MatchString(c) {
				t.Errorf("area codes %+v: %q", r, c)
			}
		}
	}
	_, err := api.AreaCodes(ctx, client.AreaCodesRequest{Service: "no-such-service"})
	wantAPIError(t, "area codes of an unknown service", err, http.StatusNotFound, client.CodeUnknownService)

	short := noErr[*client.Quote](t)(api.Quote(ctx, client.QuoteRequest{Service: "4", Mode: client.ModeShort, CustomAreaCode: true}))
	if *short != (client.Quote{Service: "telegram", Mode: "short", BaseDailyCents: 70, SurchargeCents: 10, TotalCents: 80}) {
		t.Errorf("the seed's short quote = %+v", short)
	}
	long := noErr[*client.Quote](t)(api.Quote(ctx, client.QuoteRequest{Service: client.UnlimitedServices, Mode: client.ModeLong, Days: 30}))
	if long.Service != "unlimited-services" || long.Days == nil || *long.Days != 30 || long.BaseDailyCents != 300 || long.DiscountPct != 87 ||
		long.PerDayCents == nil || *long.PerDayCents != 40 || long.SurchargeCents != 0 || long.TotalCents != 1200 {
		t.Errorf("the seed's long quote = %+v", long)
	}
	_, err = api.Quote(ctx, client.QuoteRequest{Service: client.UnlimitedServices, Mode: client.ModeLong, Days: 45})
	wantAPIError(t, "a quote for 45 days", err, http.StatusUnprocessableEntity, client.CodeInvalidValue)
}
