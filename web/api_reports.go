package web

import (
	"net/http"
	"strconv"

	fetchsms "github.com/fetchsms/fetchsms"
)

// reportJSON is the answer to a report: the verification as refunded, its
// replacement (null when none could be bought) and why there is none.
type reportJSON struct {
	Refunded         verificationJSON      `json:"refunded"`
	Replacement      *verificationJSON     `json:"replacement"`
	ReplacementError *replacementErrorJSON `json:"replacement_error"`
}

type replacementErrorJSON struct {
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func reportOut(res *fetchsms.ReportResult) reportJSON {
	out := reportJSON{Refunded: verificationOut(res.Refunded)}
	if res.Replacement != nil {
		r := verificationOut(res.Replacement)
		out.Replacement = &r
	}
	if res.NoReplacement != nil {
		out.ReplacementError = &replacementErrorJSON{Detail: res.NoReplacement.Detail, Code: res.NoReplacement.Code}
	}
	return out
}

// handleReportVerification reports that the service refused a waiting
// verification's number: refunded at once, and a replacement on another number.
func (s *Server) handleReportVerification(w http.ResponseWriter, r *http.Request) {
	id := s.pathID(w, r, "verification")
	if id == "" {
		return
	}
	var body struct {
		Reason *string `json:"reason"`
	}
	if err := decode(w, r, &body); err != nil {
		s.writeError(w, r, unwrapDecodeErr(err))
		return
	}
	reason := ""
	if body.Reason != nil {
		reason = *body.Reason
	}
	res, err := s.App.ReportVerification(r.Context(), principalOf(r).User.ID, id, reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, reportOut(res))
}

// renderReport answers a replayed report (Idempotency-Key) from what it did.
func (s *Server) renderReport(w http.ResponseWriter, r *http.Request, id string, status int) {
	res, err := s.App.VerificationReport(r.Context(), principalOf(r).User.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, reportOut(res))
}

type reportRateJSON struct {
	ID       string  `json:"id"`
	Number   *string `json:"number,omitempty"`
	Gateway  string  `json:"gateway"`
	Reports  int     `json:"reports"`
	Sold     int     `json:"sold"`
	Rate     float64 `json:"rate"` // reports / sold, 0–1
	Disabled *bool   `json:"disabled,omitempty"`
}

func reportRate(reports, sold int) float64 {
	if sold == 0 {
		return 0
	}
	return float64(int(float64(reports)/float64(sold)*10000+0.5)) / 10000
}

// handleAdminReports lists report rates: the most reported numbers (at most
// 200) and every gateway with a report.
func (s *Server) handleAdminReports(w http.ResponseWriter, r *http.Request) {
	numbers, gateways, err := s.App.ReportRates(r.Context(), 200)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Threshold int              `json:"disable_threshold"`
		Numbers   []reportRateJSON `json:"numbers"`
		Gateways  []reportRateJSON `json:"gateways"`
	}{fetchsms.ReportDisableThreshold, []reportRateJSON{}, []reportRateJSON{}}
	for _, n := range numbers {
		number, disabled := fetchsms.FormatUS(n.Name), n.Disabled
		out.Numbers = append(out.Numbers, reportRateJSON{ID: n.ID, Number: &number, Gateway: n.Gateway, Reports: n.Reports, Sold: n.Sold,
			Rate: reportRate(n.Reports, n.Sold), Disabled: &disabled})
	}
	for _, g := range gateways {
		out.Gateways = append(out.Gateways, reportRateJSON{ID: g.ID, Gateway: g.Name, Reports: g.Reports, Sold: g.Sold, Rate: reportRate(g.Reports, g.Sold)})
	}
	writeJSON(w, http.StatusOK, out)
}

// reportLine is a report rate as the console shows it: "2 reports of 5 sold (40%)".
type reportLine struct{ fetchsms.ReportRate }

func (r reportLine) String() string {
	word := "reports"
	if r.Reports == 1 {
		word = "report"
	}
	return strconv.Itoa(r.Reports) + " " + word + " of " + strconv.Itoa(r.Sold) + " sold (" + strconv.FormatFloat(reportRate(r.Reports, r.Sold)*100, 'f', -1, 64) + "%)"
}

// reportLines returns the console's report lines by number id and by gateway
// id, and the most reported numbers' (at most 200), most reports first.
func (s *Server) reportLines(r *http.Request) (numbers, gateways map[string]*reportLine, top []*reportLine, err error) {
	ns, gs, err := s.App.ReportRates(r.Context(), 200)
	if err != nil {
		return nil, nil, nil, err
	}
	numbers, gateways = map[string]*reportLine{}, map[string]*reportLine{}
	for _, n := range ns {
		numbers[n.ID] = &reportLine{n}
		top = append(top, numbers[n.ID])
	}
	for _, g := range gs {
		gateways[g.ID] = &reportLine{g}
	}
	return numbers, gateways, top, nil
}
