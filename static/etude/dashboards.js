/* Dashboards: draw the plotly figures a page or an htmx fragment carries, and open a heatmap
 * cell's drill-down with htmx. The page loads plotly.js once (static vendor/plotly.min.js);
 * fragments carry only their figure's JSON in a <script type="application/json">.
 *
 * The heatmap's JSON holds the plotly figure (scores as one byte per cell, plotly's base64
 * typed-array form) and its hover details as parallel typed arrays deflated into one stream,
 * inflated here (DecompressionStream) and turned into hover text.
 */
(function () {
  "use strict";

  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  var TYPES = { u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array, u4: Uint32Array };
  var drawn = new WeakSet();

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function base64Bytes(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function decode(spec) {
    return new TYPES[spec.dtype](base64Bytes(spec.bdata).buffer);
  }

  /* Inflate deflated arrays laid end to end, each `count` values long: a promise of
   * {name: typed array}. */
  function inflate(spec, count) {
    var stream = new Blob([base64Bytes(spec.bdata)]).stream()
      .pipeThrough(new DecompressionStream(spec.encoding));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      var arrays = {};
      var offset = 0;
      spec.fields.forEach(function (field) {
        var type = TYPES[field.dtype];
        var end = offset + count * type.BYTES_PER_ELEMENT;
        arrays[field.name] = new type(buffer.slice(offset, end));
        offset = end;
      });
      if (offset !== buffer.byteLength) throw new Error("heatmap details: unexpected length");
      return arrays;
    });
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function practiced(days, never) {
    if (days === never) return "never";
    if (days === 0) return "today";
    return (days === never - 1 ? "over " : "") + plural(days, "day") + " ago";
  }

  function review(days, none) {
    if (days === none) return "not scheduled";
    if (days === 0) return "due today";
    if (days < 0) return "overdue by " + (days === none + 1 ? "over " : "") + plural(-days, "day");
    return "in " + (days === 127 ? "over " : "") + plural(days, "day");
  }

  function hoverText(cells, scores, details) {
    var uncertainty = details.uncertainty;
    var attempts = details.attempts;
    var lastPracticed = details.lastPracticed;
    var nextReview = details.nextReview;
    var rows = [];
    for (var row = 0; row < cells.rows; row++) {
      var texts = new Array(cells.columns);
      for (var column = 0; column < cells.columns; column++) {
        var cell = row * cells.columns + column;
        var name = cells.skillNames[column];
        texts[column] = scores[cell] === cells.missing
          ? name + "<br>no estimate yet"
          : name + "<br><b>" + scores[cell] + "%</b> ± " + uncertainty[cell] + " · " +
            plural(attempts[cell], "attempt") +
            "<br>last practiced: " + practiced(lastPracticed[cell], cells.never) +
            "<br>next review: " + review(nextReview[cell], cells.noReview);
      }
      rows.push(texts);
    }
    return rows;
  }

  function drawChart(element) {
    var figure = readJSON(element.dataset.chart);
    if (!figure) return Promise.resolve(element);
    element.replaceChildren();
    return Plotly.newPlot(element, figure.data, figure.layout, CONFIG);
  }

  function drawHeatmap(element) {
    var payload = readJSON(element.dataset.heatmap);
    if (!payload) return Promise.resolve(element);
    var cells = payload.cells;
    var trace = payload.figure.data[0];
    element.etudeCells = cells;
    element.etudeSkills = trace.x;
    return inflate(cells.details, cells.rows * cells.columns).then(function (details) {
      trace.text = hoverText(cells, decode(trace.z), details);
      trace.hovertemplate = "<b>%{y}</b><br>%{x}: %{text}<extra></extra>";
      element.replaceChildren();
      return Plotly.newPlot(element, payload.figure.data, payload.figure.layout, CONFIG);
    }).then(function (graph) {
      graph.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (!point) return;
        var index = Array.isArray(point.pointNumber)
          ? point.pointNumber
          : [trace.y.indexOf(point.y), trace.x.indexOf(point.x)];
        openCell(element, index[0], index[1]);
      });
      return graph;
    });
  }

  /* Load the drill-down of one heatmap cell (row: agent, column: skill) below the chart. */
  function openCell(element, row, column) {
    var cells = element.etudeCells;
    var target = document.querySelector(element.dataset.drilldownTarget);
    var url = element.dataset.drilldownUrl
      .replace("__agent__", encodeURIComponent(cells.agents[row]))
      .replace("__skill__", encodeURIComponent(element.etudeSkills[column]));
    return htmx.ajax("GET", url, { source: target, target: target, swap: "innerHTML" });
  }

  function drawIn(root) {
    var found = [];
    if (root.matches && root.matches("[data-chart], [data-heatmap]")) found.push(root);
    root.querySelectorAll("[data-chart], [data-heatmap]").forEach(function (element) { found.push(element); });
    found.forEach(function (element) {
      if (drawn.has(element)) return;
      drawn.add(element);
      if (element.dataset.heatmap) drawHeatmap(element);
      else drawChart(element);
    });
  }

  function purgeIn(root) {
    root.querySelectorAll(".js-plotly-plot").forEach(function (graph) { Plotly.purge(graph); });
  }

  htmx.onLoad(drawIn);
  // Back and forward restore a snapshot of the page: its charts are new elements to draw.
  document.addEventListener("htmx:historyRestore", function () { drawIn(document.body); });
  document.addEventListener("htmx:beforeSwap", function (event) { purgeIn(event.detail.target); });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "drilldown") {
      event.detail.target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawIn(document.body); });
  } else {
    drawIn(document.body);
  }

  window.etudeDashboards = { openCell: openCell, decode: decode, inflate: inflate };
})();
