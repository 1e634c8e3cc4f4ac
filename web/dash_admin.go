package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

type adminUsersView struct {
	Users []*fetchsms.User
	Next  int64
	Query string // the search, as typed
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &adminUsersView{Query: r.URL.Query().Get("q")}
	q, err := fetchsms.AdminSearch(v.Query, false)
	page := cursorOf(r)
	page.Query = q
	if err == nil {
		v.Users, v.Next, err = s.App.ListUsers(r.Context(), page)
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Users", v
	s.render(w, r, http.StatusOK, "admin_users", p)
}

type adminUserView struct {
	Account *fetchsms.User
	Entries []*fetchsms.LedgerEntry
	Next    int64
	Tickets []*fetchsms.Ticket
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "user")
	if id == "" {
		return
	}
	v := &adminUserView{}
	var err error
	if v.Account, err = s.App.UserByID(r.Context(), id); err == nil {
		if v.Entries, v.Next, err = s.App.Ledger(r.Context(), id, cursorOf(r)); err == nil {
			v.Tickets, _, err = s.App.Tickets(r.Context(), fetchsms.TicketFilter{UserID: id}, fetchsms.Page{Limit: 10})
		}
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = v.Account.Email, v
	s.render(w, r, http.StatusOK, "admin_user", p)
}

func (s *Server) adminAdjust(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "user")
	if id == "" {
		return
	}
	back := "/admin/users/" + id
	amount, ok := parseDollars(r.PostFormValue("amount"))
	if !ok || amount == 0 || amount > 1_000_000_00 || amount < -1_000_000_00 {
		redirectErr(w, r, back, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Enter a non-zero amount in dollars, negative to debit (for example 5.00 or -2.50)."))
		return
	}
	if _, err := s.App.UserByID(r.Context(), id); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	e, err := s.App.Adjust(r.Context(), id, amount, r.PostFormValue("reason"))
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, "Adjusted by "+dollarsText(e.AmountCents)+". New balance "+dollarsText(e.BalanceAfterCents)+".")
}

func (s *Server) adminSetDisabled(disabled bool) dashPage {
	return func(w http.ResponseWriter, r *http.Request, p *pageData) {
		id := s.dashID(w, r, p, "id", "user")
		if id == "" {
			return
		}
		back := "/admin/users/" + id
		if disabled && id == p.User.ID {
			redirectErr(w, r, back, fetchsms.Errorf(fetchsms.EINVALID, "You cannot disable your own account."))
			return
		}
		u, err := s.App.SetUserDisabled(r.Context(), id, disabled)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		msg := u.Email + " can sign in again."
		if disabled {
			msg = u.Email + " is disabled: their sessions and API keys stop working."
		}
		redirect(w, r, back, msg)
	}
}

type adminNumbersView struct {
	Numbers  []*fetchsms.PoolNumber
	Next     int64
	Gateways []*fetchsms.Gateway
	Total    int
	Cursor   int64                  // of this page, kept by the disable and enable forms
	Reports  map[string]*reportLine // by number id: reports of the number
	Reported []*reportLine          // the most reported numbers
	Query    string                 // the search, as typed
}

func (s *Server) adminNumbers(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &adminNumbersView{Cursor: cursorOf(r).Cursor, Query: r.URL.Query().Get("q")}
	q, err := fetchsms.AdminSearch(v.Query, true)
	if err == nil {
		v.Numbers, v.Next, err = s.App.ListNumbers(r.Context(), fetchsms.Page{Limit: 100, Cursor: cursorOf(r).Cursor, Query: q})
	}
	if err == nil {
		if v.Gateways, err = s.App.ListGateways(r.Context()); err == nil {
			if v.Total, err = s.App.CountNumbers(r.Context()); err == nil {
				v.Reports, _, v.Reported, err = s.reportLines(r)
			}
		}
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Number pool", v
	s.render(w, r, http.StatusOK, "admin_numbers", p)
}

func (s *Server) adminImportNumbers(w http.ResponseWriter, r *http.Request, p *pageData) {
	gw := strings.TrimSpace(r.PostFormValue("gateway_id"))
	var numbers []string
	for _, f := range strings.FieldsFunc(r.PostFormValue("numbers"), func(c rune) bool { return c == '\n' || c == ',' || c == ';' || c == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			numbers = append(numbers, normalizeNumber(f))
		}
	}
	if gw == "" || len(numbers) == 0 {
		s.again(w, r, p, fetchsms.Errorf(fetchsms.EINVALID, "Choose a gateway and paste at least one number."), s.adminNumbers)
		return
	}
	if len(numbers) > 5000 {
		s.again(w, r, p, fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Import at most 5000 numbers at a time."), s.adminNumbers)
		return
	}
	added, skipped, err := s.App.ImportNumbers(r.Context(), gw, fetchsms.PlainNumbers(numbers))
	if err != nil {
		s.again(w, r, p, err, s.adminNumbers)
		return
	}
	redirect(w, r, "/admin/numbers", plural(added, "number")+" added, "+plural(skipped, "duplicate")+" skipped.")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func (s *Server) adminSupport(w http.ResponseWriter, r *http.Request, p *pageData) {
	st := r.URL.Query().Get("status")
	switch st {
	case "", fetchsms.TicketOpen, fetchsms.TicketAnswered, fetchsms.TicketClosed:
	case "all":
		st = ""
	default:
		st = fetchsms.TicketOpen
	}
	if r.URL.Query().Get("status") == "" {
		st = fetchsms.TicketOpen
	}
	list, next, err := s.App.Tickets(r.Context(), fetchsms.TicketFilter{Status: st}, cursorOf(r))
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if st == "" {
		st = "all"
	}
	p.Title, p.Data = "Support queue", &supportView{Tickets: list, Next: next, Status: st}
	s.render(w, r, http.StatusOK, "admin_support", p)
}

func (s *Server) adminTicket(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.showTicketPage(w, r, p, true)
}

func (s *Server) adminTicketReply(w http.ResponseWriter, r *http.Request, p *pageData) {
	s.ticketReply(w, r, p, true)
}

func (s *Server) adminCloseTicket(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "ticket")
	if id == "" {
		return
	}
	if _, err := s.App.CloseTicket(r.Context(), id); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	redirect(w, r, "/admin/support/"+id, "Ticket closed.")
}

type statsView struct {
	Window    string
	Windows   []string
	Services  []fetchsms.ServiceStats
	Totals    fetchsms.ServiceStats
	Charts    []chartView
	LowStock  []fetchsms.ServiceStock // enabled services with fewer than LowStockLimit numbers for sale
	Unhealthy []*fetchsms.GatewayHealth
}

type chartView struct {
	Title string
	SVG   template.HTML
}

// LowStockLimit: a service with fewer numbers for sale is flagged on the stats page.
const LowStockLimit = 5

// trendSteps is how each window of the stats page is cut into periods.
var trendSteps = map[string]struct {
	step   time.Duration
	n      int
	layout string
}{"24h": {time.Hour, 24, "15h"}, "7d": {24 * time.Hour, 7, "Jan 2"}, "30d": {24 * time.Hour, 30, "Jan 2"}, "all": {30 * 24 * time.Hour, 12, "Jan 06"}}

var statsWindows = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "all": 0}

func (s *Server) adminStats(w http.ResponseWriter, r *http.Request, p *pageData) {
	win := r.URL.Query().Get("window")
	d, ok := statsWindows[win]
	if !ok {
		win, d = "7d", statsWindows["7d"]
	}
	var since time.Time
	if d > 0 {
		since = s.now().Add(-d)
	}
	list, err := s.App.ServiceStats(r.Context(), since)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v := &statsView{Window: win, Windows: []string{"24h", "7d", "30d", "all"}, Services: list}
	for _, st := range list {
		v.Totals.Purchases += st.Purchases
		v.Totals.Received += st.Received
		v.Totals.Ended += st.Ended
		v.Totals.RevenueCents += st.RevenueCents
	}
	if err := s.statsCharts(r, v, win); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Stats", v
	s.render(w, r, http.StatusOK, "admin_stats", p)
}

// statsCharts adds the trend charts (revenue, purchases, success rate, time to
// code), stock by service, and the low-stock and gateway-health warnings.
func (s *Server) statsCharts(r *http.Request, v *statsView, win string) error {
	ts := trendSteps[win]
	trend, err := s.App.StatsTrend(r.Context(), s.now(), ts.step, ts.n)
	if err != nil {
		return err
	}
	labels := make([]string, len(trend))
	rev, buys, rate, wait := make([]float64, len(trend)), make([]float64, len(trend)), make([]float64, len(trend)), make([]float64, len(trend))
	for i, p := range trend {
		labels[i] = p.Start.UTC().Format(ts.layout)
		rev[i], buys[i], rate[i], wait[i] = float64(p.RevenueCents), float64(p.Purchases), p.SuccessRate()*100, p.MedianToCode.Seconds()
	}
	dollars := func(c float64) string { return dollarsText(fetchsms.Cents(c)) }
	count := func(f float64) string { return fmt.Sprintf("%.0f", f) }
	pctText := func(f float64) string { return fmt.Sprintf("%.0f%%", f) }
	secs := func(f float64) string { return fmt.Sprintf("%.1f s", f) }
	v.Charts = []chartView{
		{"Revenue", barChart("chart-revenue", "Revenue by period", labels, rev, dollars)},
		{"Purchases", barChart("chart-purchases", "Purchases by period", labels, buys, count)},
		{"Success rate", barChart("chart-success", "Success rate by period", labels, rate, pctText)},
		{"Median time to code", barChart("chart-wait", "Median time to code by period", labels, wait, secs)},
	}
	cat, err := s.App.Catalog(r.Context())
	if err != nil {
		return err
	}
	var names []string
	var stock []float64
	for _, c := range cat {
		if c.IsLongTerm() {
			continue
		}
		if c.Enabled && c.ShortAvailable < LowStockLimit {
			v.LowStock = append(v.LowStock, c)
		}
		if len(names) < 20 {
			names, stock = append(names, c.Name), append(stock, float64(c.ShortAvailable))
		}
	}
	v.Charts = append(v.Charts, chartView{"Numbers for sale, first 20 services", barChart("chart-stock", "Numbers for sale by service", names, stock, count)})
	gws, err := s.App.GatewaysHealth(r.Context())
	if err != nil {
		return err
	}
	for _, g := range gws {
		if g.Health == fetchsms.HealthSilent || g.Health == fetchsms.HealthDisabled {
			v.Unhealthy = append(v.Unhealthy, g)
		}
	}
	return nil
}
