// The command view: draws each panel's chart from the panel's own JSON (ECharts, colour-blind-safe
// Okabe-Ito colours) and polls the data endpoint with the panels' versions; only panels whose version
// moved come back, and only they are replaced. No reload.
(function () {
  "use strict";
  var root = document.getElementById("command");
  if (!root) return;
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var POLL_MS = 5000;
  var wall = root.classList.contains("wall");
  var charts = [];

  function draw(panel) {
    var el = panel.querySelector(".chart");
    var script = panel.querySelector('script[type="application/json"]');
    if (!el || !script || !window.echarts) return;
    var d = JSON.parse(script.textContent);
    var fg = wall ? "#eee" : "#222";
    var option;
    if (el.dataset.kind === "progress") {
      option = {
        color: PALETTE,
        textStyle: { color: fg },
        tooltip: { trigger: "axis" },
        legend: { textStyle: { color: fg } },
        // Room for the axis's own labels: a district's "36,000" was cut off on a phone.
        grid: { left: 8, right: 24, containLabel: true },
        xAxis: { type: "category", data: d.points.map(function (p) { return p.hour; }) },
        yAxis: { type: "value" },
        series: [
          { name: el.dataset.sampled, type: "line",
            data: d.points.map(function (p) { return p.sampled; }), symbol: "circle", lineStyle: { width: 3 } },
          // The accepted plan's expected count when there is one, else the even pace (the label says which).
          { name: el.dataset.pace, type: "line",
            data: d.points.map(function (p) { return d.plan ? p.plan : p.pace; }),
            lineStyle: { type: "dashed" }, symbol: "none" }
        ]
      };
    } else if (el.dataset.kind === "areas") {
      var rows = d.children.slice(0, 30);
      option = {
        color: PALETTE,
        textStyle: { color: fg },
        tooltip: {},
        grid: { left: 110 },
        xAxis: { type: "value", max: 100 },
        yAxis: { type: "category", inverse: true, data: rows.map(function (c) { return c.name; }) },
        series: [{ type: "bar", data: rows.map(function (c) { return c.percent; }),
          label: { show: true, position: "right", formatter: "{c}%" } }]
      };
      el.style.height = Math.max(160, rows.length * 26 + 60) + "px";
    }
    if (!option) return;
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option, true);
    charts.push(chart);
  }

  function drawAll() {
    root.querySelectorAll(".panel").forEach(draw);
  }

  function poll() {
    var url = root.dataset.url + "?v=" + encodeURIComponent(root.dataset.versions);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 204) return null;
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (body) {
        var stamp = document.getElementById("cmd-updated");
        if (stamp) stamp.textContent = stamp.textContent.replace(/\d\d:\d\d:\d\d$/, new Date().toTimeString().slice(0, 8));
        if (!body) return;
        Object.keys(body.html).forEach(function (name) {
          var panel = root.querySelector('[data-panel="' + name + '"]');
          if (!panel) return;
          var old = panel.querySelector(".chart");
          if (old && window.echarts && window.echarts.getInstanceByDom(old)) window.echarts.dispose(old);
          panel.innerHTML = body.html[name];
          draw(panel);
        });
        root.dataset.versions = Object.keys(body.versions).map(function (k) { return k + ":" + body.versions[k]; }).join(",");
      })
      .catch(function () { /* offline or logged out: try again next time */ })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { if (!c.isDisposed()) c.resize(); }); });
  if (document.readyState === "complete") drawAll(); else window.addEventListener("load", drawAll);
  setTimeout(poll, POLL_MS);
})();
