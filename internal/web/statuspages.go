package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/statuspage"
)

type statusPagesView struct {
	Pages []statuspage.Page
}

type statusPageForm struct {
	New    bool
	ID     string
	JSON   string
	Action string
}

const pageExample = `{
  "id": "public",
  "title": "Example status",
  "groups": [
    {"name": "Website", "entries": [{"target": "web", "display_name": "Website"}]}
  ]
}`

func (h *Handler) noStatusPages(w http.ResponseWriter, r *http.Request) bool {
	if h.d.StatusPages == nil {
		h.fail(w, r, http.StatusNotFound, "Status pages are not available", "this node keeps no status pages")
		return true
	}
	return false
}

func (h *Handler) statusPagesPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noStatusPages(w, r) {
		return
	}
	ps, err := h.d.StatusPages.StatusPages(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Status pages failed", "listing status pages failed: "+err.Error())
		return
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	h.render(w, r, http.StatusOK, "statuspages", h.newPage(r, v, "Status pages", "statuspages", statusPagesView{Pages: ps}))
}

func (h *Handler) statusPageForm(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noStatusPages(w, r) {
		return
	}
	f := statusPageForm{New: true, JSON: pageExample, Action: "/statuspages/new"}
	title := "New status page"
	if id := r.PathValue("id"); id != "" {
		p, err := h.d.StatusPages.StatusPage(r.Context(), id)
		if err != nil {
			h.fail(w, r, http.StatusNotFound, "No such status page", "no status page "+strconv.Quote(id)+": "+err.Error())
			return
		}
		b, _ := json.MarshalIndent(p, "", "  ")
		f = statusPageForm{ID: id, JSON: string(b), Action: "/statuspages/" + url.PathEscape(id) + "/edit"}
		title = "Edit status page " + id
	}
	h.render(w, r, http.StatusOK, "statuspageform", h.newPage(r, v, title, "statuspages", f))
}

func (h *Handler) saveStatusPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noStatusPages(w, r) {
		return
	}
	id := r.PathValue("id")
	f := statusPageForm{New: id == "", ID: id, JSON: r.PostFormValue("json"), Action: r.URL.Path}
	var p statuspage.Page
	dec := json.NewDecoder(bytes.NewReader([]byte(f.JSON)))
	dec.DisallowUnknownFields()
	var probs []problemLine
	if err := dec.Decode(&p); err != nil {
		probs = append(probs, problemLine{Field: "json", Problem: "does not decode: " + err.Error(), Fix: "write the page as JSON, such as " + strings.ReplaceAll(pageExample, "\n", " ")})
	} else if id != "" && p.ID != id {
		if p.ID == "" {
			p.ID = id
		} else {
			probs = append(probs, problemLine{Field: "id", Value: p.ID, Problem: fmt.Sprintf("differs from the page being edited (%s)", id), Fix: "keep the id, or create a new page"})
		}
	}
	if len(probs) == 0 {
		if err := h.d.StatusPages.PutStatusPage(r.Context(), p, v.P.Name); err != nil {
			probs = problemsOf(err)
		}
	}
	if len(probs) > 0 {
		pg := h.newPage(r, v, "Fix the status page", "statuspages", f)
		pg.Problems = probs
		h.render(w, r, http.StatusUnprocessableEntity, "statuspageform", pg)
		return
	}
	redirect(w, r, "/statuspages", "saved "+p.ID)
}

func (h *Handler) deleteStatusPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noStatusPages(w, r) {
		return
	}
	if err := h.d.StatusPages.DeleteStatusPage(r.Context(), r.PathValue("id"), v.P.Name); err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "Delete failed", err.Error())
		return
	}
	redirect(w, r, "/statuspages", "deleted "+r.PathValue("id"))
}
