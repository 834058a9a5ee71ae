// xietong dashboard: draws the server's plotly figures, keeps live regions fresh from the
// server-sent events on /api/stream, ticks SLA countdowns, and copies the bulletin.
"use strict";

(function () {
  const body = document.body;
  const text = (key, values) => {
    let s = body.dataset[key] || "";
    for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
    return s;
  };

  // Figures: <div data-figure="ID-data"> with the figure's JSON in <script id="ID-data">.
  function drawFigures(root) {
    if (typeof window.Plotly === "undefined") return;
    root.querySelectorAll("[data-figure]").forEach((el) => {
      const source = document.getElementById(el.dataset.figure);
      if (!source || el.dataset.drawn === "1") return;
      const fig = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, fig.data, fig.layout, {
        responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"],
      }).then(
        () => { el.dataset.rendered = "1"; },
        (error) => { el.dataset.rendered = "error"; console.error("figure " + el.id + ": " + error); },
      );
    });
  }

  // Fragments: <div data-fragment-url> is filled once after the page (slower panels), and
  // again whenever a live region brings it back.
  function loadFragments(root) {
    (root || document).querySelectorAll("[data-fragment-url]").forEach((el) => {
      fetch(el.dataset.fragmentUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => { el.innerHTML = html; el.dataset.loaded = "1"; drawFigures(el); })
        .catch(() => { el.dataset.loaded = "error"; });
    });
  }

  // The server's now: every page, live fragment and stream event carries it, and the page counts
  // from it, so a browser whose clock is off (by minutes or by years) shows the server's minutes.
  let serverOffset = 0;
  function syncServerNow(iso) {
    const at = Date.parse(iso || "");
    if (!Number.isNaN(at)) serverOffset = at - Date.now();
  }
  const serverNow = () => Date.now() + serverOffset;

  // Countdowns: <span class="countdown" data-deadline="ISO"> shows time left or overdue. A
  // deadline is missed strictly after it, as the server decides (`data-overdue` at render).
  function duration(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes >= 120) return text("tHours", { n: Math.floor(minutes / 60) });
    return text("tMinutes", { n: minutes });
  }
  function tick() {
    const now = serverNow();
    document.querySelectorAll(".countdown[data-deadline]").forEach((el) => {
      const left = Date.parse(el.dataset.deadline) - now;
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 15 * 60000);
      el.textContent = left < 0 ? text("tOverdue", { t: duration(left) }) : text("tDueIn", { t: duration(left) });
    });
  }

  function toast(message) {
    const el = document.getElementById("toast");
    if (!el || !message) return;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(el._timer);
    el._timer = setTimeout(() => { el.hidden = true; }, 6000);
  }

  // Live regions: <section data-live-url="/fragment?..."> is re-fetched when an event arrives.
  let refreshing = null;
  function refreshLive(reason) {
    const regions = document.querySelectorAll("[data-live-url]");
    if (!regions.length || refreshing) return;
    refreshing = Promise.all(Array.from(regions).map((region) => {
      const seen = new Set(Array.from(region.querySelectorAll("[data-row-id]")).map((r) => r.dataset.rowId));
      // What the reader opened or chose stays so: a table behind its toggle, a map's layer,
      // rows ticked for an action on several at once.
      const opened = Array.from(region.querySelectorAll("details[open][id]")).map((d) => d.id);
      const chosen = Array.from(region.querySelectorAll("input[type=radio][id]:checked")).map((i) => i.id);
      const ticked = new Set(Array.from(region.querySelectorAll("input[data-keep-checked]:checked")).map((i) => i.value));
      return fetch(region.dataset.liveUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          region.innerHTML = html;
          opened.forEach((id) => { const d = document.getElementById(id); if (d) d.open = true; });
          chosen.forEach((id) => { const i = document.getElementById(id); if (i) i.checked = true; });
          region.querySelectorAll("input[data-keep-checked]").forEach((i) => { i.checked = ticked.has(i.value); });
          let fresh = 0;
          region.querySelectorAll("[data-row-id]").forEach((row) => {
            if (!seen.has(row.dataset.rowId)) { row.classList.add("fresh"); fresh += 1; }
          });
          if (fresh && region.dataset.liveToast) toast(region.dataset.liveToast);
          const stamped = region.querySelector("[data-server-now]");
          if (stamped) syncServerNow(stamped.dataset.serverNow);
          const asOf = region.querySelector("[data-as-of]");
          const head = document.getElementById("as-of");
          if (asOf && head) head.textContent = asOf.dataset.asOf;
          drawFigures(region);
          loadFragments(region);
          tick();
        });
    })).catch(() => {}).finally(() => { refreshing = null; });
    return refreshing;
  }

  function listen() {
    const indicator = document.getElementById("live-indicator");
    if (!indicator || typeof window.EventSource === "undefined") return;
    const topics = (body.dataset.liveTopics || "").split(",").filter(Boolean);
    const source = new EventSource(body.dataset.liveStream || "/api/stream");
    // What this user just did is already on the page the action reloaded: only others' changes
    // need a refresh, and bursts of events are coalesced into one.
    let pending = null;
    const onEvent = (event) => {
      try {
        const message = JSON.parse(event.data);
        syncServerNow(message.server_now);
        const payload = message.payload || {};
        if (payload.actor && payload.actor === body.dataset.username) return;
      } catch (ignored) { /* a message without a JSON body still means "something changed" */ }
      clearTimeout(pending);
      pending = setTimeout(() => refreshLive(), 250);
    };
    source.onmessage = onEvent;
    topics.forEach((topic) => source.addEventListener(topic, onEvent));
    source.onopen = () => {
      indicator.classList.remove("off");
      indicator.title = "";
      body.dataset.liveState = "open";
    };
    source.onerror = () => {
      indicator.classList.add("off");
      indicator.title = body.dataset.tLiveOff || "";
      body.dataset.liveState = "error";
    };
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach((button) => {
      button.addEventListener("click", () => {
        const target = document.getElementById(button.dataset.copyTarget);
        if (!target) return;
        const done = () => toast(body.dataset.tCopied);
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(target.textContent).then(done, () => {});
        } else {
          const range = document.createRange();
          range.selectNodeContents(target);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          done();
        }
      });
    });
  }

  // A print button prints the page in its print layout (the stylesheet's @media print).
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
  }

  function backLinks() {
    document.querySelectorAll("a[data-back]").forEach((a) => {
      a.addEventListener("click", (event) => {
        if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
      });
    });
  }

  // Auto-submitting filters: a <select data-autosubmit> submits its form when changed.
  function autosubmit() {
    document.querySelectorAll("[data-autosubmit]").forEach((el) => {
      el.addEventListener("change", () => el.form && el.form.submit());
    });
  }

  syncServerNow(body.dataset.serverNow);

  // Decisions: a form with data-confirm asks first; any posted form disables its buttons while
  // the request runs, and a second submit of a busy form is dropped (the server's form key
  // makes a resent form act once as well).
  function guardForms() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
      if (form.dataset.busy === "1") { event.preventDefault(); return; }
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      form.dataset.busy = "1";
      form.setAttribute("aria-busy", "true");
      setTimeout(() => {
        form.querySelectorAll("button, input[type=submit]").forEach((b) => { b.disabled = true; });
      }, 0);
      // An upload shows that it is under way (sending, then checking every row).
      const progress = form.querySelector("progress[data-progress]");
      if (progress) progress.hidden = false;
    });
    // Back/forward cache: a page shown again must not keep its forms disabled.
    window.addEventListener("pageshow", () => {
      document.querySelectorAll("form[data-busy='1']").forEach((form) => {
        form.dataset.busy = "";
        form.removeAttribute("aria-busy");
        form.querySelectorAll("button, input[type=submit]").forEach((b) => { b.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawFigures(document);
    loadFragments();
    tick();
    setInterval(tick, 30000);
    listen();
    copyButtons();
    backLinks();
    printButtons();
    autosubmit();
    guardForms();
    body.dataset.ready = "1";
  });
  window.xietong = { refreshLive, drawFigures };
})();
