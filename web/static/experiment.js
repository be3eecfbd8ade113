/* Report: the holdout experiment (contact rates with and without suggestions) and outcomes per article,
   from GET /api/v1/metrics. Self-contained: it reads the key report.js's key form saves. */
(function () {
  "use strict";
  var C = window.deflectConsole;
  var el = C.el, T = C.t;
  var $ = function (id) { return document.getElementById(id); };

  function rate(arm) {
    if (!arm || arm.contact_rate === null) return "–";
    return T("rate_of", { rate: C.pct(arm.contact_rate), sessions: arm.sessions, low: C.pct(arm.ci95[0]),
      high: C.pct(arm.ci95[1]) });
  }

  function renderHoldout(h) {
    var box = $("holdout");
    box.textContent = "";
    box.appendChild(el("p", { "class": "holdout-meaning", lang: "en" }, h.meaning));   // the API's words
    var dl = el("dl", { "class": "holdout-figures" });
    var points = function (x) { return C.num(x * 100, 1); };
    [[T("rate_shown"), rate(h.shown)], [T("rate_holdout"), rate(h.holdout)],
      [T("difference"), h.difference ? T("difference_value", { value: points(h.difference.value),
        low: points(h.difference.ci95[0]), high: points(h.difference.ci95[1]) }) : "–"],
      [T("sessions_needed"), (h.sessions_needed || []).map(function (n) {
        var pts = Math.round(n.half_width * 100);
        var words = { points: pts, sessions: n.sessions };
        return pts === 1 ? T("sessions_needed_value_one", words) : T("sessions_needed_value", words);
      }).join(" · ") || "–"]
    ].forEach(function (pair) { dl.appendChild(el("dt", null, pair[0])); dl.appendChild(el("dd", null, pair[1])); });
    box.appendChild(dl);
  }

  function renderOutcomes(rows) {
    var body = $("outcomes-body");
    body.textContent = "";
    if (!rows.length) {
      var empty = el("tr");
      empty.appendChild(el("td", { colspan: "6" }, T("no_suggestions")));
      body.appendChild(empty);
      return;
    }
    rows.forEach(function (r) {
      var tr = el("tr");
      [r.title || r.article_id, r.shown, r.found_answer, r.not_helpful, r.contacted_anyway, r.contacted_after_helpful]
        .forEach(function (v, i) { tr.appendChild(el(i ? "td" : "th", i ? { "class": "num" } : { scope: "row" }, i ? C.num(v) : String(v))); });
      body.appendChild(tr);
    });
  }

  function load() {
    if (!C.getKey()) return;
    var period = $("days");   // the report's period: the experiment and the outcomes follow it
    C.api("/api/v1/metrics?days=" + encodeURIComponent(period ? period.value : "30")).then(function (m) {
      if (m.holdout) renderHoldout(m.holdout);
      renderOutcomes(m.outcomes || []);
    }, function (err) { $("holdout").textContent = err.message; });
  }

  var form = $("key-form");
  if (form) form.addEventListener("submit", function () { setTimeout(load, 0); });
  if ($("days")) $("days").addEventListener("change", load);
  load();
})();
