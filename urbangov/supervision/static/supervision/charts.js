/* Supervision charts with Apache ECharts (served from our static files).
   Each chart is a <div data-chart="ID"> whose spec is a json_script element with that ID:
   {kind: line|bar|map|scatter, labels, values, urls, series, …}. A click on a point, bar or
   street opens the list of cases behind it (spec.urls). The chart is aria-hidden: the
   figure's caption and the table under it say the same for screen readers and without JS. */
(function () {
  "use strict";

  function go(urls, index) {
    if (urls && urls[index]) { window.location.href = urls[index]; }
  }

  function base(fontSize) {
    return {
      textStyle: { fontSize: fontSize },
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "item", confine: true },
      animation: false,
      aria: { enabled: false }
    };
  }

  function lineOrBar(spec, fontSize) {
    var option = base(fontSize);
    var category = { type: "category", data: spec.labels, axisLabel: { fontSize: fontSize * 0.85 } };
    var value = { type: "value", max: spec.max || null, axisLabel: { fontSize: fontSize * 0.85 } };
    option.xAxis = spec.horizontal ? value : category;
    option.yAxis = spec.horizontal ? Object.assign(category, { inverse: true }) : value;
    option.tooltip.trigger = "axis";
    option.series = [{
      name: spec.series,
      type: spec.kind,
      data: spec.values,
      itemStyle: { color: "#0b5cad" },
      cursor: "pointer"
    }];
    return option;
  }

  function draw(el, spec) {
    var fontSize = parseFloat(window.getComputedStyle(document.body).fontSize) || 16;
    el.classList.add("ready");
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    if (spec.kind === "line" || spec.kind === "bar") {
      chart.setOption(lineOrBar(spec, fontSize));
      chart.on("click", function (p) { go(spec.urls, p.dataIndex); });
    } else {
      fetch(spec.geojson, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (geo) {
          window.echarts.registerMap("streets", geo);
          var option = base(fontSize);
          if (spec.kind === "map") {
            var values = spec.values.filter(function (v) { return v !== null; });
            option.visualMap = {
              min: 0, max: Math.max.apply(null, values.concat([1])),
              inRange: { color: ["#e8f0f8", "#0b5cad", "#083f78"] },
              calculable: false, left: "left", bottom: 0, textStyle: { fontSize: fontSize * 0.8 }
            };
            option.series = [{
              name: spec.series, type: "map", map: "streets", roam: false,
              label: { show: false },
              data: spec.names.map(function (n, i) {
                return { name: n, value: spec.values[i], label: spec.labels[i] };
              }),
              tooltip: { formatter: function (p) { return (p.data ? p.data.label : p.name) + ": " + (p.value == null || isNaN(p.value) ? "—" : p.value); } }
            }];
            chart.setOption(option);
            chart.on("click", function (p) { go(spec.urls, spec.names.indexOf(p.name)); });
          } else {
            option.geo = { map: "streets", roam: true, itemStyle: { areaColor: "#eef3f8", borderColor: "#8aa4bd" } };
            var heats = spec.points.map(function (p) { return p[2]; });
            var top = Math.max.apply(null, heats.concat([1]));
            option.series = [{
              name: spec.series, type: "scatter", coordinateSystem: "geo",
              data: spec.points.map(function (p, i) { return { value: p, name: spec.labels[i] }; }),
              symbolSize: function (v) { return 8 + 24 * v[2] / top; },
              itemStyle: { color: "#b00020", opacity: 0.75 },
              tooltip: { formatter: function (p) { return p.name + " (" + p.value[3] + ")"; } }
            }];
            chart.setOption(option);
            chart.on("click", function (p) { go(spec.urls, p.dataIndex); });
          }
        })
        .catch(function () { el.textContent = ""; });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) { return; }
      try { draw(el, JSON.parse(source.textContent)); } catch (e) { el.textContent = ""; }
    });
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
