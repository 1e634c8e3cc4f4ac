package web

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"

	fetchsms "github.com/fetchsms/fetchsms"
	"github.com/fetchsms/fetchsms/internal/sealbox"
)

// A new API key or webhook secret is made by a POST that answers with a redirect
// (POST-redirect-GET: a reload never makes a second one). The secret crosses the
// redirect in a cookie sealed for the user (AES-GCM, the server's secret key, or
// a key of this process when it has none), scoped to the API page, HttpOnly, a
// two-minute life; the page that shows it deletes it, so a reload shows it no more.

const shownCookie = "fetchsms_shown"

// processBox seals shown secrets when the server has no secret key of its own.
var processBox = sync.OnceValue(func() *sealbox.Box {
	k := make([]byte, sealbox.KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	b, err := sealbox.New(k)
	if err != nil {
		panic(err)
	}
	return b
})

func (s *Server) shownSealer() fetchsms.Sealer {
	if b := s.App.Sealer(); b != nil {
		return b
	}
	return processBox()
}

// showOnce leaves sv for the next page at path of this user, and redirects there.
func (s *Server) showOnce(w http.ResponseWriter, r *http.Request, userID, path string, sv *secretView) {
	b, _ := json.Marshal(sv)
	http.SetCookie(w, &http.Cookie{Name: shownCookie, Value: s.shownSealer().Seal(b, "shown:"+userID), Path: path,
		HttpOnly: true, Secure: isSecure(r), SameSite: http.SameSiteStrictMode, MaxAge: 120})
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeShown returns the secret left for this page, and deletes it; nil when none
// (or one sealed for another user, or by a key this server does not hold).
func (s *Server) takeShown(w http.ResponseWriter, r *http.Request, userID, path string) *secretView {
	c, err := r.Cookie(shownCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: shownCookie, Value: "", Path: path, HttpOnly: true, Secure: isSecure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	b, err := s.shownSealer().Open(c.Value, "shown:"+userID)
	if err != nil {
		return nil
	}
	var sv secretView
	if json.Unmarshal(b, &sv) != nil || sv.Value == "" {
		return nil
	}
	return &sv
}
