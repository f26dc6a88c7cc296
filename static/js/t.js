/* Rapport website tracking. Embed with
 *   <script src="https://rapport.example/t.js" data-key="WRITE_KEY" defer></script>
 * It keeps an anonymous visitor id (localStorage and a first-party cookie of this website),
 * sends a page_view on load, fills every <input name="rapport_visitor"> with the visitor
 * id (so a lead form joins the visitor's earlier visits to the new lead), and offers
 * window.rapport.track(name, properties) for other events and window.rapport.page() for
 * the page views of single-page sites. No third-party code. */
(function () {
  "use strict";
  var script = document.currentScript;
  var key = script && script.getAttribute("data-key");
  if (!key || !window.JSON) {
    return;
  }
  var endpoint = new URL("api/v1/events", script.src).href;
  var NAME = "rapport_visitor";
  var TWO_YEARS = 60 * 60 * 24 * 730;

  function valid(id) {
    return typeof id === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(id);
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) {
      hex += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return hex;
  }

  function fromCookie() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(NAME + "=") === 0) {
        return parts[i].slice(NAME.length + 1);
      }
    }
    return null;
  }

  function visitorId() {
    var id = null;
    try {
      id = window.localStorage.getItem(NAME);
    } catch (ignored) {
      id = null;
    }
    if (!valid(id)) {
      id = fromCookie();
    }
    if (!valid(id)) {
      id = newId();
    }
    try {
      window.localStorage.setItem(NAME, id);
    } catch (ignored) {
      /* storage disabled: the cookie still keeps the id */
    }
    document.cookie = NAME + "=" + id + "; path=/; max-age=" + TWO_YEARS + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    return id;
  }

  var visitor = visitorId();

  /* text/plain keeps the request "simple": no CORS preflight, and no cookies are sent. */
  function send(events) {
    var body = JSON.stringify({ write_key: key, events: events });
    if (window.fetch) {
      window.fetch(endpoint, {
        method: "POST",
        body: body,
        keepalive: true,
        credentials: "omit",
        headers: { "Content-Type": "text/plain" }
      }).catch(function () { /* tracking must never break the page */ });
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
    }
  }

  function track(name, properties) {
    send([{ name: name, properties: properties || {}, visitor_id: visitor }]);
  }

  function fillForms() {
    var inputs = document.querySelectorAll('input[name="' + NAME + '"]');
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].value) {
        inputs[i].value = visitor;
      }
    }
  }

  /* Single-page sites call rapport.page() after each change of route. */
  function page() {
    track("page_view", {
      path: location.pathname,
      title: document.title,
      referrer: document.referrer,
      url: location.href
    });
  }

  window.rapport = { visitorId: visitor, track: track, page: page, fillForms: fillForms };

  page();

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillForms);
  } else {
    fillForms();
  }
})();
