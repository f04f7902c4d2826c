// heck web UI: theme toggle, confirmations, live state over server-sent
// events. The pages work without it; it only makes them live.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("heck-theme"); } catch (e) {}
  if (saved === "dark" || saved === "light") root.setAttribute("data-theme", saved);

  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("theme");
    if (btn) btn.addEventListener("click", function () {
      var dark = root.getAttribute("data-theme") === "dark" ||
        (!root.getAttribute("data-theme") && matchMedia("(prefers-color-scheme: dark)").matches);
      var next = dark ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("heck-theme", next); } catch (e) {}
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { if (!confirm(f.getAttribute("data-confirm"))) ev.preventDefault(); });
    });
    var probs = document.getElementById("problems");
    if (probs) probs.focus();
    if (document.body.getAttribute("data-live") === "1" && window.EventSource) live();
  });

  function live() {
    var badge = document.getElementById("live");
    var es = new EventSource("/ui/events");
    // Close the stream as the page goes, so a browser's few connections
    // per host are not held by pages left behind (or kept in its cache).
    window.addEventListener("pagehide", function () { es.close(); });
    var refresh = {};
    var timer = null;
    es.onopen = function () { if (badge) { badge.hidden = false; badge.classList.remove("off"); badge.textContent = "live"; } };
    es.onerror = function () { if (badge) { badge.classList.add("off"); badge.textContent = "reconnecting"; } };
    es.addEventListener("state", function (ev) {
      var t;
      try { t = JSON.parse(ev.data); } catch (e) { return; }
      var el = document.getElementById("t-" + t.target);
      if (!el) return;
      var shown = el.getAttribute("data-state");
      var to = t.to;
      el.setAttribute("data-state", to);
      el.querySelectorAll(".state[data-state]").forEach(function (s, i) {
        if (i > 0) return;
        s.className = "state st-" + to;
        s.setAttribute("data-state", to);
        s.textContent = to;
      });
      var c = el.querySelector("[data-cause]");
      if (c) c.textContent = to === "up" ? "" : (t.cause || "");
      var since = el.querySelector("[data-since]");
      if (since) { since.textContent = "just now"; since.setAttribute("datetime", t.at); }
      if (el.tagName === "TR") {
        el.classList.remove("changed"); void el.offsetWidth; el.classList.add("changed");
        bump(shown, -1); bump(to, +1);
        refresh[t.target] = true;
        clearTimeout(timer);
        timer = setTimeout(function () { rows(refresh); refresh = {}; }, 1500);
      }
    });
  }

  function bump(state, d) {
    var box = document.querySelector('[data-count="' + state + '"]');
    var el = box && box.querySelector("strong");
    if (!el) return;
    var n = Math.max(0, parseInt(el.textContent, 10) + d);
    el.textContent = String(n);
    box.classList.toggle("zero", n === 0);
  }

  // rows refreshes the changed rows' sparklines and uptime.
  function rows(ids) {
    var q = Object.keys(ids).map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    if (!q) return;
    fetch("/ui/rows?" + q, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      if (!html) return;
      var tb = document.createElement("tbody");
      tb.innerHTML = html;
      Array.prototype.slice.call(tb.children).forEach(function (tr) {
        var old = document.getElementById(tr.id);
        if (old && old.getAttribute("data-state") === tr.getAttribute("data-state")) old.replaceWith(tr);
      });
    }).catch(function () {});
  }
})();
