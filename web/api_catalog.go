package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	fetchsms "github.com/fetchsms/fetchsms"
)

// longPrices renders a term → price map with keys in numeric order, as documented.
type longPrices map[int]fetchsms.Cents

func (m longPrices) MarshalJSON() ([]byte, error) {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.Itoa(k) + `":` + strconv.FormatInt(int64(m[k]), 10))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type serviceJSON struct {
	ID             int            `json:"id"`
	Slug           string         `json:"slug"`
	Name           string         `json:"name"`
	PriceCents     fetchsms.Cents `json:"price_cents"`
	LongPrices     longPrices     `json:"long_prices"`
	ShortAvailable int            `json:"short_available"`
	LongAvailable  int            `json:"long_available"`
	Category       string         `json:"category"`
	Aliases        []string       `json:"aliases"`
	// Reliability is null below the minimum sample (fetchsms.ReliabilityMinSample).
	Reliability *reliabilityJSON `json:"reliability"`
}

type reliabilityJSON struct {
	SuccessRate   float64 `json:"success_rate"`
	MedianSeconds int     `json:"median_seconds"`
	Sample        int     `json:"sample"`
}

func reliabilityOut(r *fetchsms.Reliability) *reliabilityJSON {
	if r == nil {
		return nil
	}
	return &reliabilityJSON{SuccessRate: r.SuccessRate, MedianSeconds: r.MedianSeconds, Sample: r.Sample}
}

// handleServices answers GET /v1/services, the whole catalog from a cache, or
// with ?q= the services a search finds (ServiceStock.Matches), uncached.
func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) {
	q, search := "", false
	if r.URL.RawQuery != "" {
		q = r.URL.Query().Get("q")
		if len(q) > 100 || !utf8.ValidString(q) {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "q must be at most 100 characters of UTF-8"))
			return
		}
		search = strings.TrimSpace(q) != ""
	}
	now := time.Now()
	var gen uint64
	if !search {
		var body []byte
		if body, gen = s.catalog.get(now); body != nil {
			writeBody(w, body)
			return
		}
	}
	cat, err := s.App.Catalog(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]serviceJSON, 0, len(cat))
	for _, c := range cat {
		if !c.Matches(q) {
			continue
		}
		aliases := c.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		lp := longPrices(c.LongPrices)
		if lp == nil {
			lp = longPrices{}
		}
		out = append(out, serviceJSON{ID: c.ID, Slug: c.Slug, Name: c.Name, PriceCents: c.PriceCents, LongPrices: lp,
			ShortAvailable: c.ShortAvailable, LongAvailable: c.LongAvailable, Category: c.Category, Aliases: aliases, Reliability: reliabilityOut(c.Reliability)})
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body = append(body, '\n')
	if !search {
		s.catalog.put(body, now, gen)
	}
	writeBody(w, body)
}

// writeBody writes a ready JSON body with its length, so the answer goes out in one
// piece rather than in chunks.
func writeBody(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (s *Server) handleAreaCodes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode := q.Get("mode")
	if mode == "" {
		mode = "short"
	}
	if mode != "short" && mode != "long" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "mode must be \"short\" or \"long\""))
		return
	}
	var svc *fetchsms.Service
	if ref := q.Get("service"); ref != "" {
		var err error
		if svc, err = s.App.ServiceByRef(r.Context(), ref); err != nil {
			s.writeError(w, r, err)
			return
		}
		if mode == "short" && svc.IsLongTerm() {
			mode = "long"
		}
	}
	codes, err := s.App.AreaCodes(r.Context(), mode, svc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, codes)
}

type quoteJSON struct {
	Service        string          `json:"service"`
	Mode           string          `json:"mode"`
	Days           *int            `json:"days"`
	BaseDailyCents fetchsms.Cents  `json:"base_daily_cents"`
	DiscountPct    int             `json:"discount_pct"`
	PerDayCents    *fetchsms.Cents `json:"per_day_cents"`
	SurchargeCents fetchsms.Cents  `json:"surcharge_cents"`
	TotalCents     fetchsms.Cents  `json:"total_cents"`
}

func (s *Server) handleQuote(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref, mode := q.Get("service"), q.Get("mode")
	if ref == "" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "service is required"))
		return
	}
	if mode == "" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "mode is required: \"short\" or \"long\""))
		return
	}
	if mode != "short" && mode != "long" {
		s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "mode must be \"short\" or \"long\""))
		return
	}
	custom := false
	if v := q.Get("custom_area_code"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "custom_area_code must be true or false"))
			return
		}
		custom = b
	}
	days := 0
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "days must be one of 1, 7, 30, 90, 365"))
			return
		}
		days = n
	}
	svc, err := s.App.ServiceByRef(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var quote fetchsms.Quote
	if mode == "short" {
		if days != 0 {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "days applies only to mode=long"))
			return
		}
		quote, err = fetchsms.QuoteShort(*svc, custom)
	} else {
		if q.Get("days") == "" {
			s.writeError(w, r, fetchsms.Errorf(fetchsms.EINVALID, "days is required for mode=long: 1, 7, 30, 90 or 365"))
			return
		}
		quote, err = fetchsms.QuoteLong(*svc, days, custom)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := quoteJSON{Service: quote.Service, Mode: quote.Mode, BaseDailyCents: quote.BaseDailyCents, DiscountPct: quote.DiscountPct,
		SurchargeCents: quote.SurchargeCents, TotalCents: quote.TotalCents}
	if quote.Mode == "long" {
		d, p := quote.Days, quote.PerDayCents
		out.Days, out.PerDayCents = &d, &p
	}
	writeJSON(w, http.StatusOK, out)
}
