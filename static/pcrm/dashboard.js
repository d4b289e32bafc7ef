// Draws the dashboard's charts with chart.js from the figures the page embeds (json_script). The tables
// on the page hold the same figures, so without this script nothing is lost but the pictures.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  // NHS.UK colours: red for overdue, warm yellow for due soon, green for on time, blue for opened.
  var RED = "#d5281b";
  var ORANGE = "#ed8b00";
  var GREEN = "#007f3b";
  var BLUE = "#005eb8";
  Chart.defaults.font.family = "Frutiger W01, Arial, sans-serif";
  Chart.defaults.color = "#212b32";
  Chart.defaults.animation = false;

  var backlog = document.getElementById("chart-backlog");
  if (backlog && data.backlog.labels.length) {
    new Chart(backlog, {
      type: "bar",
      data: {
        labels: data.backlog.labels,
        datasets: [
          { label: "Overdue", data: data.backlog.overdue, backgroundColor: RED },
          { label: "Due soon", data: data.backlog.due_soon, backgroundColor: ORANGE },
          { label: "On time", data: data.backlog.on_time, backgroundColor: GREEN },
        ],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
      },
    });
  }

  var days = document.getElementById("chart-days");
  if (days) {
    new Chart(days, {
      type: "bar",
      data: {
        labels: data.days.labels,
        datasets: [
          { label: "Opened", data: data.days.opened, backgroundColor: BLUE },
          { label: "Closed", data: data.days.closed, backgroundColor: GREEN },
        ],
      },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
})();
