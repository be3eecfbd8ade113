/* Content report, "how could it have been avoided": live incidents first (with a notice form), the
 * open topics grouped by the fix they need (article / product / process, with evidence and an
 * override), and why the covered questions were not found (counts per reason, reason per phrasing). */
(function () {
  "use strict";
  var C = window.deflectConsole;
  var el = C.el, T = C.t;
  var $ = function (id) { return document.getElementById(id); };
  var KINDS = { article: T("kind_article"), product: T("kind_product"), process: T("kind_process") };
  var REASONS = { wording: T("reason_wording"), language: T("reason_language"), sibling: T("reason_sibling"),
    doubt: T("reason_doubt"), "new": T("reason_new") };

  function renderIncidents(list) {
    var box = $("incidents");
    box.textContent = "";
    list.forEach(function (inc) {
      var card = el("div", { "class": "nf-item incident", "data-incident": String(inc.id) });
      var head = el("div", { "class": "nf-head" });
      head.appendChild(el("strong", null, inc.topic_id + ": " + (inc.title || inc.label || "")));
      head.appendChild(el("span", { "class": "count" }, T("incident_count", { count: inc.count, baseline: inc.baseline })));
      card.appendChild(head);
      card.appendChild(el("p", { "class": "sub small" }, T("incident_since", { time: C.date(inc.started_at) }) +
        (inc.fix_kind ? T("incident_fix", { kind: KINDS[inc.fix_kind] || inc.fix_kind }) : "")));
      inc.notices.forEach(function (n) {
        var texts = Object.keys(n.texts).map(function (k) { return k + ": " + n.texts[k]; }).join(" · ");
        var line = el("p", { "class": "small notice-line", "data-notice": String(n.id) }, T("notice_line", {
          texts: texts, seen: n.sessions_seen, no_contact: n.sessions_no_contact }) + " ");
        if (n.ends_at && new Date(n.ends_at) <= new Date()) {
          line.appendChild(el("span", { "class": "sub" }, T("notice_ended", { time: C.date(n.ends_at) })));
        } else {
          var end = el("button", { type: "button", "class": "btn btn-small" }, T("end_notice"));
          end.addEventListener("click", function () {
            C.api("/api/v1/notices/" + n.id + "/end", { method: "POST" }).then(load,
              function (e) { line.appendChild(el("span", { "class": "status error", role: "alert" }, e.message)); });
          });
          line.appendChild(end);
        }
        card.appendChild(line);
      });
      var form = el("form", { "class": "notice-form" });
      var de = el("input", { maxlength: "500", placeholder: T("notice_de"), "aria-label": T("notice_de") });
      var en = el("input", { maxlength: "500", placeholder: T("notice_en"), "aria-label": T("notice_en") });
      var ends = el("input", { type: "datetime-local" });
      var endsLabel = el("label", { "class": "notice-ends small" }, T("notice_ends") + " ");
      endsLabel.appendChild(ends);   // a visible name: the browser shows only its date pattern in the field
      var err = el("span", { "class": "status error", role: "alert" });
      form.appendChild(de); form.appendChild(en); form.appendChild(endsLabel);
      form.appendChild(el("button", { type: "submit", "class": "btn" }, T("publish_notice")));
      form.appendChild(err);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var texts = {};
        if (de.value.trim()) texts.de = de.value.trim();
        if (en.value.trim()) texts.en = en.value.trim();
        var body = { texts: texts };
        if (ends.value) body.ends_at = new Date(ends.value).toISOString();
        C.api("/api/v1/incidents/" + inc.id + "/notices", { method: "POST", body: body }).then(load,
          function (e) { err.textContent = e.message; });
      });
      card.appendChild(form);
      box.appendChild(card);
    });
    if (!list.length) box.appendChild(el("p", { "class": "empty" }, T("no_incidents")));
  }

  function renderKinds(topics) {
    var box = $("fix-kinds");
    box.textContent = "";
    Object.keys(KINDS).forEach(function (kind) {
      var group = topics.filter(function (t) { return (t.fix ? t.fix.kind : "article") === kind; });
      var col = el("div", { "class": "panel list-panel kind-" + kind, "data-kind": kind });
      col.appendChild(el("h3", null, KINDS[kind] + " (" + group.length + ")"));
      group.forEach(function (t) {
        var row = el("div", { "class": "nf-item", "data-topic": t.id });
        row.appendChild(el("strong", null, t.id + " "));
        row.appendChild(el("span", null, t.suggested_title || t.label || ""));
        var fix = t.fix || {};
        row.appendChild(el("p", { "class": "sub small" }, (fix.source === "team" ? T("set_by_team") :
          T("kind_confidence", { pct: Math.round((fix.confidence || 0) * 100) })) +
          (fix.evidence && fix.evidence.length ? " · " + fix.evidence.join(", ") : "") +
          (fix.owner ? T("kind_owner", { owner: fix.owner }) : "")));
        var select = el("select", { "aria-label": T("kind_of", { id: t.id }) });
        Object.keys(KINDS).forEach(function (k) {
          var opt = el("option", { value: k }, KINDS[k]);
          if (k === kind) opt.selected = true;
          select.appendChild(opt);
        });
        select.addEventListener("change", function () {
          C.api("/api/v1/gaps/" + encodeURIComponent(t.id) + "/kind", { method: "PUT", body: { kind: select.value } })
            .then(function (resp) { t.fix = resp.fix; renderKinds(topics); }, function (err) {
              select.value = kind;   // not changed: the select shows the kind the topic still has
              var s = $("report-status");
              s.textContent = err.message;
              s.className = "status error";
            });
        });
        row.appendChild(select);
        col.appendChild(row);
      });
      box.appendChild(col);
    });
  }

  function renderWhy(report) {
    var counts = (report.counts && report.counts.not_found_reasons) || {};
    var parts = Object.keys(counts).filter(function (k) { return counts[k]; }).map(function (k) {
      return (REASONS[k] || k) + " " + counts[k]; });
    $("nf-why").textContent = parts.length ? T("why_not_found", { parts: parts.join(" · ") }) : "";
    // the reason after each phrasing report.js listed
    var cards = document.querySelectorAll("#not-found .nf-item");
    (report.not_found || []).forEach(function (item, i) {
      var card = cards[i];
      if (!card) return;
      var why = {};
      (item.why || []).forEach(function (w) { why[w.text] = w; });
      Array.prototype.forEach.call(card.querySelectorAll(".phrasings li"), function (li) {
        var w = why[li.textContent];
        if (!w || li.getAttribute("data-reason")) return;
        li.setAttribute("data-reason", w.reason);
        if (w.greyed) li.classList.add("greyed");
        var detail = w.reason === "wording" ? T("why_wording", { words: w.missing_words.join(", ") }) :
          w.reason === "language" ? T("why_language", { title: w.twin_title || w.twin }) :
          w.reason === "sibling" ? T("why_sibling", { title: w.sibling_title || w.sibling }) :
          w.reason === "doubt" ? T("why_doubt", { pct: Math.round((w.confidence || 0) * 100) }) :
          T("why_new");
        li.appendChild(el("span", { "class": "why small" }, " — " + (REASONS[w.reason] || w.reason) + ": " + detail));
      });
    });
  }

  var last = null;
  // report.js lists the phrasings; each time it does, the reasons are added to them
  new MutationObserver(function () { if (last) renderWhy(last); }).observe($("not-found"), { childList: true });

  function load() {
    if (!C.getKey()) return;
    C.api("/api/v1/incidents").then(function (r) { renderIncidents(r.incidents); }, function () {});
    C.api("/api/v1/gaps?status=open").then(function (r) {
      last = r;
      renderKinds(r.topics || []);
      renderWhy(r);
    }, function () {});
  }
  $("reload").addEventListener("click", load);
  // a key saved on the first visit: load now (after the key form's own handler has stored it)
  var keyForm = $("key-form");
  if (keyForm) keyForm.addEventListener("submit", function () { setTimeout(load, 0); });
  load();
})();
