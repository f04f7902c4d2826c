package web

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/heckhq/heck/internal/user"
)

type usersView struct {
	Users      []user.User
	InviteURL  string
	InviteName string
	Self       string
}

func (h *Handler) noUsers(w http.ResponseWriter, r *http.Request) bool {
	if h.d.Users == nil {
		h.fail(w, r, http.StatusNotFound, "Users are not available", "this node keeps no users")
		return true
	}
	return false
}

func (h *Handler) usersView(r *http.Request, v visitor) (usersView, error) {
	us, err := h.d.Users.ListUsers(r.Context())
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	return usersView{Users: us, Self: v.P.Name}, err
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noUsers(w, r) {
		return
	}
	uv, err := h.usersView(r, v)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Users failed", "listing users failed: "+err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "users", h.newPage(r, v, "Users", "users", uv))
}

func parseRole(s string) (user.Role, bool) {
	r := user.Role(s)
	return r, slices.Contains([]user.Role{user.Viewer, user.Editor, user.Admin}, r)
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noUsers(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	role, ok := parseRole(r.PostFormValue("role"))
	var probs []problemLine
	var tok string
	switch {
	case name == "":
		probs = append(probs, problemLine{Field: "name", Problem: "is empty", Fix: "give the collaborator a user name, such as alice"})
	case !ok:
		probs = append(probs, problemLine{Field: "role", Value: r.PostFormValue("role"), Problem: "is not a role", Fix: "pick viewer, editor or admin"})
	default:
		var err error
		if tok, err = h.d.Users.Invite(r.Context(), name, role, v.P.Name); err != nil {
			probs = problemsOf(err)
		}
	}
	uv, err := h.usersView(r, v)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Users failed", "listing users failed: "+err.Error())
		return
	}
	status := http.StatusOK
	if len(probs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		uv.InviteURL = baseURL(r) + "/invite?token=" + url.QueryEscape(tok)
		uv.InviteName = name
	}
	p := h.newPage(r, v, "Users", "users", uv)
	p.Problems = probs
	h.render(w, r, status, "users", p)
}

// baseURL is the scheme and host the request came to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Handler) setRole(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noUsers(w, r) {
		return
	}
	role, ok := parseRole(r.PostFormValue("role"))
	if !ok {
		h.fail(w, r, http.StatusUnprocessableEntity, "Not a role", "role "+r.PostFormValue("role")+" is not viewer, editor or admin")
		return
	}
	if err := h.d.Users.SetRole(r.Context(), r.PathValue("name"), role, v.P.Name); err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "Role not changed", err.Error())
		return
	}
	redirect(w, r, "/users", r.PathValue("name")+" is now "+string(role))
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noUsers(w, r) {
		return
	}
	if err := h.d.Users.DeleteUser(r.Context(), r.PathValue("name"), v.P.Name); err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "User not deleted", err.Error())
		return
	}
	redirect(w, r, "/users", "deleted "+r.PathValue("name"))
}

// --- invites, login, logout ---

type inviteView struct{ Token string }

func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	if h.noUsers(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, "invite", h.newPage(r, h.who(r), "Accept an invitation", "", inviteView{Token: r.URL.Query().Get("token")}))
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if h.noUsers(w, r) {
		return
	}
	if !sameOrigin(r) {
		h.fail(w, r, http.StatusForbidden, "Forged form", "the form was sent from another site; open the invitation link and submit it there")
		return
	}
	tok, pw := r.PostFormValue("token"), r.PostFormValue("password")
	var probs []problemLine
	switch {
	case tok == "":
		probs = append(probs, problemLine{Field: "token", Problem: "is missing", Fix: "open the whole invitation link you were sent"})
	case len(pw) < 8:
		probs = append(probs, problemLine{Field: "password", Problem: "is shorter than 8 characters", Fix: "choose a longer password"})
	case pw != r.PostFormValue("confirm"):
		probs = append(probs, problemLine{Field: "confirm", Problem: "differs from the password", Fix: "type the same password twice"})
	default:
		if err := h.d.Users.AcceptInvite(r.Context(), tok, pw); err != nil {
			probs = problemsOf(err)
		}
	}
	if len(probs) > 0 {
		p := h.newPage(r, h.who(r), "Accept an invitation", "", inviteView{Token: tok})
		p.Problems = probs
		h.render(w, r, http.StatusUnprocessableEntity, "invite", p)
		return
	}
	redirect(w, r, "/login", "password set; sign in")
}

type loginView struct {
	Name, Next string
	NoUsers    bool
	NoAuth     bool
}

func (h *Handler) loginView(r *http.Request) loginView {
	lv := loginView{Next: safeNext(r.FormValue("next")), NoAuth: h.d.Auth == nil}
	if h.d.Users != nil {
		if us, err := h.d.Users.ListUsers(r.Context()); err == nil && len(us) == 0 {
			lv.NoUsers = true
		}
	}
	return lv
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	v := h.who(r)
	if v.Signed {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", h.newPage(r, v, "Sign in", "login", h.loginView(r)))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.d.Auth == nil {
		h.fail(w, r, http.StatusNotFound, "Sign-in is not available", "this node keeps no users")
		return
	}
	if !sameOrigin(r) {
		h.fail(w, r, http.StatusForbidden, "Forged form", "the sign-in form was sent from another site; open /login on this node")
		return
	}
	lv := h.loginView(r)
	lv.Name = strings.TrimSpace(r.PostFormValue("name"))
	remote, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remote = r.RemoteAddr
	}
	c, err := h.d.Auth.Login(r.Context(), lv.Name, r.PostFormValue("password"), remote)
	if err != nil {
		p := h.newPage(r, visitor{}, "Sign in", "login", lv)
		p.Problems = []problemLine{{Problem: err.Error()}}
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, lv.Next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.d.Auth == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := h.who(r)
	if v.Signed {
		if err := h.d.Auth.CheckCSRF(r); err != nil {
			h.fail(w, r, http.StatusForbidden, "Form expired or forged", "reload the page and sign out again ("+err.Error()+")")
			return
		}
	}
	if c := h.d.Auth.Logout(r); c != nil {
		http.SetCookie(w, c)
	}
	redirect(w, r, "/login", "signed out")
}
