/* Draw the opinion map with ECharts from the JSON in #opinion-data; the table below the map
   holds the same facts for readers without scripts or sight of the chart. */
(function () {
  var holder = document.getElementById("opinion-map");
  var source = document.getElementById("opinion-data");
  if (!holder || !source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = ["#0b5cad", "#b45309", "#166534", "#7c3aed", "#b00020"];
  var series = data.groups.map(function (g) {
    return {
      name: g.label,
      type: "scatter",
      symbolSize: 9,
      itemStyle: { color: colours[g.id % colours.length] },
      data: data.points.filter(function (p) { return p.group === g.id; }).map(function (p) { return [p.x, p.y]; })
    };
  });
  holder.hidden = false;
  var chart = echarts.init(holder, null, { renderer: "svg" });
  chart.setOption({
    aria: { enabled: true, description: holder.getAttribute("aria-label") },
    animation: false,
    legend: { top: 0 },
    tooltip: { trigger: "item", formatter: function (p) { return p.seriesName; } },
    xAxis: { type: "value", axisLabel: { show: false }, splitLine: { show: false } },
    yAxis: { type: "value", axisLabel: { show: false }, splitLine: { show: false } },
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
