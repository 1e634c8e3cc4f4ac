// Fetch SMS dashboard, issue 24's enhancements: the catalog's live filter, local
// times, and the announcement of a code. Every page works without it.
(function () {
  "use strict";

  // fold is FoldSearch of the Go side (service.go): lower case, letters and
  // digits only, so "Uber Eats", "ubereats" and "UBER-EATS" are one query.
  function fold(s) {
    return s.toLowerCase().replace(/[^\p{L}\p{Nd}]/gu, "");
  }

  // Live filter of a table: <input data-filter="#table">; rows carry their folded
  // search key in data-name; a row [data-nomatch] shows when none matches.
  function bindFilters(root) {
    root.querySelectorAll("[data-filter]").forEach(function (input) {
      var table = document.querySelector(input.dataset.filter);
      if (!table) return;
      var none = table.querySelector("[data-nomatch]");
      var echo = none && none.querySelector("[data-nomatch-query]");
      function apply() {
        var q = fold(input.value), shown = 0;
        table.querySelectorAll("tbody tr[data-name]").forEach(function (tr) {
          tr.hidden = q !== "" && tr.dataset.name.indexOf(q) < 0;
          if (!tr.hidden) shown++;
        });
        if (none) {
          none.hidden = shown > 0;
          if (echo) echo.textContent = input.value.trim();
        }
      }
      input.addEventListener("input", apply);
      if (input.value) apply();
    });
  }

  // Times: <time datetime="2026-12-04T11:36:56Z" data-local> shows UTC with
  // seconds from the server; here it becomes the viewer's local time, with the
  // UTC time kept in its title.
  function localizeTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
    } catch (e) { return; }
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      if (el.dataset.done) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.dataset.done = "1";
      el.title = el.textContent.trim();
      el.textContent = fmt.format(d);
    });
  }

  // The verification page's status box is replaced when the code arrives; a
  // polite live region outside it says so to screen readers.
  function announceCodes() {
    var region = document.getElementById("announce");
    if (!region) return;
    var said = "";
    new MutationObserver(function () {
      var code = document.getElementById("code");
      var text = code ? "Your code is " + code.textContent.trim().split("").join(" ") : "";
      if (text && text !== said) { said = text; region.textContent = text; }
      localizeTimes(document);
    }).observe(document.querySelector("main"), { childList: true, subtree: true });
  }

  // A table wider than its box scrolls sideways: keyboard users reach it too.
  function focusableScrollers(root) {
    root.querySelectorAll(".table-wrap").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.tabIndex = 0;
        if (!el.hasAttribute("aria-label")) {
          var cap = el.closest(".card");
          var h = cap && cap.querySelector("h2");
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", (h ? h.textContent.trim() + ": " : "") + "table, scrolls sideways");
        }
      }
    });
  }

  bindFilters(document);
  focusableScrollers(document);
  window.addEventListener("resize", function () { focusableScrollers(document); });
  localizeTimes(document);
  announceCodes();
})();
