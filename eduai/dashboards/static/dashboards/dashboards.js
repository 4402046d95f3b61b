/* Draws every dashboard figure from the JSON the server embedded (json_script), with the
   plotly.js served by EduAI itself. A click on a point follows its drill-down: the figure's
   layout.meta.drill URL template with the point's customdata as {id}, or a customdata that is
   itself a local URL. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";

  /* plotly.js speaks English unless given a locale, and the plotly.js that ships with plotly.py
     carries only "en" and "en-US" (no locale files). Chinese pages get this one: month and day
     names, and the formats plotly picks for date-axis ticks (year, month, day+month, ...),
     written the way Chinese dates are (2026年3月, 3月2日), plus the modebar's tooltips. */
  var ZH_MONTHS = ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"];
  var LOCALES = {
    "zh-CN": {
      dictionary: {
        "Autoscale": "自动缩放",
        "Box Select": "矩形选择",
        "Double-click on legend to isolate one trace": "双击图例可只显示这一条",
        "Double-click to zoom back out": "双击恢复原始大小",
        "Download plot as a png": "下载为 PNG 图片",
        "Download plot": "下载图表",
        "Lasso Select": "套索选择",
        "Pan": "平移",
        "Reset axes": "重置坐标轴",
        "Reset view": "重置视图",
        "Show closest data on hover": "悬停时显示最近的数据",
        "Compare data on hover": "悬停时比较数据",
        "Toggle Spike Lines": "显示或隐藏辅助线",
        "Zoom": "缩放",
        "Zoom in": "放大",
        "Zoom out": "缩小",
        "Taking snapshot - this may take a few seconds": "正在生成图片，请稍候",
        "Snapshot succeeded": "图片已生成",
        "Sorry, there was a problem downloading your snapshot!": "抱歉，下载图片时出错！",
        "trace": "数据系列",
      },
      format: {
        days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        months: ZH_MONTHS,
        shortMonths: ZH_MONTHS,
        periods: ["上午", "下午"],
        date: "%Y-%m-%d",
        year: "%Y年",
        month: "%Y年%-m月",
        dayMonth: "%-m月%-d日",
        dayMonthYear: "%Y年%-m月%-d日",
      },
    },
  };
  // The page's language code (Django's) -> the plotly locale that speaks it.
  var PLOTLY_LOCALE = { "zh-hans": "zh-CN", "zh-cn": "zh-CN", zh: "zh-CN" };
  var plotlyLocale = PLOTLY_LOCALE[lang.toLowerCase()] || lang;

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
      locale: plotlyLocale,
      locales: LOCALES,
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
