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

  function start() {
    var figures = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < figures.length; i++) draw(figures[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
