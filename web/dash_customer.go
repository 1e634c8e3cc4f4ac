package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/google/uuid"
)

// dashID returns the {id} path value when it is a UUID; otherwise it renders 404.
func (s *Server) dashID(w http.ResponseWriter, r *http.Request, p *pageData, name, what string) string {
	id := r.PathValue(name)
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		s.pageError(w, r, p, fetchsms.Errorf(fetchsms.ENOTFOUND, "%s not found", what))
		return ""
	}
	return id
}

// cursorOf reads ?cursor= for a page of a list; a bad one starts from the newest.
func cursorOf(r *http.Request) fetchsms.Page { return pageOf(r, "cursor", 25) }

// pageOf reads the cursor of a page of limit items from the query parameter
// param (a page with two lists pages each by its own).
func pageOf(r *http.Request, param string, limit int) fetchsms.Page {
	p := fetchsms.Page{Limit: limit}
	if c, err := strconv.ParseInt(r.URL.Query().Get(param), 10, 64); err == nil && c > 0 {
		p.Cursor = c
	}
	return p
}

type rentalTerm struct {
	Days  int
	Price fetchsms.Cents
}

type catalogView struct {
	Services  []fetchsms.ServiceStock
	Unlimited *fetchsms.ServiceStock
	Terms     []rentalTerm
	Query     string
	Surcharge fetchsms.Cents
}

// catalogView reads the catalog: short-term services (filtered by q) and the
// long-term product with its terms.
func (s *Server) catalogView(r *http.Request, q string) (*catalogView, error) {
	cat, err := s.App.Catalog(r.Context())
	if err != nil {
		return nil, err
	}
	v := &catalogView{Query: q, Surcharge: fetchsms.AreaCodeSurchargeCents}
	for i := range cat {
		c := cat[i]
		if c.IsLongTerm() {
			v.Unlimited = &c
			for d, price := range c.LongPrices {
				v.Terms = append(v.Terms, rentalTerm{d, price})
			}
			sort.Slice(v.Terms, func(a, b int) bool { return v.Terms[a].Days < v.Terms[b].Days })
			continue
		}
		if c.Matches(q) {
			v.Services = append(v.Services, c)
		}
	}
	return v, nil
}

type homeView struct {
	Balance       fetchsms.Cents
	Verifications []*fetchsms.Verification
	Rentals       []*fetchsms.Rental
	Tickets       []*fetchsms.Ticket
	Catalog       *catalogView
}

func (s *Server) dashHome(w http.ResponseWriter, r *http.Request, p *pageData) {
	ctx, uid := r.Context(), p.User.ID
	v := &homeView{}
	var err error
	if v.Balance, err = s.App.Balance(ctx, uid); err == nil {
		if v.Verifications, _, err = s.App.ListVerifications(ctx, uid, false, fetchsms.Page{Limit: 10}); err == nil {
			if v.Rentals, _, err = s.App.ListRentals(ctx, uid, false, fetchsms.Page{Limit: 10}); err == nil {
				if v.Tickets, _, err = s.App.Tickets(ctx, fetchsms.TicketFilter{UserID: uid}, fetchsms.Page{Limit: 3}); err == nil {
					v.Catalog, err = s.catalogView(r, "")
				}
			}
		}
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Overview", v
	s.render(w, r, http.StatusOK, "home", p)
}

func (s *Server) dashCatalog(w http.ResponseWriter, r *http.Request, p *pageData) {
	v, err := s.catalogView(r, r.URL.Query().Get("q"))
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Buy a number", v
	s.render(w, r, http.StatusOK, "catalog", p)
}

// areaCodeIn reads the optional area code of a purchase form.
func areaCodeIn(r *http.Request) string { return strings.TrimSpace(r.PostFormValue("area_code")) }

func (s *Server) dashBuyVerification(w http.ResponseWriter, r *http.Request, p *pageData) {
	back := safeNext(r.PostFormValue("back"))
	if r.PostFormValue("back") == "" {
		back = "/dashboard/catalog"
	}
	ref := strings.TrimSpace(r.PostFormValue("service"))
	if ref == "" {
		redirectErr(w, r, back, fetchsms.Errorf(fetchsms.EINVALID, "Choose a service."))
		return
	}
	v, err := s.App.CreateVerification(r.Context(), p.User.ID, fetchsms.VerificationRequest{Service: ref, AreaCode: areaCodeIn(r)})
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, "/dashboard/verifications/"+v.ID, "Number reserved: enter "+fetchsms.FormatUS(v.Number)+" in "+v.ServiceName+" and request the code.")
}

type verificationsView struct {
	Active, History []*fetchsms.Verification
	Next            int64
}

func (s *Server) dashVerifications(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &verificationsView{}
	var err error
	if v.Active, _, err = s.App.ListVerifications(r.Context(), p.User.ID, false, fetchsms.Page{Limit: 50}); err == nil {
		v.History, v.Next, err = s.App.ListVerifications(r.Context(), p.User.ID, true, cursorOf(r))
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Verifications", v
	s.render(w, r, http.StatusOK, "verifications", p)
}

func (s *Server) verification(w http.ResponseWriter, r *http.Request, p *pageData) *fetchsms.Verification {
	id := s.dashID(w, r, p, "id", "verification")
	if id == "" {
		return nil
	}
	v, err := s.App.Verification(r.Context(), p.User.ID, id)
	if err != nil {
		s.pageError(w, r, p, err)
		return nil
	}
	return v
}

func (s *Server) dashVerification(w http.ResponseWriter, r *http.Request, p *pageData) {
	if v := s.verification(w, r, p); v != nil {
		p.Title, p.Data = v.ServiceName+" verification", v
		s.render(w, r, http.StatusOK, "verification", p)
	}
}

// dashVerificationStatus is the fragment the verification page fetches when
// the event stream tells of a change (or, without EventSource, every 2 s).
func (s *Server) dashVerificationStatus(w http.ResponseWriter, r *http.Request, p *pageData) {
	if v := s.verification(w, r, p); v != nil {
		p.Data = v
		s.renderTemplate(w, r, http.StatusOK, "verification", "vstatus", p)
	}
}

func (s *Server) dashCancelVerification(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "verification")
	if id == "" {
		return
	}
	back := "/dashboard/verifications/" + id
	if _, err := s.App.CancelVerification(r.Context(), p.User.ID, id); err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, "Cancelled. The price is back in your wallet.")
}

func (s *Server) dashBuyRental(w http.ResponseWriter, r *http.Request, p *pageData) {
	days, _ := strconv.Atoi(r.PostFormValue("days"))
	if !fetchsms.ValidRentalTerm(days) {
		redirectErr(w, r, "/dashboard/catalog", fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Choose a term: 1, 7, 30, 90 or 365 days."))
		return
	}
	x, err := s.App.CreateRental(r.Context(), p.User.ID, fetchsms.RentalRequest{Service: strconv.Itoa(fetchsms.UnlimitedServiceID), Days: days, AreaCode: areaCodeIn(r)})
	if err != nil {
		redirectErr(w, r, "/dashboard/catalog", err)
		return
	}
	redirect(w, r, "/dashboard/rentals/"+x.ID, "Your number "+fetchsms.FormatUS(x.Number)+" is ready.")
}

type rentalsView struct {
	Active, History []*fetchsms.Rental
	Next            int64
}

func (s *Server) dashRentals(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &rentalsView{}
	var err error
	if v.Active, _, err = s.App.ListRentals(r.Context(), p.User.ID, false, fetchsms.Page{Limit: 50}); err == nil {
		v.History, v.Next, err = s.App.ListRentals(r.Context(), p.User.ID, true, cursorOf(r))
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = "Rentals", v
	s.render(w, r, http.StatusOK, "rentals", p)
}

type rentalView struct {
	Rental   *fetchsms.Rental
	Messages []*fetchsms.Message
	Next     int64
	Live     bool         // messages may still arrive
	Older    bool         // a page after the first
	Terms    []rentalTerm // what an extension costs, by term
}

func (s *Server) rental(w http.ResponseWriter, r *http.Request, p *pageData) *rentalView {
	id := s.dashID(w, r, p, "id", "rental")
	if id == "" {
		return nil
	}
	v := &rentalView{Older: r.URL.Query().Get("cursor") != ""}
	var err error
	if v.Rental, err = s.App.Rental(r.Context(), p.User.ID, id); err == nil {
		v.Messages, v.Next, err = s.App.RentalMessages(r.Context(), p.User.ID, id, cursorOf(r))
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return nil
	}
	v.Live = v.Rental.Status == fetchsms.StatusWaiting || v.Rental.Status == fetchsms.StatusReceived
	return v
}

func (s *Server) dashRental(w http.ResponseWriter, r *http.Request, p *pageData) {
	if v := s.rental(w, r, p); v != nil {
		if v.Live {
			cat, err := s.catalogView(r, "")
			if err != nil {
				s.pageError(w, r, p, err)
				return
			}
			v.Terms = cat.Terms
		}
		p.Title, p.Data = "Rental "+fetchsms.FormatUS(v.Rental.Number), v
		s.render(w, r, http.StatusOK, "rental", p)
	}
}

// dashRentalMessages is the messages card the rental page fetches when the
// event stream tells of a message.
func (s *Server) dashRentalMessages(w http.ResponseWriter, r *http.Request, p *pageData) {
	if v := s.rental(w, r, p); v != nil {
		p.Data = v
		s.renderTemplate(w, r, http.StatusOK, "rental", "rmessages", p)
	}
}

// dashExtendRental adds a term to a live rental (App.ExtendRental: the
// long-term price of those days).
func (s *Server) dashExtendRental(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "rental")
	if id == "" {
		return
	}
	back := "/dashboard/rentals/" + id
	days, _ := strconv.Atoi(r.PostFormValue("days"))
	x, err := s.App.ExtendRental(r.Context(), p.User.ID, id, days)
	if err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, "Extended: the number is yours until "+x.ExpiresAt.UTC().Format("Jan 2, 2006 15:04 UTC")+".")
}

func (s *Server) dashCancelRental(w http.ResponseWriter, r *http.Request, p *pageData) {
	id := s.dashID(w, r, p, "id", "rental")
	if id == "" {
		return
	}
	back := "/dashboard/rentals/" + id
	if _, err := s.App.CancelRental(r.Context(), p.User.ID, id); err != nil {
		redirectErr(w, r, back, err)
		return
	}
	redirect(w, r, back, "Rental cancelled and refunded.")
}

type walletView struct {
	Balance      fetchsms.Cents
	Entries      []*fetchsms.LedgerEntry
	Next         int64
	Deposits     []*fetchsms.Deposit
	DepositsNext int64
	Presets      []int
	Providers    []string       // the server's payment providers, the default first
	Return       *depositReturn // the deposit a provider sent the customer back with
}

func (s *Server) dashWallet(w http.ResponseWriter, r *http.Request, p *pageData) {
	v := &walletView{Presets: []int{10, 25, 50, 100}, Providers: s.App.PaymentProviders()}
	var err error
	if v.Return, err = s.depositReturn(r, p.User.ID); err == nil {
		if v.Balance, err = s.App.Balance(r.Context(), p.User.ID); err == nil {
			if v.Entries, v.Next, err = s.App.Ledger(r.Context(), p.User.ID, cursorOf(r)); err == nil {
				v.Deposits, v.DepositsNext, err = s.App.Deposits(r.Context(), p.User.ID, pageOf(r, depositsCursor, 10))
			}
		}
	}
	s.show(w, r, p, err, "wallet", "Wallet", v)
}

// parseDollars reads an amount such as "25", "25.5" or "$1,000.00" as cents.
func parseDollars(s string) (fetchsms.Cents, bool) {
	s = strings.NewReplacer("$", "", ",", "", " ", "").Replace(strings.TrimSpace(s))
	neg := strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−")
	s = strings.TrimLeft(s, "-−+")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 2 || len(whole) > 9 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	d, err1 := strconv.ParseUint(whole, 10, 64)
	c, err2 := strconv.ParseUint(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	v := fetchsms.Cents(d*100 + c)
	if neg {
		v = -v
	}
	return v, true
}

func (s *Server) dashDeposit(w http.ResponseWriter, r *http.Request, p *pageData) {
	// The bounds are App.Deposit's (MinDeposit, MaxDeposit); this is their wording for a form.
	badAmount := fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Enter an amount from $1.00 to $10,000.00.")
	in := r.PostFormValue("preset") // a quick amount's button, else the amount field
	if in == "" {
		in = r.PostFormValue("amount")
	}
	amount, ok := parseDollars(in)
	if !ok {
		redirectErr(w, r, "/dashboard/wallet", badAmount)
		return
	}
	if len(s.App.PaymentProviders()) == 0 {
		redirectErr(w, r, "/dashboard/wallet", fetchsms.Errorf(fetchsms.ECONFLICT, "Deposits are not configured on this server."))
		return
	}
	provider := r.PostFormValue("provider")
	if provider != "" && s.App.PaymentProvider(provider) == nil {
		redirectErr(w, r, "/dashboard/wallet", fetchsms.Errorf(fetchsms.EUNPROCESSABLE, "Choose how to pay from the list."))
		return
	}
	d, err := s.App.Deposit(r.Context(), p.User.ID, provider, amount, baseURL(r)+"/dashboard/wallet")
	switch {
	case fetchsms.ErrorCode(err) == fetchsms.EUNPROCESSABLE: // out of the bounds App.Deposit keeps
		redirectErr(w, r, "/dashboard/wallet", badAmount)
	case err != nil:
		redirectErr(w, r, "/dashboard/wallet", err)
	case d.Status == fetchsms.DepositPending && d.CheckoutURL != "":
		s.dashCheckout(w, r, p, d) // on to the provider's own page
	case d.Status == fetchsms.DepositPending:
		redirect(w, r, "/dashboard/wallet", "Deposit started. Your balance updates when the payment clears.")
	default:
		redirect(w, r, "/dashboard/wallet", "Added "+dollarsText(amount)+" to your wallet.")
	}
}
