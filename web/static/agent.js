/* Agent console: inquiry -> articles, similar tickets, a cited draft reply, copy button. */
(function () {
  "use strict";
  var C = window.deflectConsole;
  var el = C.el, t = C.t;
  var $ = function (id) { return document.getElementById(id); };
  // The engine's decision as the console shows it: [badge text, badge class].
  var DECISIONS = {
    answer: [t("decision_answer"), "badge-good"],
    suggest: [t("decision_suggest"), "badge-warn"],
    no_answer: [t("decision_no_answer"), "badge-warn"],
  };

  function snippet(text) {
    // The API's snippet is HTML-escaped with <mark>; rebuild it as DOM, allowing only <mark>.
    var frag = document.createDocumentFragment();
    var inMark = false;
    String(text || "").split(/(<\/?mark>)/i).forEach(function (part) {
      if (/^<mark>$/i.test(part)) { inMark = true; return; }
      if (/^<\/mark>$/i.test(part)) { inMark = false; return; }
      if (!part) return;
      var t = document.createTextNode(part.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, function (m, n) {
        if (n[0] === "#") return String.fromCodePoint(n[1].toLowerCase() === "x" ? parseInt(n.slice(2), 16) : parseInt(n.slice(1), 10));
        return { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }[n.toLowerCase()];
      }));
      if (inMark) { var m = el("mark"); m.appendChild(t); frag.appendChild(m); } else frag.appendChild(t);
    });
    return frag;
  }

  function score(x) { return typeof x === "number" ? C.num(x, 2) : ""; }

  function sourceLabel(src) {
    if (!src) return "";
    if (src.type === "article") return t("source_article", { title: src.title || src.id });
    if (src.type === "ticket") return t("source_ticket", { id: src.id });
    if (src.type === "template") {
      return t("source_template", { id: src.id ? t("template_" + src.id, null, src.id) : t("source_template_text") });
    }
    return src.type ? src.type + (src.id ? " " + src.id : "") : "";
  }

  function renderDraft(draft, result) {
    $("draft").value = (draft && draft.text) || "";
    var list = $("draft-sources");
    list.textContent = "";
    var seen = {};
    ((draft && draft.parts) || []).forEach(function (part) {
      var src = part.source;
      if (!src || !src.type) return;
      var key = src.type + ":" + src.id;
      if (seen[key]) return;
      seen[key] = true;
      var li = el("li");
      var href = src.type === "article" ? C.safeHref(C.link(src.url || ("/articles/" + encodeURIComponent(src.id)))) : null;
      if (href) li.appendChild(el("a", { href: href, target: "_blank", rel: "noopener" }, sourceLabel(src)));
      else li.appendChild(el("span", null, sourceLabel(src)));
      var excerpt = String(part.text || "").replace(/\s+/g, " ").slice(0, 140);
      li.appendChild(el("span", { "class": "quote" }, C.quote(excerpt + (part.text && part.text.length > 140 ? "…" : ""))));
      list.appendChild(li);
    });
    var badge = $("decision");
    var verdict = DECISIONS[result.decision] || DECISIONS.no_answer;
    badge.textContent = verdict[0] +
      (typeof result.confidence === "number" ? " · " + Math.round(result.confidence * 100) + " %" : "");
    badge.className = "badge " + verdict[1];
    var check = $("draft-check");
    // the API words the language check in English; the page says it in its own language
    var first = (result.articles || [])[0];
    var customer = t("lang_" + result.language, null, result.language);
    var templated = result.language === "de" || result.language === "en";   // the languages drafts are written in
    check.textContent = !(draft && draft.check) ? "" : C.lang === "en" ? draft.check :
      !templated ? t("draft_check_other", { customer: customer }) :
      !first ? draft.check : t("draft_check", { article: t("lang_" + first.language, null, first.language),
        customer: customer });
    check.hidden = !check.textContent;
    $("draft-panel").hidden = false;
  }

  function renderArticles(articles, inquiryId) {
    var list = $("agent-articles");
    list.textContent = "";
    if (!articles || !articles.length) { list.appendChild(el("li", { "class": "empty" }, t("no_articles"))); return; }
    articles.forEach(function (a) {
      var li = el("li", { "class": "hit" });
      var head = el("div", { "class": "hit-head" });
      var href = C.safeHref(C.link(a.url || ("/articles/" + encodeURIComponent(a.id))));
      head.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener" }, a.title || a.id) : el("span", null, a.title || a.id));
      head.appendChild(el("span", { "class": "score", title: t("similarity") }, score(a.score)));
      li.appendChild(head);
      if (a.snippet) { var p = el("p", { "class": "snippet" }); p.appendChild(snippet(a.snippet)); li.appendChild(p); }
      if (inquiryId) li.appendChild(chooseButton(inquiryId, a));
      list.appendChild(li);
    });
  }

  function renderTickets(tickets) {
    var list = $("agent-tickets");
    list.textContent = "";
    if (!tickets || !tickets.length) { list.appendChild(el("li", { "class": "empty" }, t("no_tickets"))); return; }
    tickets.forEach(function (ticket) {
      var li = el("li", { "class": "hit" });
      var head = el("div", { "class": "hit-head" });
      head.appendChild(el("strong", null, (ticket.subject || t("no_subject")) + " "));
      head.appendChild(el("span", { "class": "muted" }, ticket.id));
      head.appendChild(el("span", { "class": "score", title: t("similarity") }, score(ticket.score)));
      li.appendChild(head);
      if (ticket.body) {
        var body = String(ticket.body).replace(/\n\s*\n+/g, "\n").trim();
        li.appendChild(el("p", { "class": "ticket-body" }, body.length > 400 ? body.slice(0, 399) + "…" : body));
      }
      var res = el("p", { "class": "resolution" });
      res.appendChild(el("span", { "class": "label" }, t("resolution")));
      res.appendChild(document.createTextNode(ticket.resolution || "–"));
      li.appendChild(res);
      var inferred = ticket.inferred_article;
      if (ticket.article_id) li.appendChild(el("p", { "class": "muted small" }, t("linked_article", { id: ticket.article_id })));
      else if (inferred) li.appendChild(el("p", { "class": "muted small inferred" }, t("inferred_article", {
        id: inferred.id, confidence: score(inferred.confidence),
        source: t("inferred_" + inferred.source, null, inferred.source) })));
      list.appendChild(li);
    });
  }

  // -- one customer history: what the customer did in the widget before writing ------------------
  var STEP_WORDS = { searched: t("step_searched"), shown: t("step_shown"), read: t("step_read"),
    helpful: t("step_helpful"), not_helpful: t("step_not_helpful"), contacted: t("step_contacted") };

  function renderHistory(history) {
    var panel = $("history-panel");
    var list = $("history-steps");
    list.textContent = "";
    if (!history) { panel.hidden = true; return; }
    // the API writes its summary in English: another language reads the steps below, in its own words
    var known = (history.steps || []).length > 0;
    $("history-summary").textContent = !known ? t("no_history") : C.lang === "en" ? history.summary || "" : "";
    (history.steps || []).forEach(function (step) {
      var words = STEP_WORDS[step.action] || step.action;
      var what = step.text ? " " + C.quote(step.text) : step.title ? " " + C.quote(step.title) : "";
      if (step.action === "not_helpful" && step.title) what = " (" + C.quote(step.title) + ")";
      list.appendChild(el("li", null, words + what));
    });
    panel.hidden = false;
  }

  // -- the article the agent chose: evidence deflect learns from ------------------------------
  function chooseButton(inquiryId, article) {
    var button = el("button", { type: "button", "class": "btn btn-ghost btn-small choose" }, t("use_article"));
    button.addEventListener("click", function () {
      C.api("/api/v1/agent/choice", { method: "POST", body: { inquiry_id: inquiryId, article_id: article.id } })
        .then(function () { button.textContent = t("chosen"); button.disabled = true; },
          function (err) { button.textContent = err.message; });
    });
    return button;
  }

  function submit(ev) {
    ev.preventDefault();
    var status = $("agent-status");
    var body = $("body").value.trim();
    var subject = $("subject").value.trim();
    if (!body && !subject) { status.textContent = t("paste_first"); return; }
    var payload = { subject: subject, body: body || subject };
    if ($("language").value) payload.language = $("language").value;
    if ($("ticket-id").value.trim()) payload.ticket_id = $("ticket-id").value.trim();
    status.textContent = t("searching");
    status.className = "status";
    $("suggest-btn").disabled = true;
    // the previous customer's draft must not stay on screen while (or if) this one fails
    ["agent-results", "draft-panel", "history-panel", "agent-notice"].forEach(function (id) { $(id).hidden = true; });
    $("copy-status").textContent = "";
    C.api("/api/v1/agent/suggest", { method: "POST", body: payload }).then(function (result) {
      status.textContent = "";
      renderDraft(result.draft, result);
      renderArticles(result.articles, result.id);
      renderHistory(result.history);
      renderNotice(result.notice);
      renderTickets(result.tickets);
      $("agent-results").hidden = false;
    }, function (err) {
      status.textContent = err.message;
      status.className = "status error";
    }).then(function () {
      $("suggest-btn").disabled = false;
    });
  }

  /** A known outage the ticket belongs to: the notice the widget shows customers, for the agent's reply. */
  function renderNotice(notice) {
    var box = $("agent-notice");
    box.textContent = "";
    if (!notice) { box.hidden = true; return; }
    box.appendChild(C.el("strong", null, t("known_incident") + " "));
    box.appendChild(C.el("span", { lang: notice.language }, notice.text));
    box.hidden = false;
  }

  function copyDraft() {
    var text = $("draft").value;
    var done = function () { $("copy-status").textContent = t("copied"); };
    var fallback = function () {
      $("draft").select();
      try { document.execCommand("copy"); done(); } catch (e) { $("copy-status").textContent = t("press_copy"); }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  C.initKeyForm();
  $("inquiry-form").addEventListener("submit", submit);
  $("copy-draft").addEventListener("click", copyDraft);
})();
