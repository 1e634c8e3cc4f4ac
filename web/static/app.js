// Fetch SMS dashboard: small progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // Countdowns: <span data-countdown="SECONDS"> counts down to 0:00.
  function startCountdowns(root) {
    root.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el.dataset.started) return;
      el.dataset.started = "1";
      var end = Date.now() + parseInt(el.dataset.countdown, 10) * 1000;
      function tick() {
        var s = Math.max(0, Math.round((end - Date.now()) / 1000));
        var m = Math.floor(s / 60), r = s % 60;
        el.textContent = m + ":" + (r < 10 ? "0" : "") + r;
        if (s > 0 && document.body.contains(el)) setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // fetchFragment gets the HTML fragment at url and puts its element in el's
  // place (with countdowns and copy buttons running), then calls done with it.
  function fetchFragment(el, url, done) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        if (!document.body.contains(el)) return;
        var box = document.createElement("div");
        box.innerHTML = html.trim();
        var next = box.firstElementChild;
        if (!next) return;
        el.replaceWith(next);
        startCountdowns(next);
        bindCopy(next);
        done(next);
      });
  }

  // Polling: <div data-poll="URL"> is replaced every 2 s by the fragment at URL,
  // until the fragment comes back without data-poll (a final state).
  function startPolling(el) {
    var url = el.dataset.poll;
    var timer = setTimeout(function poll() {
      fetchFragment(el, url, function (next) {
        if (next.dataset.poll) startPolling(next);
        else if (next.dataset.final === "reload") location.reload();
      }).catch(function () { timer = setTimeout(poll, 4000); });
    }, 2000);
  }

  // Live updates: <div data-stream="verification_id:ID" data-fragment="URL"> is
  // replaced by the fragment at URL whenever the account's event stream
  // (/v1/events, Server-Sent Events) tells of an event whose data has that
  // verification_id (or rental_id), and each time the stream (re)connects, in
  // case one came while it was not connected. A fragment in a final state
  // comes back without data-stream. The stream is closed once nothing on the
  // page watches it. Where it cannot be used, data-poll elements poll instead.
  var source = null, watched = [];
  function refreshFragment(el) {
    fetchFragment(el, el.dataset.fragment, function (next) {
      if (next.dataset.stream) watch(next);
      unwatch(el); // after watching next: the stream stays open
      if (!next.dataset.stream && next.dataset.final === "reload") location.reload();
    }).catch(function () {});
  }
  function unwatch(el) {
    watched = watched.filter(function (w) { return w !== el; });
    if (!watched.length && source) { source.close(); source = null; }
  }
  function onStreamEvent(e) {
    var data;
    try { data = JSON.parse(e.data).data || {}; } catch (err) { return; }
    watched.slice().forEach(function (el) {
      var want = el.dataset.stream.split(":");
      if (data[want[0]] === want[1]) refreshFragment(el);
    });
  }
  function watch(el) {
    watched.push(el);
    if (source) return;
    source = new EventSource("/v1/events");
    source.addEventListener("open", function () {
      document.documentElement.dataset.stream = "open";
      watched.slice().forEach(refreshFragment);
    });
    ["sms.received", "verification.updated", "rental.expired"].forEach(function (t) {
      source.addEventListener(t, onStreamEvent);
    });
    source.addEventListener("error", function () {
      // Closed for good (refused: too many streams, signed out): poll instead.
      if (source && source.readyState === EventSource.CLOSED) {
        var left = watched;
        watched = []; source = null;
        left.forEach(function (w) { if (w.dataset.poll) startPolling(w); });
      }
    });
  }

  // A deposit back from its provider: <section data-deposit-poll="/v1/wallet/deposits/ID">
  // asks the API about it every 1.5 s (a read: the session cookie is enough, no
  // CSRF token) for two minutes at most. Once it is no longer pending, the parts
  // of the page marked data-live (this box, the balance, the lists) are replaced
  // by the server's fresh ones, without reloading the page. Past two minutes the
  // box's [data-slow] note replaces its [data-waiting] one.
  function pollDeposit(el, until) {
    until = until || Date.now() + 120000;
    var later = function () {
      if (Date.now() < until) { setTimeout(check, 1500); return; }
      el.querySelectorAll("[data-waiting]").forEach(function (n) { n.hidden = true; });
      el.querySelectorAll("[data-slow]").forEach(function (n) { n.hidden = false; });
    };
    var check = function () {
      fetch(el.dataset.depositPoll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (d) { if (d.status === "pending") later(); else refreshLive(until); })
        .catch(later);
    };
    setTimeout(check, 1500);
  }
  function refreshLive(until) {
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (next) old.replaceWith(document.importNode(next, true));
        });
        document.querySelectorAll("[data-deposit-poll]").forEach(function (el) { pollDeposit(el, until); });
      })
      .catch(function () { if (Date.now() < until) setTimeout(function () { refreshLive(until); }, 3000); });
  }

  // Copy buttons: <button data-copy="#id"> copies the element's text.
  function bindCopy(root) {
    root.querySelectorAll("[data-copy]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var src = document.querySelector(btn.dataset.copy);
        if (!src) return;
        var text = src.textContent.trim();
        var done = function () { var t = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = t; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(src); });
        } else { selectText(src); try { document.execCommand("copy"); done(); } catch (e) {} }
      });
    });
  }
  function selectText(el) {
    var range = document.createRange(); range.selectNodeContents(el);
    var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
  }

  // Confirmations: <form data-confirm="Question?">.
  document.addEventListener("submit", function (e) {
    var q = e.target.dataset && e.target.dataset.confirm;
    if (q && !window.confirm(q)) e.preventDefault();
  });

  // Elements only useful with scripts carry the class js-only and start hidden;
  // no-script fallbacks carry no-js.
  document.documentElement.classList.add("js");
  startCountdowns(document);
  bindCopy(document);
  document.querySelectorAll("[data-stream]").forEach(function (el) {
    if (window.EventSource) watch(el);
  });
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    if (!(window.EventSource && el.dataset.stream)) startPolling(el);
  });
  document.querySelectorAll("[data-deposit-poll]").forEach(function (el) { pollDeposit(el); });
})();
