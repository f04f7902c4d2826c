package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/incident"
)

type incidentsView struct {
	Open, Resolved []incident.Incident
}

type incidentView struct {
	I        incident.Incident
	Statuses []incident.Status
}

type incidentFormView struct {
	Title, Impact, Status, Message, Targets string
	Impacts                                 []incident.Impact
	Statuses                                []incident.Status
}

var impacts = []incident.Impact{incident.ImpactNone, incident.ImpactMinor, incident.ImpactMajor, incident.ImpactCritical}

func (h *Handler) noIncidents(w http.ResponseWriter, r *http.Request) bool {
	if h.d.Incidents == nil {
		h.fail(w, r, http.StatusNotFound, "Incidents are not available", "this node keeps no incidents")
		return true
	}
	return false
}

func (h *Handler) incidentsPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	all, err := h.d.Incidents.Incidents(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Incidents failed", "listing incidents failed: "+err.Error())
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	var iv incidentsView
	for _, in := range all {
		if in.Status == incident.Resolved {
			iv.Resolved = append(iv.Resolved, in)
		} else {
			iv.Open = append(iv.Open, in)
		}
	}
	h.render(w, r, http.StatusOK, "incidents", h.newPage(r, v, "Incidents", "incidents", iv))
}

func (h *Handler) incidentForm(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	f := incidentFormView{Impact: string(incident.ImpactMinor), Status: string(incident.Investigating), Impacts: impacts,
		Statuses: incident.Statuses, Targets: r.URL.Query().Get("target")}
	h.render(w, r, http.StatusOK, "incidentform", h.newPage(r, v, "Open an incident", "incidents", f))
}

func (h *Handler) createIncident(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	f := incidentFormView{Title: strings.TrimSpace(r.PostFormValue("title")), Impact: r.PostFormValue("impact"),
		Status: r.PostFormValue("status"), Message: strings.TrimSpace(r.PostFormValue("message")),
		Targets: r.PostFormValue("targets"), Impacts: impacts, Statuses: incident.Statuses}
	var probs []problemLine
	if f.Title == "" {
		probs = append(probs, problemLine{Field: "title", Problem: "is empty", Fix: "say what is wrong, such as \"Checkout is slow\""})
	}
	if !slices.Contains(impacts, incident.Impact(f.Impact)) {
		probs = append(probs, problemLine{Field: "impact", Value: f.Impact, Problem: "is not an impact", Fix: "pick none, minor, major or critical"})
	}
	if !slices.Contains(incident.Statuses, incident.Status(f.Status)) {
		probs = append(probs, problemLine{Field: "status", Value: f.Status, Problem: "is not a status", Fix: "pick investigating, identified, monitoring or resolved"})
	}
	if len(probs) == 0 {
		now := time.Now().UTC()
		in := incident.Incident{Title: f.Title, Status: incident.Status(f.Status), Impact: incident.Impact(f.Impact),
			Targets: splitList(f.Targets), Created: now, CreatedBy: v.P.Name,
			Updates: []incident.Update{{At: now, Status: incident.Status(f.Status), Message: f.Message, By: v.P.Name}}}
		if in.Status == incident.Resolved {
			in.Resolved = now
		}
		saved, err := h.d.Incidents.PutIncident(r.Context(), in, v.P.Name)
		if err == nil {
			redirect(w, r, "/incidents/"+url.PathEscape(saved.ID), "incident opened")
			return
		}
		probs = problemsOf(err)
	}
	p := h.newPage(r, v, "Open an incident", "incidents", f)
	p.Problems = probs
	h.render(w, r, http.StatusUnprocessableEntity, "incidentform", p)
}

func (h *Handler) incidentPage(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	in, err := h.d.Incidents.Incident(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "No such incident", "no incident "+strconv.Quote(r.PathValue("id"))+": "+err.Error())
		return
	}
	ups := slices.Clone(in.Updates)
	sort.SliceStable(ups, func(i, j int) bool { return ups[i].At.After(ups[j].At) })
	in.Updates = ups
	h.render(w, r, http.StatusOK, "incident", h.newPage(r, v, in.Title, "incidents", incidentView{I: in, Statuses: incident.Statuses}))
}

func (h *Handler) postUpdate(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	id := r.PathValue("id")
	u := incident.Update{At: time.Now().UTC(), Status: incident.Status(r.PostFormValue("status")),
		Message: strings.TrimSpace(r.PostFormValue("message")), By: v.P.Name}
	var err error
	switch {
	case !slices.Contains(incident.Statuses, u.Status):
		err = errors.New("status " + strconv.Quote(string(u.Status)) + " is not a status; pick investigating, identified, monitoring or resolved")
	case u.Message == "":
		err = errors.New("message is empty; say what changed")
	default:
		_, err = h.d.Incidents.PostUpdate(r.Context(), id, u)
	}
	if err != nil {
		in, gerr := h.d.Incidents.Incident(r.Context(), id)
		if gerr != nil {
			h.fail(w, r, http.StatusNotFound, "No such incident", gerr.Error())
			return
		}
		p := h.newPage(r, v, in.Title, "incidents", incidentView{I: in, Statuses: incident.Statuses})
		p.Problems = problemsOf(err)
		h.render(w, r, http.StatusUnprocessableEntity, "incident", p)
		return
	}
	redirect(w, r, "/incidents/"+url.PathEscape(id), "update posted")
}

func (h *Handler) deleteIncident(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	if err := h.d.Incidents.DeleteIncident(r.Context(), r.PathValue("id"), v.P.Name); err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "Delete failed", err.Error())
		return
	}
	redirect(w, r, "/incidents", "incident deleted")
}

// incidentFromTransition opens an incident from a transition in one click.
func (h *Handler) incidentFromTransition(w http.ResponseWriter, r *http.Request, v visitor) {
	if h.noIncidents(w, r) {
		return
	}
	in, err := h.d.Incidents.IncidentFromTransition(r.Context(), r.PathValue("id"), v.P.Name)
	if err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "Could not open an incident", err.Error())
		return
	}
	redirect(w, r, "/incidents/"+url.PathEscape(in.ID), "incident opened")
}
