/* Content report: deflection metrics with inline-SVG charts, uncovered topics with plan/dismiss,
 * the not-found list, top unanswered inquiries, CSV export. No chart library. */
(function () {
  "use strict";
  var C = window.deflectConsole;
  var el = C.el, T = C.t;
  var $ = function (id) { return document.getElementById(id); };
  var NS = "http://www.w3.org/2000/svg";
  var state = { report: null, metrics: null };

  function status(text, isError) {
    var s = $("report-status");
    s.textContent = text || "";
    s.className = "status" + (isError ? " error" : "");
  }

  // -- charts -------------------------------------------------------------------------------
  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var W = 360, H = 150, PAD = { l: 34, r: 10, t: 12, b: 24 };

  function frame(label) {
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label,
      preserveAspectRatio: "xMidYMid meet", "class": "chart-svg" });
    root.appendChild(svg("title", {}, label));
    return root;
  }
  function shortDate(d) { return String(d || "").slice(5); }

  function axes(root, days, ticks) {
    ticks.forEach(function (t) {
      root.appendChild(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: t.y, y2: t.y, "class": "grid" }));
      root.appendChild(svg("text", { x: PAD.l - 6, y: t.y + 4, "text-anchor": "end", "class": "tick" }, t.label));
    });
    if (days.length) {
      root.appendChild(svg("text", { x: PAD.l, y: H - 6, "class": "tick" }, shortDate(days[0].date)));
      root.appendChild(svg("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end", "class": "tick" },
        shortDate(days[days.length - 1].date)));
    }
  }

  function empty(container) {
    container.textContent = "";
    container.appendChild(el("p", { "class": "empty" }, T("no_data")));
  }

  function volumeChart(container, days) {
    var total = days.reduce(function (s, d) { return s + (d.inquiries || 0); }, 0);
    if (!total) return empty(container);
    // the bars show what customers were shown; the holdout's control group was shown nothing
    var held = days.reduce(function (s, d) { return s + (d.held_out || 0); }, 0);
    var label = T("volume_label", { total: C.num(total - held), days: days.length });
    var root = frame(held ? label + T("volume_held_out", { held: C.num(held) }) : label);
    var max = Math.max(1, Math.max.apply(null, days.map(function (d) { return (d.answered || 0) + (d.suggested || 0) + (d.no_answer || 0); })));
    var innerH = H - PAD.t - PAD.b, innerW = W - PAD.l - PAD.r;
    var y = function (v) { return PAD.t + innerH - (v / max) * innerH; };
    axes(root, days, [{ y: y(0), label: "0" }, { y: y(max), label: String(max) }]);
    var bw = innerW / days.length;
    days.forEach(function (d, i) {
      var x = PAD.l + i * bw + Math.min(2, bw * 0.15);
      var w = Math.max(1, bw - 2 * Math.min(2, bw * 0.15));
      var a = d.answered || 0, s = d.suggested || 0, n = d.no_answer || 0;
      var g = svg("g", {});
      g.appendChild(svg("title", {}, T("volume_day", { date: d.date, answered: a, suggested: s, none: n })));
      if (a) g.appendChild(svg("rect", { x: x, width: w, y: y(a), height: y(0) - y(a), "class": "bar-answer", rx: 1.5 }));
      if (s) g.appendChild(svg("rect", { x: x, width: w, y: y(a + s), height: y(a) - y(a + s), "class": "bar-suggest", rx: 1.5 }));
      if (n) g.appendChild(svg("rect", { x: x, width: w, y: y(a + s + n), height: y(a + s) - y(a + s + n), "class": "bar-none", rx: 1.5 }));
      root.appendChild(g);
    });
    container.textContent = "";
    container.appendChild(root);
  }

  function rateChart(container, days, key, cls, what) {
    var points = days.map(function (d, i) { return { i: i, v: d[key], d: d }; })
      .filter(function (p) { return p.v !== null && p.v !== undefined && !isNaN(p.v); });
    if (!points.length) return empty(container);
    var avg = points.reduce(function (s, p) { return s + p.v; }, 0) / points.length;
    var last = points[points.length - 1];
    var root = frame(T("rate_label", { what: what, latest: C.pct(last.v), average: C.pct(avg) }));
    var innerH = H - PAD.t - PAD.b, innerW = W - PAD.l - PAD.r;
    var x = function (i) { return PAD.l + (days.length === 1 ? innerW / 2 : (i / (days.length - 1)) * innerW); };
    var y = function (v) { return PAD.t + innerH - v * innerH; };
    axes(root, days, [{ y: y(0), label: C.pct(0) }, { y: y(0.5), label: C.pct(0.5) }, { y: y(1), label: C.pct(1) }]);
    var d = "", prev = -2;
    points.forEach(function (p) { d += (p.i === prev + 1 ? " L" : " M") + x(p.i).toFixed(1) + " " + y(p.v).toFixed(1); prev = p.i; });
    var area = svg("path", { d: d.trim(), "class": "line " + cls });
    root.appendChild(area);
    points.forEach(function (p) {
      var dot = svg("circle", { cx: x(p.i), cy: y(p.v), r: points.length > 40 ? 1.6 : 2.6, "class": "dot " + cls });
      dot.appendChild(svg("title", {}, p.d.date + ": " + C.pct(p.v)));
      root.appendChild(dot);
    });
    container.textContent = "";
    container.appendChild(root);
  }

  // -- metrics ------------------------------------------------------------------------------
  function kpi(label, value, note) {
    var box = el("div", { "class": "kpi" });
    box.appendChild(el("span", { "class": "kpi-label" }, label));
    box.appendChild(el("span", { "class": "kpi-value" }, value));
    if (note) box.appendChild(el("span", { "class": "kpi-note" }, note));
    return box;
  }

  function renderMetrics(m) {
    var t = m.totals || {};
    var k = $("kpis");
    k.textContent = "";
    k.appendChild(kpi(T("deflection_rate"), C.pct(t.deflection_rate), T("kpi_deflection_note")));
    k.appendChild(kpi(T("helpful_rate"), C.pct(t.helpful_rate), T("kpi_helpful_note", { yes: t.helpful || 0, no: t.not_helpful || 0 })));
    // the rate leaves the held-out inquiries out (they were shown nothing); so does its note
    k.appendChild(kpi(T("kpi_no_answer"), C.pct(t.no_answer_rate), T("kpi_no_answer_note",
      { none: C.num(t.no_answer || 0), inquiries: C.num((t.inquiries || 0) - (t.held_out || 0)) })));
    k.appendChild(kpi(T("kpi_inquiries"), C.num(t.inquiries || 0), T("kpi_sessions", { sessions: C.num(t.sessions || 0) })));
    k.appendChild(kpi(T("kpi_contacted"), C.num(t.contacted_support || 0), T("kpi_contacted_note")));
    k.appendChild(kpi(T("kpi_suggest"), C.pct(t.suggest_rate), T("kpi_suggest_note", { suggested: t.suggested || 0 })));
    var days = m.days || [];
    volumeChart($("chart-volume"), days);
    rateChart($("chart-deflection"), days, "deflection_rate", "c-deflect", T("deflection_rate"));
    rateChart($("chart-helpful"), days, "helpful_rate", "c-helpful", T("helpful_rate"));
    var tu = $("top-unanswered");
    tu.textContent = "";
    (m.top_unanswered || []).forEach(function (row) {
      var li = el("li");
      li.appendChild(el("span", { "class": "q" }, row.text));
      li.appendChild(el("span", { "class": "count", title: T("times_asked") }, "×" + row.count));
      tu.appendChild(li);
    });
    if (!tu.children.length) tu.appendChild(el("li", { "class": "empty" }, T("nothing_unanswered")));
  }

  // -- gaps (the fields of deflect.gaps.model.Topic / NotFound / Run) --------------------------
  /** "E-Mail 13 · Widget 12": each key named by the text ``prefix + key`` where the page has one. */
  // What exports name a channel in German or otherwise: one line each for the same channel.
  var SAME = { telefon: "phone", anruf: "phone", kontaktformular: "contact_form", formular: "contact_form",
    "e-mail": "email", mail: "email" };

  function counts(obj, prefix) {
    var merged = {}, order = [];
    Object.keys(obj || {}).forEach(function (k) {
      var key = SAME[k.toLowerCase()] || k;
      if (!(key in merged)) { merged[key] = 0; order.push(key); }
      merged[key] += obj[k];
    });
    order.sort(function (a, b) { return merged[b] - merged[a]; });   // stable: ties keep the API's order
    return order.map(function (k) { return T(prefix + k, null, k) + " " + merged[k]; }).join(" · ");
  }

  function trendText(tr) {
    if (!tr) return { text: "–", cls: "" };
    var dir = tr.direction;
    var arrow = { rising: "▲", "new": "▲", falling: "▼", steady: "●" }[dir] || "";
    var words = { now: tr.this_period, before: tr.previous_period, days: tr.period_days,
      direction: T("trend_" + dir, null, dir) };
    return { text: arrow + " " + T("trend_vs", words),
      cls: dir === "rising" || dir === "new" ? "up" : dir === "falling" ? "down" : "",
      title: T("trend_title", words) };
  }

  function sourceText(src) {
    if (!src) return "";
    return (src.ticket === 1 ? T("one_ticket") : T("n_tickets", { n: src.ticket })) + " · " +
      (src.inquiry === 1 ? T("one_inquiry") : T("n_inquiries", { n: src.inquiry }));
  }

  function topicLabel(t) {
    return t.label || (t.keywords || []).join(", ") || t.id;
  }

  // A topic's weekly volume as a small line (inline SVG); the last point is the week ending now.
  var SW = 96, SH = 24;
  function sparkline(weeks) {
    weeks = weeks || [];
    var total = weeks.reduce(function (s, v) { return s + v; }, 0);
    var label = T("weekly_label", { weeks: weeks.length, values: weeks.join(", ") });
    var root = svg("svg", { viewBox: "0 0 " + SW + " " + SH, width: SW, height: SH, role: "img",
      "aria-label": label, "class": "sparkline" });
    root.appendChild(svg("title", {}, label));
    if (!weeks.length || !total) return root;
    var max = Math.max.apply(null, weeks);
    var x = function (i) { return weeks.length === 1 ? SW / 2 : 1 + (i / (weeks.length - 1)) * (SW - 2); };
    var y = function (v) { return SH - 2 - (v / max) * (SH - 4); };
    var d = weeks.map(function (v, i) { return (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1); }).join(" ");
    root.appendChild(svg("path", { d: d, "class": "spark-line" }));
    var last = weeks.length - 1;
    root.appendChild(svg("circle", { cx: x(last), cy: y(weeks[last]), r: 2, "class": "spark-dot" }));
    return root;
  }

  function costCell(t) {
    var td = el("td", { "class": "cost" });
    var c = t.cost;
    td.appendChild(el("div", { "class": "num", title: c ? T("customers_title", { days: c.days }) : null },
      c ? String(c.customers) : "–"));
    if (c) td.appendChild(el("div", { "class": "muted small" }, T("cost_parts", { inquiries: c.inquiries, tickets: c.tickets })));
    td.appendChild(sparkline(t.weekly));
    return td;
  }

  function gapRow(t) {
    var tr = el("tr", { "data-topic": t.id, "class": t.overdue ? "overdue" : null });
    var topic = el("td", { "class": "topic" });
    topic.appendChild(el("span", { "class": "topic-id" }, t.id));
    var examples = t.examples;
    if (examples.length) {
      var det = el("details");
      det.appendChild(el("summary", null, topicLabel(t)));
      var ul = el("ul", { "class": "examples" });
      examples.slice(0, 5).forEach(function (ex) {
        var full = ex.text.replace(/\s+/g, " ").trim();
        var li = el("li", { title: full.length > 160 ? full : null },
          full.length > 160 ? full.slice(0, 159).replace(/\s+\S*$/, "") + " …" : full);
        li.appendChild(el("span", { "class": "muted small" }, " (" + T("example_" + ex.source, null, ex.source) + ")"));
        ul.appendChild(li);
      });
      det.appendChild(ul);
      topic.appendChild(det);
    } else {
      topic.appendChild(el("span", { "class": "topic-label" }, topicLabel(t)));
    }
    tr.appendChild(topic);
    tr.appendChild(costCell(t));
    tr.appendChild(el("td", { "class": "num" }, t.size));
    var trend = trendText(t.trend);
    tr.appendChild(el("td", { "class": "trend " + trend.cls, title: trend.title || null }, trend.text));
    var src = el("td", { "class": "small" });
    src.appendChild(el("div", null, sourceText(t.sources)));
    if (t.sources) {
      src.appendChild(el("div", { "class": "muted" }, T("languages", { list: counts(t.sources.languages, "lang_") })));
      src.appendChild(el("div", { "class": "muted" }, counts(t.sources.channels, "channel_")));
    }
    tr.appendChild(src);
    var near = t.nearest_article;
    var nearTd = el("td", { "class": "small" });
    if (near) {
      nearTd.appendChild(el("a", { href: C.link("/articles/" + encodeURIComponent(near.id)), target: "_blank", rel: "noopener" }, near.title));
      nearTd.appendChild(el("span", { "class": "score" }, C.num(near.score, 2)));
    } else nearTd.textContent = "–";
    tr.appendChild(nearTd);
    tr.appendChild(el("td", { "class": "suggested" }, t.suggested_title || ""));
    var st = el("td");
    st.appendChild(el("span", { "class": "badge status-" + t.status }, T("status_" + t.status, null, t.status)));
    if (t.overdue) st.appendChild(el("span", { "class": "badge badge-bad" }, T("overdue")));
    if (t.status === "dismissed" && t.reason) st.appendChild(el("div", { "class": "muted small" }, t.reason));
    if (t.status === "covered" && t.covered_by) st.appendChild(el("div", { "class": "muted small" }, T("covered_by", { article: t.covered_by })));
    tr.appendChild(st);
    var owner = el("td", { "class": "small" });
    if (t.owner) owner.appendChild(el("div", null, t.owner));
    if (t.due) owner.appendChild(el("div", { "class": t.overdue ? "due overdue-text" : "due muted" }, T("due", { date: C.date(t.due) })));
    tr.appendChild(owner);
    var actions = el("td", { "class": "actions" });
    var label = topicLabel(t);
    if (t.status === "new" || t.status === "planned") {
      var plan = el("button", { type: "button", "class": "btn btn-small", "aria-label": T("plan_label", { id: t.id, label: label }) },
        t.status === "planned" ? T("replan") : T("plan"));
      plan.addEventListener("click", function () { openPlan(t); });
      var dis = el("button", { type: "button", "class": "btn btn-small btn-ghost", "aria-label": T("dismiss_label", { id: t.id, label: label }) },
        T("dismiss"));
      dis.addEventListener("click", function () { openDismiss(t); });
      actions.appendChild(plan);
      actions.appendChild(dis);
    } else {
      var re = el("button", { type: "button", "class": "btn btn-small btn-ghost", "aria-label": T("reopen_label", { id: t.id, label: label }) },
        T("reopen"));
      re.addEventListener("click", function () { patch(t.id, { status: "new" }); });
      actions.appendChild(re);
    }
    tr.appendChild(actions);
    return tr;
  }

  function renderGaps() {
    var body = $("gaps-body");
    body.textContent = "";
    var filter = $("status-filter").value;
    var topics = ((state.report && state.report.topics) || []).filter(function (t) {
      if (!filter) return true;
      if (filter === "open") return t.status === "new" || t.status === "planned";
      return t.status === filter;
    });
    topics.forEach(function (t) { body.appendChild(gapRow(t)); });
    if (!topics.length) {
      var tr = el("tr");
      var empty = !state.report ? T("not_loaded") : state.report.generated_at ? T("no_topics") :
        building() ? T("no_report_building") : T("no_report");
      tr.appendChild(el("td", { colspan: "10", "class": "empty" }, empty));
      body.appendChild(tr);
    }
  }

  function renderNotFound(items) {
    var box = $("not-found");
    box.textContent = "";
    items.forEach(function (item) {
      var card = el("div", { "class": "nf-item" });
      var head = el("div", { "class": "nf-head" });
      head.appendChild(el("a", { href: C.link("/articles/" + encodeURIComponent(item.article_id)), target: "_blank", rel: "noopener" }, item.title));
      head.appendChild(el("span", { "class": "count" }, "×" + item.count));
      card.appendChild(head);
      var ul = el("ul", { "class": "phrasings" });
      item.phrasings.slice(0, 8).forEach(function (p) { ul.appendChild(el("li", null, p)); });
      card.appendChild(ul);
      box.appendChild(card);
    });
    if (!box.children.length) box.appendChild(el("p", { "class": "empty" }, T("nothing_not_found")));
  }

  // -- actions ------------------------------------------------------------------------------
  var current = null;
  function openPlan(t) {
    current = t;
    $("plan-topic").textContent = t.id + ": " + (t.suggested_title || topicLabel(t));
    $("plan-owner").value = t.owner || (t.fix && t.fix.owner) || "";   // the fix kind's default owner
    var due = new Date(Date.now() + 14 * 864e5).toISOString().slice(0, 10);
    $("plan-due").value = t.due || due;
    $("plan-error").textContent = "";
    pastConfirmed = null;
    $("plan-submit").textContent = T("plan");
    $("plan-dialog").showModal();
  }
  function openDismiss(t) {
    current = t;
    $("dismiss-topic").textContent = t.id + ": " + topicLabel(t);
    $("dismiss-reason").value = "";
    $("dismiss-error").textContent = "";
    $("dismiss-dialog").showModal();
  }

  function patch(id, body, dialog, errorBox, refused) {
    return C.api("/api/v1/gaps/" + encodeURIComponent(id), { method: "PATCH", body: body }).then(function (resp) {
      if (dialog) dialog.close();
      var topics = (state.report && state.report.topics) || [];
      for (var i = 0; i < topics.length; i++) {
        if (topics[i].id === resp.topic.id) topics[i] = resp.topic;
      }
      renderGaps();
      status(body.status === "new" ? T("topic_reopened", { id: id }) :
        T("topic_now", { id: id, status: T("status_" + body.status, null, body.status) }));
    }, function (err) {
      if (refused && refused(err)) return;
      if (errorBox) errorBox.textContent = err.message; else status(err.message, true);
    });
  }

  // A due date in the past is most likely a typo: the first submit asks, the second confirms it.
  var pastConfirmed = null;
  function today() {
    var d = new Date();
    return new Date(d.getTime() - d.getTimezoneOffset() * 6e4).toISOString().slice(0, 10);
  }
  $("plan-due").addEventListener("input", function () {
    pastConfirmed = null;
    $("plan-submit").textContent = T("plan");
    $("plan-error").textContent = "";
  });
  $("plan-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var due = $("plan-due").value;
    var past = due && due < today();
    if (past && pastConfirmed !== due) {
      pastConfirmed = due;
      $("plan-error").textContent = T("past_due", { date: C.date(due) });
      $("plan-submit").textContent = T("plan_anyway");
      return;
    }
    var body = { status: "planned", owner: $("plan-owner").value.trim(), due: due };
    if (past || pastConfirmed === due) body.force = true;
    // The server's today is UTC: west of it, after midnight UTC, the browser's today is its yesterday.
    patch(current.id, body, $("plan-dialog"), $("plan-error"), function (err) {
      if (err.status !== 422 || body.force || !due || !/in the past/.test(err.message)) return false;
      pastConfirmed = due;
      $("plan-error").textContent = T("past_due", { date: C.date(due) });
      $("plan-submit").textContent = T("plan_anyway");
      return true;
    });
  });
  $("dismiss-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    patch(current.id, { status: "dismissed", reason: $("dismiss-reason").value.trim() },
      $("dismiss-dialog"), $("dismiss-error"));
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });

  // The export links fetch with the API key (a plain link would carry none) and save what comes back.
  function exportReport(format, type) {
    return function (ev) {
      ev.preventDefault();
      // the topics the "Show" filter lists ("" there: all of them)
      var listed = $("status-filter").value || "all";
      C.api("/api/v1/gaps?format=" + format + "&status=" + encodeURIComponent(listed) +
        (format === "xlsx" ? "&lang=" + encodeURIComponent(C.lang) : ""),
        { raw: true, accept: type }).then(function (resp) {
        return resp.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: "deflect-gaps-" + new Date().toISOString().slice(0, 10) + "." + format });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      }, function (err) { status(err.message, true); });
    };
  }
  $("csv-export").addEventListener("click", exportReport("csv", "text/csv"));
  $("xlsx-export").addEventListener("click",
    exportReport("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));

  // -- loading ------------------------------------------------------------------------------
  function load() {
    if (!C.getKey()) { status(T("enter_admin_key"), true); return Promise.resolve(); }
    status(T("loading"));
    var days = $("days").value;
    $("experiment-days").textContent = days;   // the experiment and the outcomes follow the period too
    var errors = [];
    var metrics = C.api("/api/v1/metrics?days=" + encodeURIComponent(days)).then(function (m) {
      state.metrics = m; renderMetrics(m);
    }, function (err) { errors.push(T("metrics_failed", { error: err.message })); });
    var gaps = loadGaps().catch(function (err) { errors.push(T("gaps_failed", { error: err.message })); renderGaps(); });
    return Promise.all([metrics, gaps]).then(function () {
      if (errors.length) status(errors.join(" · "), true);
      else status("");
      document.body.setAttribute("data-loaded", "true");
    });
  }

  // The report is built by a run and stored; while one runs (the first one starts when none was
  // stored yet), poll it and show the new report when it is done.
  function building() { return !!(state.report && state.report.run && state.report.run.state === "running"); }
  var polling = null;

  function loadGaps() {
    return C.api("/api/v1/gaps?status=all").then(function (r) {
      state.report = r;
      renderGaps();
      renderNotFound(r.not_found);
      $("gaps-built").textContent = (r.generated_at ? T("report_of", { time: C.date(r.generated_at) }) : "") +
        (building() ? (r.generated_at ? " · " : "") + T("report_building") : "") +
        (r.run && r.run.state === "failed" ? " · " + T("run_failed", { error: r.run.error }) : "");
      if (building() && !polling) polling = setTimeout(pollRun, 2000);
    });
  }

  function pollRun() {
    C.api("/api/v1/gaps/runs/" + state.report.run.id).then(function (resp) {
      if (resp.run.state === "running") { polling = setTimeout(pollRun, 2000); return; }
      polling = null;
      loadGaps();
    }, function (err) { polling = null; status(err.message, true); });
  }

  // a run of its own: the report is otherwise built again after each index build
  $("rebuild").addEventListener("click", function () {
    $("rebuild").disabled = true;
    C.api("/api/v1/gaps/runs", { method: "POST", body: {} }).then(loadGaps, function (err) {
      status(err.message, true);
    }).then(function () { $("rebuild").disabled = false; });
  });
  $("days").addEventListener("change", load);
  $("reload").addEventListener("click", load);
  $("status-filter").addEventListener("change", renderGaps);
  C.initKeyForm(load);
  load();
})();
