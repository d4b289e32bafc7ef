// Capitation report charts (Chart.js from node_modules, served as static files). The figures come from
// the page's JSON (json_script); the same figures are in the page's tables, so nothing depends on this.
(function () {
  "use strict";

  var source = document.getElementById("capitation-chart-data");
  if (!source || !window.Chart) {
    return;
  }
  var data = JSON.parse(source.textContent);
  // NHS identity colours: blue, aqua green, purple.
  var colours = ["#005eb8", "#00a499", "#330072"];
  var base = { animation: false, responsive: true, maintainAspectRatio: false };

  var practices = document.getElementById("chart-practices");
  if (practices && data.practices.values.length) {
    // A bar per practice: the box grows with them (set here, as the CSP refuses inline style attributes).
    practices.parentNode.style.height = data.practices.values.length + 2 + "rem";
    new window.Chart(practices, {
      type: "bar",
      data: {
        labels: data.practices.labels,
        datasets: [{ label: "Registered patients", data: data.practices.values, backgroundColor: colours[0] }],
      },
      options: Object.assign({}, base, {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      }),
    });
  }

  var bands = document.getElementById("chart-age-bands");
  if (bands) {
    new window.Chart(bands, {
      type: "bar",
      data: {
        labels: data.bands.labels,
        datasets: data.bands.series.map(function (series, i) {
          return { label: series.label, data: series.values, backgroundColor: colours[i % colours.length] };
        }),
      },
      options: Object.assign({}, base, {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      }),
    });
  }
})();
