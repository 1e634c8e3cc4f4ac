package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	fetchsms "github.com/fetchsms/fetchsms"
)

// The SMS-Activate handler API (SPEC §6, docs/SMS-ACTIVATE.md): the protocol
// that existing SMS-activation tools speak, GET or POST
// /stubs/handler_api.php?api_key=…&action=…, translated onto the same domain
// calls as the JSON API — the same money rules, per-key limit, Idempotency-Key,
// events and webhooks. Every answer is HTTP 200 with the protocol's word
// (ACCESS_NUMBER:…, NO_BALANCE, …) or, for its JSON actions, a JSON body.
// Activations are verifications: an activation id is the verification's ref
// read as a number (activationID); phone numbers are digits with the country
// code and no "+"; prices are dollars; the country is the USA, 187.

// handlerActions are the protocol's actions this server answers.
var handlerActions = map[string]func(s *Server, w http.ResponseWriter, r *http.Request, p url.Values){
	"getBalance":            (*Server).haBalance,
	"getBalanceAndCashBack": (*Server).haBalance,
	"getNumber":             func(s *Server, w http.ResponseWriter, r *http.Request, p url.Values) { s.haNumber(w, r, p, false) },
	"getNumberV2":           func(s *Server, w http.ResponseWriter, r *http.Request, p url.Values) { s.haNumber(w, r, p, true) },
	"getStatus":             (*Server).haStatus,
	"getStatusV2":           (*Server).haStatusV2,
	"getFullSms":            (*Server).haFullSMS,
	"setStatus":             (*Server).haSetStatus,
	"getActiveActivations":  (*Server).haActiveActivations,
	"getPrices":             func(s *Server, w http.ResponseWriter, r *http.Request, p url.Values) { s.haPrices(w, r, p, false) },
	"getPricesVerification": func(s *Server, w http.ResponseWriter, r *http.Request, p url.Values) { s.haPrices(w, r, p, true) },
	"getNumbersStatus":      (*Server).haNumbersStatus,
	"getServicesList":       (*Server).haServicesList,
	"getCountries":          (*Server).haCountries,
}

// handleHandlerAPI authenticates a call by its API key (api_key, or the
// X-ApiKey header), applies the key's rate limit and runs its action.
func (s *Server) handleHandlerAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		haWord(w, "BAD_ACTION")
		return
	}
	p := handlerParams(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
	key := p.Get("api_key")
	if key == "" {
		key = r.Header.Get("X-ApiKey")
	}
	if key == "" {
		haWord(w, "BAD_KEY")
		return
	}
	// An API key only: a session token has no place in a URL, nor a gateway's.
	principal, err := s.principal(r.Context(), key)
	if err == nil && principal.Kind != fetchsms.KindAPIKey {
		err = fetchsms.Errorf(fetchsms.EFORBIDDEN, "API keys only")
	}
	if err != nil {
		s.haError(w, r, err)
		return
	}
	if ok, wait := s.limits.perKey.allow(principal.CredentialID, time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
		haWord(w, "RATE_LIMITED")
		return
	}
	action, ok := handlerActions[p.Get("action")]
	if !ok {
		haWord(w, "BAD_ACTION")
		return
	}
	action(s, w, withPrincipal(r, principal), p)
}

// haWord answers one of the protocol's plain words.
func haWord(w http.ResponseWriter, word string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, word)
}

// haJSON answers one of the protocol's JSON bodies.
func haJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		haWord(w, "ERROR_SQL")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// haError answers a domain error with the protocol's word for it. Our own
// failures are logged as the JSON API logs them (the path only: the query
// holds the key) and answer ERROR_SQL, the protocol's word for them.
func (s *Server) haError(w http.ResponseWriter, r *http.Request, err error) {
	word := ""
	switch fetchsms.ErrorReason(err) {
	case fetchsms.ReasonOutOfStock:
		word = "NO_NUMBERS"
	case fetchsms.ReasonUnknownService:
		word = "BAD_SERVICE"
	case fetchsms.ReasonAboveMaxPrice:
		word = "MAX_PRICE_EXCEEDED"
	case fetchsms.ReasonAlreadyReceived, fetchsms.ReasonNotWaiting:
		word = "BAD_STATUS"
	}
	if word == "" {
		switch fetchsms.ErrorCode(err) {
		case fetchsms.EPAYMENT:
			word = "NO_BALANCE"
		case fetchsms.ENOTFOUND:
			word = "NO_ACTIVATION"
		case fetchsms.EUNAUTHORIZED, fetchsms.EFORBIDDEN:
			word = "BAD_KEY"
		case fetchsms.ECONFLICT:
			word = "BAD_STATUS"
		case fetchsms.ERATELIMIT:
			word = "RATE_LIMITED"
		case fetchsms.EINVALID, fetchsms.EUNPROCESSABLE, fetchsms.ETOOLARGE:
			word = "BAD_ACTION"
		default: // storage unavailable, or a bug
			s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			word = "ERROR_SQL"
		}
	}
	haWord(w, word)
}

func (s *Server) haBalance(w http.ResponseWriter, r *http.Request, _ url.Values) {
	b, err := s.App.Balance(r.Context(), principalOf(r).User.ID)
	if err != nil {
		s.haError(w, r, err)
		return
	}
	haWord(w, "ACCESS_BALANCE:"+protocolDollars(b))
}

// haNumber buys a verification (getNumber, or getNumberV2 with v2): the service
// by its activation code, in the first listed area code that has a number (any
// when none is listed), within the maximum price. An Idempotency-Key makes it
// safe to retry, as on the JSON API.
func (s *Server) haNumber(w http.ResponseWriter, r *http.Request, p url.Values, v2 bool) {
	render := func(w http.ResponseWriter, v *fetchsms.Verification) {
		w.Header().Set("X-Price", protocolDollars(v.CostCents))
		if v2 {
			haJSON(w, haNumberV2Of(v))
			return
		}
		haWord(w, "ACCESS_NUMBER:"+strconv.FormatInt(activationID(v.Ref), 10)+":"+protocolNumber(v.Number))
	}
	s.haIdempotent(w, r, p, render, func(w http.ResponseWriter, r *http.Request) {
		order, word := parseNumberOrder(p)
		if word != "" {
			haWord(w, word)
			return
		}
		svc, err := s.App.ServiceByActivationCode(r.Context(), order.Service)
		if err != nil {
			s.haError(w, r, err)
			return
		}
		areas := order.Areas
		if len(areas) == 0 {
			areas = []string{""}
		}
		for _, area := range areas {
			req := fetchsms.VerificationRequest{Service: strconv.Itoa(svc.ID), AreaCode: area, MaxPriceCents: order.MaxPrice}
			v, err := s.App.CreateVerification(r.Context(), principalOf(r).User.ID, req)
			if fetchsms.ErrorReason(err) == fetchsms.ReasonOutOfStock {
				continue
			}
			if err != nil {
				s.haError(w, r, err)
				return
			}
			render(w, v)
			return
		}
		haWord(w, "NO_NUMBERS")
	})
}

// haIdempotent runs h under the request's Idempotency-Key, when it has one (as
// the JSON API's purchases and cancels do); a retry after a lost answer is
// answered by render from the verification the first call made or changed.
func (s *Server) haIdempotent(w http.ResponseWriter, r *http.Request, p url.Values, render func(http.ResponseWriter, *fetchsms.Verification), h http.HandlerFunc) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		h(w, r)
		return
	}
	// The call's parameters but the key, in a fixed order: GET and POST, query
	// and form alike.
	rest := url.Values{}
	for k, vs := range p {
		if k != "api_key" {
			rest[k] = vs[:1]
		}
	}
	sum := sha256.Sum256([]byte("handler_api\n" + rest.Encode()))
	replay := idempotentReplay{
		status: http.StatusOK,
		render: func(w http.ResponseWriter, r *http.Request, id string, _ int) {
			v, err := s.App.Verification(r.Context(), principalOf(r).User.ID, id)
			if err != nil {
				s.haError(w, r, err)
				return
			}
			render(w, v)
		},
		contentType: func(body []byte) string {
			if bytes.HasPrefix(body, []byte("{")) {
				return "application/json"
			}
			return "text/plain; charset=utf-8"
		},
		fail: s.haError,
	}
	s.runIdempotent(w, r, key, sum[:], replay, h)
}

// haActivation reads the caller's verification that the id parameter names;
// false (and NO_ACTIVATION answered) when there is none: an id that is no id of
// ours, or another account's, is none.
func (s *Server) haActivation(w http.ResponseWriter, r *http.Request, p url.Values) (*fetchsms.Verification, bool) {
	ref, ok := refOfActivation(strings.TrimSpace(p.Get("id")))
	if !ok {
		haWord(w, "NO_ACTIVATION")
		return nil, false
	}
	v, err := s.App.VerificationByRef(r.Context(), principalOf(r).User.ID, ref)
	if err != nil {
		s.haError(w, r, err)
		return nil, false
	}
	return v, true
}

func (s *Server) haStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	if v, ok := s.haActivation(w, r, p); ok {
		haWord(w, statusWord(v, "STATUS_OK:"))
	}
}

// statusWord is getStatus's answer for v: a received one answers okPrefix and
// its code, or its sign-in link when it has no code (docs/DECISIONS.md, "Login
// links": the rest of the line is the secret).
func statusWord(v *fetchsms.Verification, okPrefix string) string {
	switch {
	case v.Status == fetchsms.StatusWaiting && v.Released():
		return "STATUS_WAIT_RETRY:" + secretOf(v) // another code asked for (setStatus 3); the last one
	case v.Status == fetchsms.StatusWaiting:
		return "STATUS_WAIT_CODE"
	case v.Status == fetchsms.StatusReceived:
		return okPrefix + secretOf(v)
	}
	return "STATUS_CANCEL"
}

// secretOf is what the protocol's text answers carry for a released
// verification: its code, else its sign-in link.
func secretOf(v *fetchsms.Verification) string {
	if v.Code != "" {
		return v.Code
	}
	return v.Link
}

// haFullSMS answers getFullSms. The message's text is the code alone: a
// verification's buyer gets its code, never the message's body (SPEC §4).
func (s *Server) haFullSMS(w http.ResponseWriter, r *http.Request, p url.Values) {
	if v, ok := s.haActivation(w, r, p); ok {
		haWord(w, statusWord(v, "FULL_SMS:"))
	}
}

type haSMS struct {
	DateTime string `json:"dateTime"`
	Code     string `json:"code"`
	Text     string `json:"text"` // the code (else the link): never the message's body
}

func (s *Server) haStatusV2(w http.ResponseWriter, r *http.Request, p url.Values) {
	v, ok := s.haActivation(w, r, p)
	if !ok {
		return
	}
	switch v.Status {
	case fetchsms.StatusWaiting:
		haJSON(w, haStatusV2JSON{})
	case fetchsms.StatusReceived:
		haJSON(w, haStatusV2JSON{SMS: &haSMS{DateTime: protocolTime(v.ReceivedAt), Code: v.Code, Text: secretOf(v)}})
	default:
		haWord(w, "STATUS_CANCEL")
	}
}

// haStatusV2JSON is getStatusV2's answer: verificationType 0 (by SMS), the SMS
// once its code arrived, never a call (no voice verifications here).
type haStatusV2JSON struct {
	VerificationType int       `json:"verificationType"`
	SMS              *haSMS    `json:"sms"`
	Call             *struct{} `json:"call"`
}

// haSetStatus answers setStatus: 1 (ready) while live; 6 (complete) once the
// code arrived — a received verification is already final, so this only
// acknowledges it; 8 (or the older -1) cancels a waiting one and refunds it,
// and answers again for one that already ended without a code (nothing more
// moves); 3 (another code on the same number, free) is the JSON API's resend:
// ACCESS_RETRY_GET once a code is in and the window is open (again while it
// waits for the next). Every refused change answers BAD_STATUS.
func (s *Server) haSetStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	status := strings.TrimSpace(p.Get("status"))
	if status == "8" || status == "-1" {
		s.haCancel(w, r, p)
		return
	}
	if status == "3" {
		s.haRetry(w, r, p)
		return
	}
	v, ok := s.haActivation(w, r, p)
	if !ok {
		return
	}
	switch {
	case status == "1" && (v.Status == fetchsms.StatusWaiting || v.Status == fetchsms.StatusReceived):
		// Also once the code is in: a fast code may beat the tool's "ready".
		haWord(w, "ACCESS_READY")
	case status == "6" && v.Status == fetchsms.StatusReceived:
		haWord(w, "ACCESS_ACTIVATION")
	default:
		haWord(w, "BAD_STATUS")
	}
}

// haRetry answers setStatus 3: another code on the same number (resend). An
// Idempotency-Key is honoured, as on the JSON API.
func (s *Server) haRetry(w http.ResponseWriter, r *http.Request, p url.Values) {
	render := func(w http.ResponseWriter, v *fetchsms.Verification) {
		if !v.Released() {
			haWord(w, "BAD_STATUS")
			return
		}
		haWord(w, "ACCESS_RETRY_GET")
	}
	s.haIdempotent(w, r, p, render, func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.haActivation(w, r, p)
		if !ok {
			return
		}
		_, err := s.App.ResendVerification(r.Context(), principalOf(r).User.ID, v.ID)
		switch fetchsms.ErrorReason(err) {
		case "":
			haWord(w, "ACCESS_RETRY_GET")
		case fetchsms.ReasonNoCodeYet, fetchsms.ReasonWindowClosed, fetchsms.ReasonNotWaiting, fetchsms.ReasonNumberUnavailable:
			haWord(w, "BAD_STATUS")
		default:
			s.haError(w, r, err)
		}
	})
}

func (s *Server) haCancel(w http.ResponseWriter, r *http.Request, p url.Values) {
	render := func(w http.ResponseWriter, v *fetchsms.Verification) {
		if v.Status == fetchsms.StatusReceived || v.Released() {
			haWord(w, "BAD_STATUS")
			return
		}
		haWord(w, "ACCESS_CANCEL")
	}
	s.haIdempotent(w, r, p, render, func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.haActivation(w, r, p)
		if !ok {
			return
		}
		if v.Released() {
			// A code is in (or it waits for another after setStatus 3): the
			// protocol's cancel is refused after the code; the wait for another
			// ends at expiry, uncharged.
			haWord(w, "BAD_STATUS")
			return
		}
		_, err := s.App.CancelVerification(r.Context(), principalOf(r).User.ID, v.ID)
		if fetchsms.ErrorReason(err) == fetchsms.ReasonNotWaiting {
			err = nil // ended without a code: cancelled or expired, and refunded once
		}
		if err != nil {
			s.haError(w, r, err)
			return
		}
		haWord(w, "ACCESS_CANCEL")
	})
}

// haNumberV2 is getNumberV2's answer.
type haNumberV2 struct {
	ActivationID       int64       `json:"activationId"`
	PhoneNumber        string      `json:"phoneNumber"`
	ActivationCost     json.Number `json:"activationCost"`
	CountryCode        string      `json:"countryCode"`
	CanGetAnotherSms   bool        `json:"canGetAnotherSms"`
	ActivationTime     string      `json:"activationTime"`
	ActivationEndTime  string      `json:"activationEndTime"`
	ActivationOperator string      `json:"activationOperator"`
}

func haNumberV2Of(v *fetchsms.Verification) haNumberV2 {
	return haNumberV2{ActivationID: activationID(v.Ref), PhoneNumber: protocolNumber(v.Number), ActivationCost: json.Number(protocolDollars(v.CostCents)),
		CountryCode: countryUSA, CanGetAnotherSms: true, ActivationTime: protocolTime(v.CreatedAt), ActivationEndTime: protocolTime(v.ExpiresAt), ActivationOperator: "any"}
}

// haActive is one entry of getActiveActivations.
type haActive struct {
	ActivationID     string  `json:"activationId"`
	ServiceCode      string  `json:"serviceCode"`
	PhoneNumber      string  `json:"phoneNumber"`
	ActivationCost   string  `json:"activationCost"`
	ActivationStatus string  `json:"activationStatus"` // "4" waiting for the code, "2" code received, "3" waiting for another
	SMSCode          *string `json:"smsCode"`
	SMSText          *string `json:"smsText"` // the code: never the message's body
	ActivationTime   string  `json:"activationTime"`
	Discount         string  `json:"discount"`
	Repeated         string  `json:"repeated"`
	CountryCode      string  `json:"countryCode"`
	CountryName      string  `json:"countryName"`
	CanGetAnotherSms string  `json:"canGetAnotherSms"`
}

// activeLimit bounds getActiveActivations' list.
const activeLimit = 200

// haActiveActivations lists the verifications whose window is open: waiting,
// or received while their window runs (App.OpenVerifications), newest first.
func (s *Server) haActiveActivations(w http.ResponseWriter, r *http.Request, _ url.Values) {
	list, err := s.App.OpenVerifications(r.Context(), principalOf(r).User.ID, activeLimit)
	if err != nil {
		s.haError(w, r, err)
		return
	}
	if len(list) == 0 {
		haJSON(w, struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}{"error", "NO_ACTIVATIONS"})
		return
	}
	codes, err := s.serviceCodes(r)
	if err != nil {
		s.haError(w, r, err)
		return
	}
	out := make([]haActive, 0, len(list))
	for _, v := range list {
		a := haActive{ActivationID: strconv.FormatInt(activationID(v.Ref), 10), ServiceCode: codes[v.ServiceID], PhoneNumber: protocolNumber(v.Number),
			ActivationCost: protocolDollars(v.CostCents), ActivationStatus: "4", ActivationTime: protocolTime(v.CreatedAt),
			Discount: "0", Repeated: "0", CountryCode: countryUSA, CountryName: "USA", CanGetAnotherSms: "1"}
		if a.ServiceCode == "" {
			a.ServiceCode = v.ServiceSlug // the service has no code (any more)
		}
		secret := secretOf(v)
		switch {
		case v.Status == fetchsms.StatusReceived:
			a.ActivationStatus, a.SMSCode, a.SMSText = "2", &v.Code, &secret
		case v.Released(): // waiting for another code (setStatus 3): the last one
			a.ActivationStatus, a.SMSCode, a.SMSText = "3", &v.Code, &secret
		}
		out = append(out, a)
	}
	haJSON(w, struct {
		Status            string     `json:"status"`
		ActiveActivations []haActive `json:"activeActivations"`
	}{"success", out})
}

// serviceCodes maps every service's id to its activation code.
func (s *Server) serviceCodes(r *http.Request) (map[int]string, error) {
	all, err := s.App.AllServices(r.Context())
	if err != nil {
		return nil, fetchsms.StorageError("serviceCodes", err, "")
	}
	out := make(map[int]string, len(all))
	for _, svc := range all {
		out[svc.ID] = svc.ActivationCode
	}
	return out, nil
}

// haPrice is a service's entry in getPrices.
type haPrice struct {
	Cost  json.Number `json:"cost"`
	Count int         `json:"count"`
	Name  string      `json:"name"`
}

// codedCatalog returns the services on sale that have an activation code, with
// their stock, by code; with the service parameter, only that one (BAD_SERVICE
// answered, and false, when no service on sale has that code). A country other
// than the USA has none.
func (s *Server) codedCatalog(w http.ResponseWriter, r *http.Request, p url.Values) (map[string]fetchsms.ServiceStock, bool) {
	out := map[string]fetchsms.ServiceStock{}
	want := strings.TrimSpace(p.Get("service"))
	if want != "" {
		if _, err := s.App.ServiceByActivationCode(r.Context(), want); err != nil {
			s.haError(w, r, err)
			return nil, false
		}
	}
	if c := strings.TrimSpace(p.Get("country")); c != "" && c != countryUSA {
		return out, true
	}
	cat, err := s.App.Catalog(r.Context())
	if err != nil {
		s.haError(w, r, err)
		return nil, false
	}
	for _, st := range cat {
		if st.ActivationCode != "" && (want == "" || st.ActivationCode == want) {
			out[st.ActivationCode] = st
		}
	}
	return out, true
}

// haPrices answers getPrices (country → service → price and stock) or, with
// byService, DaisySMS's getPricesVerification (service → country → …).
func (s *Server) haPrices(w http.ResponseWriter, r *http.Request, p url.Values, byService bool) {
	cat, ok := s.codedCatalog(w, r, p)
	if !ok {
		return
	}
	prices := map[string]haPrice{}
	for code, st := range cat {
		prices[code] = haPrice{Cost: json.Number(protocolDollars(st.PriceCents)), Count: max(0, st.ShortAvailable), Name: st.Name}
	}
	if byService {
		out := map[string]map[string]haPrice{}
		for code, pr := range prices {
			out[code] = map[string]haPrice{countryUSA: pr}
		}
		haJSON(w, out)
		return
	}
	out := map[string]map[string]haPrice{}
	if len(prices) > 0 {
		out[countryUSA] = prices
	}
	haJSON(w, out)
}

// haNumbersStatus answers getNumbersStatus: free numbers by "<code>_0" (the
// protocol's key without call forwarding), as strings.
func (s *Server) haNumbersStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	p = url.Values{"country": p["country"]} // every service
	cat, ok := s.codedCatalog(w, r, p)
	if !ok {
		return
	}
	out := map[string]string{}
	for code, st := range cat {
		out[code+"_0"] = strconv.Itoa(max(0, st.ShortAvailable))
	}
	haJSON(w, out)
}

type haService struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) haServicesList(w http.ResponseWriter, r *http.Request, _ url.Values) {
	cat, ok := s.codedCatalog(w, r, url.Values{})
	if !ok {
		return
	}
	list := make([]haService, 0, len(cat))
	for code, st := range cat {
		list = append(list, haService{Code: code, Name: st.Name})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	haJSON(w, struct {
		Status   string      `json:"status"`
		Services []haService `json:"services"`
	}{"success", list})
}

// haCountries answers getCountries: the USA alone, with another code on the same
// number (retry: setStatus 3), without rentals or multi-service numbers in this
// protocol.
func (s *Server) haCountries(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	haJSON(w, map[string]any{countryUSA: map[string]any{"id": 187, "rus": "США", "eng": "USA", "chn": "美国",
		"visible": 1, "retry": 1, "rent": 0, "multiService": 0}})
}

// protocolNumber is a number as the protocol writes it: digits with the country
// code, no "+" ("13325550123").
func protocolNumber(e164 string) string { return strings.TrimPrefix(e164, "+") }

// protocolTime is a time as the protocol writes it, in UTC: "2026-06-17 22:14:05".
func protocolTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}
