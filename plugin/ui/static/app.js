// kubectl shipjob ui: live updates. Pages work without this script; it
// only refreshes the live part of a page when a run changes (Server-Sent
// Events from the namespace's watch) and streams the logs of a running run.
"use strict";

(function () {
  const body = document.body;

  // Refresh the [data-live] parts of the page from a fresh rendering.
  let refreshing = false, again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const resp = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (resp.ok) {
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          const fresh = el.id && doc.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        const actions = document.querySelector(".page-head .actions"), freshActions = doc.querySelector(".page-head .actions");
        if (actions && freshActions && actions.innerHTML !== freshActions.innerHTML) actions.innerHTML = freshActions.innerHTML;
      }
    } catch (e) { /* the next event tries again */ }
    refreshing = false;
    if (again) { again = false; refresh(); }
  }

  // Running runs count on between updates: "Running for" and durations,
  // from the seconds at rendering (not the browser's clock, which may be
  // off from the API server's), as the plugin writes them (run.HumanDuration).
  function human(s) {
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60 ? (s % 60) + "s" : "");
    if (s < 48 * 3600) return Math.floor(s / 3600) + "h" + (Math.floor(s / 60) % 60 ? (Math.floor(s / 60) % 60) + "m" : "");
    return Math.floor(s / 86400) + "d" + (Math.floor(s / 3600) % 24 ? (Math.floor(s / 3600) % 24) + "h" : "");
  }
  setInterval(function () {
    const now = Date.now();
    document.querySelectorAll("[data-tick]").forEach(function (el) {
      if (!el.dataset.tickT0) el.dataset.tickT0 = String(now);
      const s = Number(el.dataset.tick) + Math.floor((now - Number(el.dataset.tickT0)) / 1000);
      const text = (el.dataset.tickPrefix || "") + human(s);
      if (Number.isFinite(s) && el.textContent !== text) el.textContent = text;
    });
  }, 250);

  // Scheduled times: shown in the viewer's local time (the server wrote
  // them in the schedule's zone, which stays in the title).
  function localTimes() {
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      const text = d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
      if (el.textContent !== text) el.textContent = text;
    });
  }
  localTimes();
  setInterval(localTimes, 1000);

  if (body.dataset.events && window.EventSource) {
    const es = new EventSource(body.dataset.events);
    es.addEventListener("runs", refresh);
    // After a reconnect, catch up with what was missed.
    let opened = false;
    es.addEventListener("open", function () { if (opened) refresh(); opened = true; });
  }

  // Live logs: replace the rendered output with the stream from the start.
  const logs = document.getElementById("logs");
  if (logs && logs.dataset.stream && window.EventSource) {
    const es = new EventSource(logs.dataset.stream);
    let first = true;
    es.addEventListener("line", function (ev) {
      if (first) {
        logs.textContent = "";
        const note = document.getElementById("logs-note");
        if (note) note.remove();
        first = false;
      }
      const follow = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.appendChild(document.createTextNode(ev.data + "\n"));
      if (follow) logs.scrollTop = logs.scrollHeight;
    });
    es.addEventListener("end", function () {
      es.close();
      logs.dataset.ended = "true";
      refresh();
    });
  }

  // Custom memory / CPU: the text field is used when "Custom…" is chosen.
  [["memory", "memory-custom"], ["cpu", "cpu-custom"]].forEach(function (ids) {
    const sel = document.getElementById(ids[0]), input = document.getElementById(ids[1]);
    if (!sel || !input) return;
    const sync = function () { input.hidden = sel.value !== "custom"; };
    sel.addEventListener("change", function () { sync(); if (!input.hidden) input.focus(); });
    sync();
  });
})();
