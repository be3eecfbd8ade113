/*! deflect help widget: suggests FAQ articles while customers type. Plain JS, no dependencies.
 *
 * Embed with one tag:
 *   <script src="https://host/static/widget.js" data-deflect-api="https://host"
 *           data-deflect-target="#help-search" data-deflect-form="#contact-form"
 *           data-deflect-lang="de" defer></script>
 *
 * data-deflect-api      API base URL (default: where this script was loaded from, without /static/widget.js
 *                       or /widget.js: a help center of a multi-tenant service, https://host/t/<name>,
 *                       answers from its own API)
 * data-deflect-target   CSS selector of a search input: search-as-you-type with a results list
 * data-deflect-form     CSS selector of a contact form: suggestions while the customer writes
 * data-deflect-lang     "de" or "en" (default: <html lang>)
 * data-deflect-contact  URL of the contact page (default: the contact form above, if any)
 * data-deflect-search   URL of a results page that Enter in the search box opens with ?q= (deflect's own: SERVICE/search);
 *                        unset, Enter shows the answers here (a host site's page is no page of deflect's)
 * data-deflect-links    prefix of article URLs that start with "/" (default: none, they lead to this site)
 *
 * The API answers one of three ways: "answer" (the article, and a second one when nearly tied, with
 * "did this help?"), "suggest" (not sure: up to three articles that might help, the way to a human beside
 * them) or "no_answer" (said honestly, the way to a human); "shown" says how many articles to show.
 *
 * The contact form gets a hidden field deflect_session with the widget's session id: send it on to
 * the help desk and back to deflect with the ticket ("session" in PUT /api/v1/tickets/<id>), and the
 * agent sees what the customer already searched, read and voted. A session held out by the holdout
 * experiment (DEFLECT_HOLDOUT) sees no suggestions: the form stays a plain contact form.
 *
 * Security: article titles are inserted as text; snippets (HTML-escaped by the API, with <mark>
 * around matching words) are rebuilt as DOM nodes allowing only <mark>; API text is never parsed as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector("script[data-deflect-target], script[data-deflect-form]");
  if (!script || window.__deflectLoaded) return;
  window.__deflectLoaded = true;

  var STRINGS = {
    de: {
      results: "Passende Hilfeartikel",
      formIntro: "Vielleicht beantwortet einer dieser Artikel schon Ihre Frage:",
      helpful: "Hat das geholfen?",
      yes: "Ja",
      no: "Nein",
      thanks: "Danke für Ihr Feedback!",
      sorry: "Schade. Unser Team hilft Ihnen gern weiter:",
      formSorry: "Schade. Schreiben Sie uns einfach – wir helfen Ihnen gern weiter.",
      noAnswer: "Dazu haben wir leider keinen passenden Artikel. Unser Team hilft Ihnen gern:",
      mightHelp: "Vielleicht hilft einer dieser Artikel",
      orAsk: "Nicht dabei? Unser Team hilft Ihnen gern:",
      still: "Noch Fragen? Unser Team hilft Ihnen gern:",
      contact: "Zum Kontaktformular",
      error: "Die Suche ist gerade nicht erreichbar. Unser Team hilft Ihnen gern:",
      busy: "Gerade kommen sehr viele Suchen von hier. Einen Moment – oder unser Team hilft Ihnen gern:",
      found: function (n) { return n === 1 ? "1 Artikel gefunden." : n + " Artikel gefunden."; },
      keys: "Pfeiltasten wählen einen Vorschlag, Enter öffnet ihn (ohne Auswahl: alle Ergebnisse), Escape schließt die Liste.",
    },
    en: {
      results: "Matching help articles",
      formIntro: "One of these articles may already answer your question:",
      helpful: "Did this help?",
      yes: "Yes",
      no: "No",
      thanks: "Thank you for your feedback!",
      sorry: "Sorry about that. Our team is happy to help:",
      formSorry: "Sorry about that. Just send us your message – we are happy to help.",
      noAnswer: "Sorry, we don't have an article about that. Our team is happy to help:",
      mightHelp: "These articles might help",
      orAsk: "Not there? Our team is happy to help:",
      still: "Still have a question? Our team is happy to help:",
      contact: "Go to the contact form",
      error: "Search is unavailable right now. Our team is happy to help:",
      busy: "Many searches are coming from here right now. One moment – or our team is happy to help:",
      found: function (n) { return n === 1 ? "1 article found." : n + " articles found."; },
      keys: "Use the arrow keys to pick a suggestion, Enter opens it (none picked: all results), Escape closes the list.",
    },
  };

  var data = script.dataset || {};
  var scriptUrl = new URL(script.getAttribute("src") || "", location.href);
  var cfg = {
    api: (data.deflectApi || scriptUrl.origin + scriptUrl.pathname.replace(/\/(static\/)?widget\.js$/, ""))
      .replace(/\/+$/, ""),
    links: (data.deflectLinks || "").replace(/\/+$/, ""),
    target: data.deflectTarget || "",
    form: data.deflectForm || "",
    contact: data.deflectContact || "",
    search: data.deflectSearch || "",
    lang: (data.deflectLang || document.documentElement.lang || "en").slice(0, 2).toLowerCase(),
    debounce: 300,       // search box: ~300 ms after the last keystroke
    formDebounce: 800,   // contact form: customers write longer texts, no need to ask on every pause
    minChars: 3,
    maxChars: 1000,
    minGap: 1000,        // at most one search a second while someone types slowly (the rate limit counts them)
    timeout: 8000,       // a search that takes longer counts as failed: the way to a human is shown
  };
  if (!STRINGS[cfg.lang]) cfg.lang = "en";   // a page in another language gets the English strings, marked so
  var T = STRINGS[cfg.lang];
  var uid = 0;

  // -- helpers ------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, key) && attrs[key] !== null) {
          node.setAttribute(key, attrs[key]);
        }
      }
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var ENTITIES = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: "\u00a0" };
  function decodeEntities(s) {
    return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, function (all, name) {
      if (name.charAt(0) === "#") {
        var code = name.charAt(1).toLowerCase() === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : all;
      }
      var known = ENTITIES[name.toLowerCase()];
      return known === undefined ? all : known;
    });
  }

  /** Rebuild an escaped snippet as DOM: text nodes plus <mark> elements, nothing else. */
  function snippetNodes(snippet) {
    var frag = document.createDocumentFragment();
    var parts = String(snippet || "").split(/(<\/?mark>)/i);
    var inMark = false;
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      if (/^<mark>$/i.test(part)) { inMark = true; continue; }
      if (/^<\/mark>$/i.test(part)) { inMark = false; continue; }
      if (!part) continue;
      var text = document.createTextNode(decodeEntities(part));
      if (inMark) {
        var mark = document.createElement("mark");
        mark.appendChild(text);
        frag.appendChild(mark);
      } else {
        frag.appendChild(text);
      }
    }
    return frag;
  }

  function articleHref(article) {
    var fallback = cfg.api + "/articles/" + encodeURIComponent(article.id || "");
    if (!article.url) return fallback;
    var href = String(article.url);
    if (cfg.links && /^\/(?!\/)/.test(href)) href = cfg.links + href;
    try {
      var url = new URL(href, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : fallback;
    } catch (e) {
      return fallback;
    }
  }

  /** The articles the API says to show (``shown``; older servers: the first one of an answer). */
  function shownArticles(result) {
    var all = result.articles || [];
    var n = typeof result.shown === "number" ? result.shown : (result.decision === "answer" ? 1 : 0);
    return all.slice(0, Math.max(0, Math.min(n, 3)));
  }

  function searchPage(text) {
    var url = new URL(cfg.search, location.href);
    url.searchParams.set("q", text);
    url.searchParams.set("lang", cfg.lang);   // German too: a page without it follows the browser's language
    url.searchParams.set("session", sessionId());   // one customer: the holdout arm and the history follow
    return url.href;
  }

  // Keys per help center: the help centers of one instance (/t/NAME) share the service's origin, and one
  // must neither replay another's search nor link the same customer across both ("deflect.session" at /).
  var space = new URL(cfg.api, location.href).pathname.replace(/\/+$/, "");
  var memory = {};
  function storageGet(key) {
    key += space ? ":" + space : "";
    try { return window.sessionStorage.getItem(key); } catch (e) { return memory[key] || null; }
  }
  function storageSet(key, value) {
    key += space ? ":" + space : "";
    try { window.sessionStorage.setItem(key, value); } catch (e) { memory[key] = value; }
  }

  function sessionId() {
    var id = storageGet("deflect.session");
    if (!id) {
      id = window.crypto && crypto.randomUUID ? crypto.randomUUID()
        : Date.now().toString(36) + Math.random().toString(36).slice(2);
      storageSet("deflect.session", id);
    }
    return id;
  }

  function postJSON(path, body, options) {
    options = options || {};
    return fetch(cfg.api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      signal: options.signal,
      keepalive: !!options.keepalive,
      credentials: "omit",
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (payload) {
        if (!resp.ok || payload.ok === false) {
          var err = new Error(payload.error || ("HTTP " + resp.status));
          err.status = resp.status;
          throw err;
        }
        return payload;
      });
    });
  }

  /** A signal that aborts with ``signal`` and after ``ms``; a timeout rejects as a failure, not an abort. */
  function withTimeout(promiseOf, signal, ms) {
    if (!window.AbortController) return promiseOf(signal);
    var controller = new AbortController();
    var timedOut = false;
    if (signal) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener("abort", function () { controller.abort(); });
    }
    var timer = setTimeout(function () { timedOut = true; controller.abort(); }, ms);
    return promiseOf(controller.signal).then(function (value) {
      clearTimeout(timer);
      return value;
    }, function (err) {
      clearTimeout(timer);
      if (timedOut) { var e = new Error("timeout"); e.timeout = true; throw e; }
      throw err;
    });
  }

  function suggest(text, signal) {
    var body = { text: clipped(text), session: sessionId(), page: location.pathname };
    var ask = function () {
      return withTimeout(function (s) { return postJSON("/api/v1/suggest", body, { signal: s }); }, signal, cfg.timeout);
    };
    // A connection that breaks (a restarting server process) is asked once more: a suggestion changes
    // nothing on the server but the log, so asking twice is harmless.
    return ask().catch(function (err) {
      if (err && (err.name === "AbortError" || err.status || err.timeout)) throw err;
      return new Promise(function (resolve) { setTimeout(resolve, 300); }).then(ask);
    }).then(function (result) {
      if (result.id) storageSet("deflect.lastInquiry", result.id);
      if (heldOut(result)) return null;
      storageSet("deflect.lastResult", JSON.stringify({ text: text, result: result }));
      return result;
    });
  }

  // -- holdout experiment: a held-out session gets no suggestions (the form is a plain contact form)
  function heldOut(result) {
    return !!(result && result.holdout);
  }

  // -- one customer history: the contact form carries the widget session (hidden deflect_session)
  function addSessionField(form) {
    var field = form.querySelector("input[name=deflect_session]");
    if (!field) {
      field = el("input", { type: "hidden", name: "deflect_session" });
      form.appendChild(field);
    }
    field.value = sessionId();
  }

  function sendFeedback(inquiryId, articleId, event, keepalive) {
    if (!inquiryId) return Promise.resolve(null);
    var body = { inquiry_id: inquiryId, event: event, session: sessionId() };
    if (articleId) body.article_id = articleId;
    if (event === "helpful" || event === "not_helpful") body.helpful = event === "helpful";
    return postVote(body, keepalive);
  }

  /** Sends a vote or event. A vote the service could not take (down, overloaded: no answer or a 5xx) waits in
   *  the session's storage and is sent with the next page of the help center, so the customer's "thank
   *  you" was not for nothing; sent twice, the service keeps one. A refused one (4xx) is dropped, and so is
   *  another event (one sent as the page unloads may have arrived though its answer did not). */
  function postVote(body, keepalive) {
    return postJSON("/api/v1/feedback", body, { keepalive: keepalive }).catch(function (err) {
      var vote = body.event === "helpful" || body.event === "not_helpful";
      if (vote && (!err || !err.status || err.status >= 500)) {
        var waiting = pendingVotes();
        if (waiting.length < 20) { waiting.push(body); storageSet("deflect.pendingVotes", JSON.stringify(waiting)); }
      }
      return null;
    });
  }

  function pendingVotes() {
    try { return JSON.parse(storageGet("deflect.pendingVotes") || "[]") || []; } catch (e) { return []; }
  }

  function sendPendingVotes() {
    var waiting = pendingVotes();
    if (!waiting.length) return;
    storageSet("deflect.pendingVotes", "[]");
    waiting.forEach(function (body) { postVote(body, false); });
  }

  function debounce(fn, ms) {
    var timer = null;
    function wrapped() {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    }
    wrapped.cancel = function () { clearTimeout(timer); };
    return wrapped;
  }

  /** A message as the screen reader says it: without the colon that leads to the link shown after it. */
  function spoken(text) {
    return text.replace(/:$/, ".");
  }

  /** Characters as the service counts them (code points, spaces left out): an emoji is one, not two. */
  function visible(text) {
    return Array.from(text.replace(/[\s\u200b-\u200f\u2060\ufeff]/g, "")).length;
  }

  /** At most ``cfg.maxChars`` characters, never cutting an emoji in half (the service refuses half one). */
  function clipped(text) {
    var chars = Array.from(text);
    return chars.length > cfg.maxChars ? chars.slice(0, cfg.maxChars).join("") : text;
  }

  /** Runs the latest query only: debounced, at most one request per ``cfg.minGap``, and aborts the
   *  request a newer query replaces. "Too many requests" (429) asks again a little later and is told to
   *  ``onError``, which keeps what is shown: it is no outage. A question the service does not take
   *  (400: too short as it counts) shows nothing, as a too short one does here. */
  function Searcher(onResult, onError, delay) {
    var controller = null;
    var lastText = null;
    var lastSent = 0;
    var gapTimer = null;
    var run = function (text) {
      if (text === lastText) return;
      clearTimeout(gapTimer);
      var wait = lastSent + cfg.minGap - Date.now();
      if (wait > 0 && visible(text) >= cfg.minChars) { gapTimer = setTimeout(function () { run(text); }, wait); return; }
      lastText = text;
      if (controller) controller.abort();
      if (visible(text) < cfg.minChars) { onResult(null, text); return; }
      controller = window.AbortController ? new AbortController() : null;
      var mine = controller;
      lastSent = Date.now();
      suggest(text, mine && mine.signal).then(function (result) {
        if (mine === controller) onResult(result, text);
      }, function (err) {
        if (err && err.name === "AbortError") return;
        if (mine !== controller) return;
        lastText = null;
        if (err && err.status === 400) { onResult(null, text); return; }
        if (err && err.status === 429) gapTimer = setTimeout(function () { run(text); }, 3 * cfg.minGap);
        onError(err, text);
      });
    };
    var later = debounce(run, delay || cfg.debounce);
    return {
      soon: later,
      now: function (text) { later.cancel(); lastSent = 0; run(text); },
      // what was answered before for this text (Back, a reload): shown again without asking again, so the
      // one question is not logged once more
      replay: function (text, result) { later.cancel(); lastText = text; onResult(result, text); },
      reset: function () {
        later.cancel(); clearTimeout(gapTimer);
        if (controller) controller.abort();
        controller = null; lastText = null;
      },
    };
  }

  // -- the way to a human -------------------------------------------------------------------
  function contactForm() {
    return cfg.form ? document.querySelector(cfg.form) : null;
  }

  /** A message without its "Our team is happy to help:" where the page has no way to a human to point to. */
  function withWay(text, link) {
    return link ? text : text.replace(/\s*(?:Unser Team|Our team)[^.:]*:$/, "");
  }

  function contactLink(prefill) {
    var form = contactForm();
    var href = cfg.contact || (form && form.id ? "#" + form.id : "");
    if (!href) return null;
    var link = el("a", { "class": "deflect-contact", href: href }, T.contact);
    if (form && !cfg.contact) {
      link.addEventListener("click", function (ev) {
        ev.preventDefault();
        var fields = formFields(form);
        if (fields.subject && !fields.subject.value && prefill) fields.subject.value = prefill().slice(0, 200);
        var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        form.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "start" });
        var first = fields.subject || fields.body || form.querySelector("input, textarea, select");
        if (first) first.focus({ preventScroll: true });
      });
    }
    return link;
  }

  function formFields(form) {
    return {
      subject: form.querySelector("[name=subject]") ||
        form.querySelector("input[type=text]:not([name=name]), input:not([type])"),
      body: form.querySelector("[name=body], [name=message]") || form.querySelector("textarea"),
    };
  }

  // -- a result block: options, "did this help?", messages --------------------------------------
  // -- incident notices: "Bekannte Störung: ..." above the answers, for questions about the incident's
  // topic. The live notices are asked for once per page; questions are matched only while there are any.
  var Notices = (function () {
    var live = null;
    function any() {
      if (!live) {
        live = fetch(cfg.api + "/api/v1/notices", { credentials: "omit" }).then(function (resp) {
          return resp.json();
        }).then(function (p) { return !!(p.notices && p.notices.length); }, function () { return false; });
      }
      return live;
    }
    function show(results, result) {
      var old = results.container.querySelector(".deflect-notice");
      if (old) old.remove();
      var text = results.options.query ? results.options.query() : "";
      if (!text) return;
      any().then(function (has) {
        if (!has) return null;
        return postJSON("/api/v1/notices/match", { text: clipped(text), language: cfg.lang,
          session: sessionId(), inquiry_id: result && result.id }).catch(function () { return null; });
      }).then(function (payload) {
        var notice = payload && payload.notice;
        if (!notice || results.inquiryId !== (result && result.id || null)) return;   // a newer question
        if (results.container.querySelector(".deflect-notice")) return;
        // an outage is what a customer most needs to hear: an alert is read out when it appears
        var box = el("div", { "class": "deflect-notice", role: "alert", lang: notice.language || null });
        box.appendChild(el("strong", null, notice.prefix.trim() + " "));
        box.appendChild(document.createTextNode(notice.text));
        results.container.insertBefore(box, results.container.firstChild);
        if (results.container.hidden) results.container.hidden = false;
      });
    }
    return { show: show };
  })();

  function Results(container, options) {
    var self = this;
    this.options = options;
    this.container = container;
    this.inquiryId = null;
    this.articles = [];
    this.active = -1;
    this.rated = 0;      // the listed article that "did this help?" is about: the one opened or highlighted last
    this.id = "deflect-" + (++uid);

    if (options.intro) {
      this.intro = el("p", { "class": "deflect-intro", id: this.id + "-intro" }, T.formIntro);
      container.appendChild(this.intro);
    }
    this.heading = el("p", { "class": "deflect-heading", id: this.id + "-heading", hidden: "" });
    container.appendChild(this.heading);
    this.list = el("ul", {
      "class": "deflect-list", id: this.id + "-list",
      role: options.listbox ? "listbox" : null,
      "aria-label": options.intro ? null : T.results,
      "aria-labelledby": options.intro ? this.id + "-intro" : null,
    });
    container.appendChild(this.list);
    this.feedback = el("div", { "class": "deflect-feedback", role: "group", "aria-labelledby": this.id + "-q" });
    container.appendChild(this.feedback);
    this.message = el("div", { "class": "deflect-message" });   // announced via the live region
    container.appendChild(this.message);
    this.list.addEventListener("mousedown", function (ev) {
      if (options.listbox) ev.preventDefault(); // keep focus in the combobox
    });
    this.list.addEventListener("click", function (ev) {
      var item = ev.target.closest ? ev.target.closest("[data-index]") : null;
      if (!item) return;
      self.opened(Number(item.getAttribute("data-index")));
      var link = item.querySelector("a");
      if (link && !ev.target.closest("a")) window.location.href = link.href;  // the whole option is clickable
    });
  }

  Results.prototype.clear = function () {
    this.heading.textContent = "";
    this.heading.hidden = true;
    this.list.textContent = "";
    this.feedback.textContent = "";
    this.message.textContent = "";
    this.message.className = "deflect-message";
    this.articles = [];
    this.active = -1;
    this.rated = 0;
  };

  /** The API's answer, one of three kinds; false when there is nothing to list (no_answer). */
  Results.prototype.show = function (result) {
    this.clear();
    this.inquiryId = result.id || null;
    Notices.show(this, result);
    var kind = result.decision;
    var articles = shownArticles(result);
    if (!articles.length || (kind !== "answer" && kind !== "suggest")) return false;
    if (kind === "answer") this.showAnswer(articles);
    else this.showSuggestions(articles);
    return true;
  };

  /** Confident: the article (two when nearly tied), "did this help?" and, quietly, the way to a human. */
  Results.prototype.showAnswer = function (articles) {
    this.renderList(articles);
    this.renderFeedback();
    this.wayToHuman(T.still);
  };

  /** Not sure: "these articles might help", "did this help?" about the one opened or highlighted, and the
   * way to a human beside them. */
  Results.prototype.showSuggestions = function (articles) {
    if (!this.intro) {   // the contact form's intro already says "may answer your question"
      this.heading.textContent = T.mightHelp;
      this.heading.hidden = false;
    }
    this.renderList(articles);
    this.renderFeedback();
    this.wayToHuman(T.orAsk);
  };

  /** ``text`` and the link to the contact form or page below the articles listed. */
  Results.prototype.wayToHuman = function (text) {
    if (!this.options.listbox) return;   // in the contact form the way to a human is the form itself
    var link = contactLink(this.options.query);
    if (!link) return;                   // a page without a contact form or page: no "Not there? ...:"
    this.message.className = "deflect-message deflect-orask";
    this.message.appendChild(el("span", null, text));
    this.message.appendChild(document.createTextNode(" "));
    this.message.appendChild(link);
  };

  Results.prototype.renderList = function (articles) {
    this.articles = articles;
    for (var i = 0; i < articles.length; i++) {
      var a = articles[i];
      var item = el("li", {
        "class": "deflect-option", id: this.id + "-opt-" + i, "data-index": String(i),
        lang: a.language || null,   // a German article on an English page is read out in German
        role: this.options.listbox ? "option" : null,
        "aria-selected": this.options.listbox ? "false" : null,
      });
      var link = el("a", {
        "class": "deflect-title", href: articleHref(a),
        tabindex: this.options.listbox ? "-1" : null,
      }, a.title || a.id);
      item.appendChild(link);
      if (a.snippet) {
        var p = el("p", { "class": "deflect-snippet" });
        p.appendChild(snippetNodes(a.snippet));
        item.appendChild(p);
      }
      this.list.appendChild(item);
    }
  };

  Results.prototype.renderFeedback = function () {
    var self = this;
    this.feedback.textContent = "";
    // the same answer shown again (reload, back): the vote given on it stands, and so does its reply
    var voted = (storageGet("deflect.voted") || "").split(" ");
    if (this.inquiryId && voted[0] === this.inquiryId) { this.thank(voted[1] === "helpful", false); return; }
    var q = el("span", { "class": "deflect-question", id: this.id + "-q" }, T.helpful);
    this.yes = el("button", { type: "button", "class": "deflect-btn deflect-yes" }, T.yes);
    this.no = el("button", { type: "button", "class": "deflect-btn deflect-no" }, T.no);
    this.yes.addEventListener("click", function () { self.rate(true); });
    this.no.addEventListener("click", function () { self.rate(false); });
    this.feedback.appendChild(q);
    this.feedback.appendChild(this.yes);
    this.feedback.appendChild(this.no);
    this.rateOn(this.rated);
  };

  /** Makes the listed article at ``index`` the one a vote is about; the buttons' labels name it. */
  Results.prototype.rateOn = function (index) {
    if (!this.articles[index]) return;
    this.rated = index;
    if (!this.yes || !this.yes.isConnected) return;
    var about = " – " + T.helpful + " (" + (this.articles[index].title || "") + ")";
    this.yes.setAttribute("aria-label", T.yes + about);
    this.no.setAttribute("aria-label", T.no + about);
  };

  Results.prototype.rate = function (helpful) {
    var article = this.articles[this.rated];
    var event = helpful ? "helpful" : "not_helpful";
    sendFeedback(this.inquiryId, article && article.id, event);
    if (this.inquiryId) storageSet("deflect.voted", this.inquiryId + " " + event);
    this.thank(helpful, true);
  };

  /** The reply to a vote: thanks, or (not helpful) the way to a human; ``focus`` moves focus to it. */
  Results.prototype.thank = function (helpful, focus) {
    this.feedback.textContent = "";
    var inForm = !this.options.listbox;
    var link = !helpful && !inForm ? contactLink(this.options.query) : null;
    var msg = el("p", { "class": "deflect-thanks", tabindex: "-1" },
      helpful ? T.thanks : inForm ? T.formSorry : withWay(T.sorry, link));
    if (link) { msg.appendChild(document.createTextNode(" ")); msg.appendChild(link); }
    this.feedback.appendChild(msg);
    if (focus) msg.focus();
  };

  Results.prototype.noAnswer = function (text) {
    this.clear();
    this.message.className = "deflect-message deflect-noanswer";
    var link = contactLink(this.options.query);
    this.message.appendChild(el("span", null, withWay(text, link)));
    if (link) { this.message.appendChild(document.createTextNode(" ")); this.message.appendChild(link); }
  };

  Results.prototype.opened = function (index) {
    var article = this.articles[index];
    if (article) sendFeedback(this.inquiryId, article.id, "clicked", true);
    this.rateOn(index);
  };

  Results.prototype.setActive = function (index) {
    var items = this.list.children;
    if (!items.length) { this.active = -1; return null; }
    if (index < 0) index = items.length - 1;
    if (index >= items.length) index = 0;
    for (var i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", i === index ? "true" : "false");
    this.active = index;
    this.rateOn(index);
    items[index].scrollIntoView({ block: "nearest" });
    return items[index];
  };

  // -- search box: a combobox with a listbox ------------------------------------------------
  /** Where the panel goes: after the search field, or after the row that holds it beside its button
   *  (a flex or grid row of the host page would squeeze the panel in between them). */
  function panelPlace(input) {
    var node = input;
    while (node.parentElement && node.parentElement !== document.body && node.parentElement.tagName !== "FORM") {
      var style = window.getComputedStyle(node.parentElement);
      var row = /grid/.test(style.display) || (/flex/.test(style.display) && !/column/.test(style.flexDirection));
      if (!row) break;
      node = node.parentElement;
    }
    return node;
  }

  function attachSearch(input) {
    var wrapper = el("div", { "class": "deflect deflect-search", lang: cfg.lang });
    var panel = el("div", { "class": "deflect-panel", hidden: "" });
    var hint = el("span", { "class": "deflect-sr", id: "deflect-hint-" + (++uid) }, (cfg.search ? T.keys : T.keys.replace(/ \([^)]*\)/, "")));
    var live = el("div", { "class": "deflect-sr", role: "status", "aria-live": "polite" });
    wrapper.appendChild(panel);
    wrapper.appendChild(hint);
    wrapper.appendChild(live);
    panelPlace(input).insertAdjacentElement("afterend", wrapper);

    var results = new Results(panel, { listbox: true, query: function () { return input.value.trim(); } });
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", results.list.id);
    input.setAttribute("aria-describedby",
      ((input.getAttribute("aria-describedby") || "") + " " + hint.id).trim());
    input.setAttribute("autocomplete", "off");

    function open() {
      panel.hidden = false;
      input.setAttribute("aria-expanded", results.articles.length ? "true" : "false");
    }
    function close() {
      panel.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      results.active = -1;
      var items = results.list.children;
      for (var i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", "false");
    }

    var unreachable = false;   // the last search found the service down: its results page would be too
    var searcher = Searcher(function (result, text) {
      unreachable = false;
      input.removeAttribute("aria-activedescendant");
      wrapper.classList.remove("deflect-busy");
      if (!result) { results.clear(); close(); live.textContent = ""; return; }
      if (results.show(result)) {
        live.textContent = (result.decision === "suggest" ? T.mightHelp + ": " : "") + T.found(results.articles.length);
      } else {
        live.textContent = spoken(T.noAnswer);
        results.noAnswer(T.noAnswer);
      }
      open();
    }, function (err) {
      var busy = err && err.status === 429;
      if (busy && results.articles.length) return;   // asked again soon; what is shown stays
      unreachable = !busy;
      if (!busy) wrapper.classList.remove("deflect-busy");
      live.textContent = spoken(busy ? T.busy : T.error);
      results.noAnswer(busy ? T.busy : T.error);
      open();
    });

    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (visible(text) >= cfg.minChars) wrapper.classList.add("deflect-busy");
      storageSet("deflect.query", text);
      searcher.soon(text);
    });
    // Back from the results page or an article: the question and its results again (autocomplete=off,
    // which keeps the browser's own suggestions out of the listbox, also keeps it from restoring the text).
    var navigation = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    var saved = storageGet("deflect.query");
    if (navigation && (navigation.type === "back_forward" || navigation.type === "reload") && saved && !input.value) {
      input.value = saved;
      var last = null;
      try { last = JSON.parse(storageGet("deflect.lastResult") || "null"); } catch (e) { last = null; }
      if (last && last.text === saved && last.result) searcher.replay(saved, last.result);
      else searcher.now(saved);
    }
    input.addEventListener("focus", function () {
      if (results.articles.length || results.message.textContent) open();
    });
    input.addEventListener("keydown", function (ev) {
      var item;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        if (!results.articles.length) return;
        ev.preventDefault();
        open();
        item = results.setActive(results.active + (ev.key === "ArrowDown" ? 1 : -1));
        if (item) input.setAttribute("aria-activedescendant", item.id);
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        if (!panel.hidden && results.active >= 0) {
          var link = results.list.children[results.active].querySelector("a");
          results.opened(results.active);
          window.location.href = link.href;
        } else if (cfg.search && visible(input.value) >= cfg.minChars && !unreachable) {
          searcher.reset();
          window.location.href = searchPage(input.value.trim());   // the results page: the same three answers
        } else {
          searcher.now(input.value.trim());
        }
      } else if (ev.key === "Escape") {
        if (!panel.hidden) { ev.preventDefault(); close(); }
      }
    });
    document.addEventListener("click", function (ev) {
      // (a feedback button replaced by its thank-you note is no longer in the document)
      if (ev.target.isConnected && ev.target !== input && !wrapper.contains(ev.target)) close();
    });
    // Tab away from the box and its panel closes the panel, as a click elsewhere does (focus on the page
    // itself is a click on nothing, or a button replaced by its note: the click handler decides those)
    var focusLeft = function () {
      setTimeout(function () {
        var now = document.activeElement;
        if (now && now !== document.body && now !== input && !wrapper.contains(now)) close();
      }, 0);
    };
    input.addEventListener("blur", focusLeft);
    wrapper.addEventListener("focusout", focusLeft);
  }

  // -- contact form: suggestions above the submit button, contacted_support on submit ------
  function attachForm(form) {
    var fields = formFields(form);
    var submit = form.querySelector("[type=submit], button:not([type])");
    var panel = el("div", { "class": "deflect deflect-panel deflect-inline", lang: cfg.lang, hidden: "" });
    var live = el("div", { "class": "deflect-sr", role: "status", "aria-live": "polite" });
    if (submit && submit.parentNode) submit.parentNode.insertBefore(panel, submit);
    else form.appendChild(panel);
    panel.insertAdjacentElement("afterend", live);

    function text() {
      var parts = [];
      if (fields.subject && fields.subject.value.trim()) parts.push(fields.subject.value.trim());
      if (fields.body && fields.body.value.trim()) parts.push(fields.body.value.trim());
      return parts.join("\n");
    }
    var results = new Results(panel, { listbox: false, intro: true, query: text });
    var searcher = Searcher(function (result) {
      if (result && results.show(result)) {
        panel.hidden = false;
        live.textContent = T.found(results.articles.length);
      } else {
        if (result) results.inquiryId = result.id || null;
        panel.hidden = true;
        live.textContent = "";
      }
    }, function (err) { if (!(err && err.status === 429)) panel.hidden = true; }, cfg.formDebounce);
    var onInput = function () { searcher.soon(text()); };
    if (fields.subject) fields.subject.addEventListener("input", onInput);
    if (fields.body) fields.body.addEventListener("input", onInput);

    form.addEventListener("submit", function () {
      // The customer contacts support after all: record it, then let the form submit normally.
      var inquiry = results.inquiryId || storageGet("deflect.lastInquiry");
      var top = results.articles[0];
      sendFeedback(inquiry, top && top.id, "contacted_support", true);
    });
  }

  function init() {
    var input = cfg.target ? document.querySelector(cfg.target) : null;
    if (input) attachSearch(input);
    var form = contactForm();
    if (form) { attachForm(form); addSessionField(form); }
    sendPendingVotes();
    if (!document.querySelector("link[data-deflect-css]")) {
      var css = el("link", { rel: "stylesheet", "data-deflect-css": "",
        href: new URL("widget.css", scriptUrl).href });
      document.head.appendChild(css);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
