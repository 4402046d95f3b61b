/* Draws every dashboard figure from the JSON the server embedded (json_script), with the
   plotly.js served by EduAI itself. A click on a point follows its drill-down: the figure's
   layout.meta.drill URL template with the point's customdata as {id}, or a customdata that is
   itself a local URL. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";

  function drillUrl(fig, point) {
    var cd = point.customdata;
    if (Array.isArray(cd)) cd = cd[0];
    if (typeof cd === "string" && cd.charAt(0) === "/") return cd;
    var meta = fig.layout && fig.layout.meta;
    if (meta && meta.drill && cd !== undefined && cd !== null && cd !== "") {
      return meta.drill.replace("{id}", encodeURIComponent(String(cd)));
    }
    return "";
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source || !window.Plotly) return;
    var fig = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, fig.data, fig.layout, {
      responsive: true,
      displaylogo: false,
      locale: lang,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
    }).then(function () {
      el.setAttribute("data-drawn", "true");
    });
    el.on("plotly_click", function (ev) {
      if (!ev || !ev.points || !ev.points.length) return;
      var url = drillUrl(fig, ev.points[0]);
      if (url) window.location.assign(url);
    });
  }

  function drawAll(root) {
    var figures = root.querySelectorAll("[data-figure]");
    for (var i = 0; i < figures.length; i++) draw(figures[i]);
  }

  /* A deferred panel: the server sends the finished card (figure JSON, summary, table) from
     its own URL; it replaces the placeholder and is drawn like the others. */
  function load(placeholder) {
    var url = placeholder.getAttribute("data-panel-src");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html.trim();
        var card = box.firstElementChild;
        placeholder.replaceWith(card);
        drawAll(card);
      })
      .catch(function () {
        var note = placeholder.querySelector(".dash-loading");
        placeholder.removeAttribute("aria-busy");
        if (note) note.textContent = placeholder.getAttribute("data-failed") || "!";
      });
  }

  function start() {
    drawAll(document);
    var deferred = document.querySelectorAll("[data-panel-src]");
    for (var i = 0; i < deferred.length; i++) load(deferred[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
