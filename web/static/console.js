/* Shared by the agent console and the report: API key (localStorage), API calls, DOM helpers. */
(function () {
  "use strict";
  // Under a multi-tenant service the pages live below /t/<name>: API calls and site links go there, and
  // each help center keeps its own key in the browser.
  var meta = document.querySelector('meta[name="deflect-base"]');
  var BASE = ((meta && meta.getAttribute("content")) || "").replace(/\/+$/, "");
  var KEY = "deflect.apiKey" + (BASE ? ":" + BASE : "");
  // The page's words in its language (web/console_text.py), as JSON the page carries.
  var TEXT = {};
  try { TEXT = JSON.parse(document.getElementById("console-text").textContent); } catch (e) { /* none: keys shown */ }

  /** The text ``key`` with its {name} places filled from ``vars``; ``fallback`` (else the key) when the page
   * has no such text (a status or source a newer API sends). */
  function t(key, vars, fallback) {
    var text = TEXT[key] === undefined ? (fallback === undefined ? key : String(fallback)) : TEXT[key];
    return text.replace(/\{(\w+)\}/g, function (m, name) {
      return vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m;
    });
  }

  /** A path of this deflect service ("/articles/x", an article's "/hilfe/..." URL) under its base. */
  function link(path) {
    return BASE && /^\/(?!\/)/.test(path) ? BASE + path : path;
  }

  function getKey() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function setKey(value) {
    try { if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY); } catch (e) { /* private mode */ }
  }

  /** Build an element; text is set with textContent (never parsed as HTML). */
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Only http(s) and relative links; anything else becomes null. */
  function safeHref(url) {
    if (!url) return null;
    try {
      var u = new URL(String(url), location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }

  function api(path, options) {
    options = options || {};
    var headers = { "Accept": options.accept || "application/json" };
    var key = getKey();
    if (key) headers["Authorization"] = "Bearer " + key;
    var init = { method: options.method || "GET", headers: headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(link(path), init).then(function (resp) {
      if (options.raw && resp.ok) return resp;
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok || data.ok === false) {
          var msg = data.error || ("HTTP " + resp.status);
          if (resp.status === 401) msg += t("key_refused");   // 403: a valid key of another scope, as said
          var err = new Error(msg);
          err.status = resp.status;
          throw err;
        }
        return data;
      });
    });
  }

  var LANG = document.documentElement.lang || "en";

  /** A number as the page's language writes it ("0,75" in German), with ``digits`` decimals. */
  function num(x, digits) {
    if (typeof x !== "number" || isNaN(x)) return "–";
    return x.toLocaleString(LANG, { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }

  function pct(x) {
    return x === null || x === undefined || isNaN(x) ? "–" : num(Math.round(x * 100)) + " %";
  }

  /** An ISO date ("2026-04-01", or a time "2026-04-01T09:30...") as the page's language writes it. */
  function date(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(String(iso || ""));
    if (!m) return String(iso || "");
    var day = LANG === "de" ? m[3] + "." + m[2] + "." + m[1] : m[1] + "-" + m[2] + "-" + m[3];
    return m[4] ? day + " " + m[4] + ":" + m[5] : day;
  }

  /** A quotation in the page's language's marks. */
  function quote(text) {
    return LANG === "de" ? "„" + text + "“" : "“" + text + "”";
  }

  function initKeyForm(onChange) {
    var form = document.getElementById("key-form");
    var input = document.getElementById("api-key");
    var status = document.getElementById("key-status");
    if (!form) return;
    input.value = getKey();
    status.textContent = getKey() ? t("key_saved") : "";
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      setKey(input.value.trim());
      status.textContent = input.value.trim() ? t("key_saved") : t("key_cleared");
      if (onChange) onChange();
    });
  }

  window.deflectConsole = { api: api, el: el, getKey: getKey, setKey: setKey, pct: pct,
    safeHref: safeHref, initKeyForm: initKeyForm, link: link, t: t, lang: LANG, num: num, date: date, quote: quote };
})();
