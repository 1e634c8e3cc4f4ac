package web

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	fetchsms "github.com/fetchsms/fetchsms"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// dollarsText shows cents as "$1.40" (a minus sign for debits).
func dollarsText(c fetchsms.Cents) string {
	sign := ""
	if c < 0 {
		sign, c = "−", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// pageData is what every page template gets: the layout's needs, and the page's own
// data in Data.
type pageData struct {
	Title     string
	Nav       string // the highlighted menu entry
	User      *fetchsms.User
	CSRF      string
	Flash     string
	FlashErr  string
	FlashCode string     // the failed action's error code ("insufficient_balance" adds an Add funds link)
	Status    int        // the answer's status when not the handler's own (a form shown again with its error)
	Form      url.Values // what a failed form sent, typed back into it
	Sandbox   bool
	Now       time.Time // business time
	Refresh   string    // a URL the page moves on to at once (meta refresh)
	Data      any
}

// IsAdmin reports whether the viewer is staff.
func (p *pageData) IsAdmin() bool { return p.User != nil && p.User.Role == fetchsms.RoleAdmin }

var dashFuncs = template.FuncMap{
	"dollars": dollarsText,
	// Payments (dash_payments.go).
	"providerLabel":    providerLabel,
	"providerBrand":    providerBrand,
	"depositStatus":    depositStatusLabel,
	"idEnd":            idEnd,
	"eventResultUsual": eventResultUsual,
	// amount shows cents as a form value in dollars: "0.35".
	"amount": func(c fetchsms.Cents) string { return fmt.Sprintf("%d.%02d", c/100, c%100) },
	"signed": func(c fetchsms.Cents) string {
		sign := "+"
		if c < 0 {
			sign, c = "−", -c
		}
		return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("Jan 2, 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// at shows a full timestamp: UTC to the second, which dash.js turns into the
	// viewer's local time (keeping UTC in the title).
	"at": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		u := t.UTC()
		return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `" data-local>` + u.Format("2006-01-02 15:04:05") + ` UTC</time>`)
	},
	// idTail shows the distinguishing end of a time-ordered (UUIDv7) id, whose
	// first part is the same for ids made in the same minutes.
	"idTail": func(id string) string {
		if len(id) > 12 {
			return "…" + id[len(id)-12:]
		}
		return id
	},
	"phone": fetchsms.FormatUS,
	"secs": func(until, now time.Time) int {
		if d := until.Sub(now); d > 0 {
			return int(d.Seconds())
		}
		return 0
	},
	"clock": func(secs int) string {
		if secs >= 3600 {
			return fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
		}
		return fmt.Sprintf("%d:%02d", secs/60, secs%60)
	},
	"dur": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "—"
		case d < time.Minute:
			return fmt.Sprintf("%.1f s", d.Seconds())
		default:
			return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
		}
	},
	// span shows a configured duration in words: "15 minutes", "3 seconds".
	"span": func(d time.Duration) string {
		switch {
		case d >= time.Minute && d%time.Minute == 0:
			return plural(int(d/time.Minute), "minute")
		case d >= time.Second && d%time.Second == 0:
			return plural(int(d/time.Second), "second")
		}
		return d.String()
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	// short shows an id's last group: ids are time-ordered (UUIDv7), so their
	// first groups are alike for things made close together; the last is random.
	"short": func(id string) string {
		if i := strings.LastIndexByte(id, '-'); i >= 0 {
			return id[i+1:]
		}
		return id
	},
	"join":      strings.Join,
	"hasPrefix": strings.HasPrefix,
	"upper":     strings.ToUpper,
	"list":      func(v ...string) []string { return v },
	"lastAttempt": func(h []fetchsms.DeliveryAttempt) *fetchsms.DeliveryAttempt {
		if len(h) == 0 {
			return nil
		}
		return &h[len(h)-1]
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"until": func(t time.Time, now time.Time) string {
		d := t.Sub(now)
		switch {
		case d <= 0:
			return "ended"
		case d < time.Hour:
			return fmt.Sprintf("%d min left", int(d.Minutes())+1)
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h left", int(d.Hours()))
		default:
			return fmt.Sprintf("%d days left", int(d.Hours()/24))
		}
	},
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
}

// dashTemplates holds one template set per page: the layout, the shared partials
// and the page's own file.
type dashTemplates struct {
	once sync.Once
	sets map[string]*template.Template
	err  error
}

var pages dashTemplates

func (d *dashTemplates) load() error {
	d.once.Do(func() {
		d.sets = map[string]*template.Template{}
		names, err := fs.Glob(templatesFS, "templates/*.html")
		if err != nil {
			d.err = err
			return
		}
		for _, n := range names {
			base := strings.TrimPrefix(n, "templates/")
			if base == "layout.html" || base == "partials.html" {
				continue
			}
			t, err := template.New(base).Funcs(dashFuncs).ParseFS(templatesFS, "templates/layout.html", "templates/partials.html", n)
			if err != nil {
				d.err = err
				return
			}
			d.sets[strings.TrimSuffix(base, ".html")] = t
		}
	})
	return d.err
}

// render writes a whole page (the layout around the page's "content").
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *pageData) {
	s.renderTemplate(w, r, status, name, "layout", p)
}

// show renders a page with its data, or the error that kept it from being read.
func (s *Server) show(w http.ResponseWriter, r *http.Request, p *pageData, err error, page, title string, data any) {
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Data = title, data
	s.render(w, r, http.StatusOK, page, p)
}

// renderTemplate writes one named template of a page's set: the layout, or a
// fragment that scripts poll.
func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request, status int, page, tmpl string, p *pageData) {
	if err := pages.load(); err != nil {
		s.Logger.ErrorContext(r.Context(), "templates", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	t := pages.sets[page]
	if t == nil {
		s.Logger.ErrorContext(r.Context(), "no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if p.Flash == "" && p.FlashErr == "" {
		p.Flash, p.FlashErr, p.FlashCode = takeFlash(w, r)
	}
	if p.Status != 0 {
		status = p.Status
	}
	if p.Now.IsZero() {
		p.Now = s.now()
	}
	p.Sandbox = s.Sandbox
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		s.Logger.ErrorContext(r.Context(), "render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Same-origin referrers let the browser send a real Origin on our own forms
	// (no-referrer makes it "null"); nothing leaks to other sites.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// now is business time: the sandbox's test clock, or the wall clock.
func (s *Server) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now().UTC()
}

const flashCookie = "fetchsms_flash"

// setFlash leaves a one-time message for the next page (after a redirect). Errors
// start with "!" and their code: "!insufficient_balance|Not enough…".
func setFlash(w http.ResponseWriter, r *http.Request, msg string, isErr bool) {
	setFlashCode(w, r, msg, isErr, "")
}

func setFlashCode(w http.ResponseWriter, r *http.Request, msg string, isErr bool, code string) {
	if isErr {
		msg = "!" + code + "|" + msg
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(msg)), Path: "/",
		HttpOnly: true, Secure: isSecure(r), SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func takeFlash(w http.ResponseWriter, r *http.Request) (msg, errMsg, code string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", "", ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true, Secure: isSecure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 1000 {
		return "", "", ""
	}
	if s := string(b); strings.HasPrefix(s, "!") {
		code, msg, ok := strings.Cut(s[1:], "|")
		if !ok {
			return "", s[1:], ""
		}
		return "", msg, code
	}
	return string(b), "", ""
}

// dashMessage words an error for a page: the App's message as a sentence
// ("insufficient balance: this costs $0.70…" → "Insufficient balance. This costs
// $0.70…."). Messages the dashboard wrote itself are sentences already.
func dashMessage(err error) string {
	msg := fetchsms.ErrorMessage(err)
	if msg == "" {
		return "Something went wrong. Please try again."
	}
	if r, _ := utf8.DecodeRuneInString(msg); !unicode.IsLower(r) {
		return msg
	}
	head, tail, ok := strings.Cut(msg, ": ")
	msg = sentence(head)
	if ok {
		msg = strings.TrimSuffix(msg, ".") + ". " + sentence(tail)
	}
	return msg
}

// sentence starts s with a capital and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// again answers a form whose action failed by showing its page once more (get
// renders it), with the error above the form and what was typed still in it: no
// redirect, so nothing typed is lost. The status is the error's.
func (s *Server) again(w http.ResponseWriter, r *http.Request, p *pageData, err error, get dashPage) {
	p.Form, p.FlashErr, p.FlashCode = r.PostForm, dashMessage(err), fetchsms.ErrorReason(err)
	if p.Status = statusOf[fetchsms.ErrorCode(err)]; p.Status < 400 || p.Status >= 500 {
		s.pageError(w, r, p, err)
		return
	}
	get(w, r, p)
}

// redirect answers a form with 303 See Other, leaving a message for the next page.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		setFlash(w, r, flash, false)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// redirectErr answers a form whose action failed: back to the page, with the
// error's message.
func redirectErr(w http.ResponseWriter, r *http.Request, to string, err error) {
	setFlashCode(w, r, dashMessage(err), true, fetchsms.ErrorReason(err))
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// pageError renders an error page with the status the error's code maps to.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, p *pageData, err error) {
	status, ok := statusOf[fetchsms.ErrorCode(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := fetchsms.ErrorMessage(err)
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side. Please try again in a moment."
	}
	if p == nil {
		p = &pageData{}
	}
	p.Title = http.StatusText(status)
	p.Data = map[string]any{"Status": status, "Message": msg}
	s.render(w, r, status, "error", p)
}

// serveStatic serves the embedded CSS and JS.
func serveStatic() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
}
