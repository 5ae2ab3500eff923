/* The map's DSM difference panel: the later flight's surface model minus the earlier one's, as tiles through a
   diverging colour map with its legend, and the volume gained and lost inside the area drawn with the measure tool.
   Exposed as window.AerieDifference.create({map, config, pane, requestJson, errorWords}); the result's
   areaChanged(points) tells it the drawn area (an empty list: none). */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  /** Metres with a sign, as the legend and the statistics read them. */
  function signed(value) {
    var text = Math.abs(value).toFixed(2);
    return (Number(text) === 0 ? "" : value > 0 ? "+" : "−") + text + " m";
  }

  function create(options) {
    var map = options.map, config = options.config;
    var task = config.tasks.length === 1 ? config.tasks[0] : null;
    var others = !task || !task.layers.dsm ? [] : config.compare.filter(function (other) {
      return other.id !== task.id && other.layers.dsm;
    });
    var state = {layer: null, pair: null, tilejson: null, points: [], colorMap: "rdbu", reach: 1};
    var noop = {areaChanged: function () {}};
    if (!$("difference")) return noop;
    if (!others.length) { $("difference").hidden = true; return noop; }
    $("difference").hidden = false;
    others.forEach(function (other) {
      var option = document.createElement("option");
      option.value = String(other.id);
      option.textContent = other.name;
      $("difference-with").appendChild(option);
    });
    Object.keys(config.differenceColorMaps).forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      $("difference-color-map").appendChild(option);
    });
    $("difference-color-map").value = state.colorMap;

    function showError(text) { $("difference-error").textContent = text || ""; }

    /** The later and the earlier of this task and another, by the date they were created. */
    function order(other) {
      var mine = {id: task.id, name: task.name, api: task.api, created: task.created};
      return Date.parse(other.created) > Date.parse(mine.created) ? {later: other, earlier: mine} :
        {later: mine, earlier: other};
    }

    /** The API prefix of the pair's difference. */
    function base() { return state.pair.later.api + "difference/" + state.pair.earlier.id + "/"; }

    /** Replace the difference layer with one in the chosen colour map and range. */
    function draw() {
      if (state.layer) map.removeLayer(state.layer);
      var tilejson = state.tilejson, b = tilejson.bounds;
      var url = base() + "tiles/{z}/{x}/{y}" + (window.devicePixelRatio > 1 ? "@2x" : "") + ".png?color_map=" +
        encodeURIComponent(state.colorMap) + "&rescale=" + (-state.reach) + "," + state.reach;
      state.layer = L.tileLayer(url, {bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]), pane: options.pane,
        minZoom: tilejson.minzoom, maxNativeZoom: tilejson.maxzoom, maxZoom: 26, zIndex: 20,
        className: "difference-layer"}).addTo(map);
      $("difference-legend-bar").style.background = "linear-gradient(to right, " +
        config.differenceColorMaps[state.colorMap].join(", ") + ")";
      $("difference-legend-min").textContent = signed(-state.reach);
      $("difference-legend-max").textContent = signed(state.reach);
    }

    /** Load the difference with another task, or remove it (value ""). */
    function choose(value) {
      if (state.layer) map.removeLayer(state.layer);
      state.layer = null;
      showError("");
      $("difference-controls").hidden = true;
      $("difference-result").textContent = "";
      var other = others.filter(function (each) { return String(each.id) === value; })[0];
      if (!other) { areaChanged(state.points); return; }
      state.pair = order(other);
      options.requestJson(base() + "tiles.json").then(function (answer) {
        if ($("difference-with").value !== value) return; // another task was chosen meanwhile
        if (!answer.ok) throw new Error(options.errorWords(answer.body));
        state.tilejson = answer.body;
        var statistics = answer.body.statistics;
        state.reach = statistics.rescale[1];
        $("difference-range").value = state.reach;
        $("difference-order").textContent = "Later minus earlier: " + state.pair.later.name + " − " +
          state.pair.earlier.name;
        $("difference-stats").textContent = "From " + signed(statistics.min) + " to " + signed(statistics.max) +
          " (mean " + signed(statistics.mean) + ")";
        $("difference-controls").hidden = false;
        $("difference-volume-hint").hidden = !task.volume;
        draw();
        areaChanged(state.points);
      }).catch(function (error) { showError(error.message); });
    }

    /** Offer the volume change when an area is drawn and a difference is shown. */
    function areaChanged(points) {
      state.points = points || [];
      // Volumes are for logged-in users (the page gives a task's volume URL to them only).
      $("difference-volume").hidden = !(task.volume && state.layer && state.points.length >= 3);
      $("difference-result").textContent = "";
    }

    /** Ask the volume gained and lost inside the drawn area, and write it. */
    function computeVolume() {
      var ring = state.points.map(function (p) { return [p.lng, p.lat]; });
      ring.push(ring[0]);
      $("difference-result").textContent = "Computing…";
      options.requestJson(base() + "volume", {method: "POST",
        body: JSON.stringify({area: {type: "Polygon", coordinates: [ring]}})}).then(function (answer) {
        if (!answer.ok) throw new Error(options.errorWords(answer.body));
        var v = answer.body, m3 = function (value) {
          return (value > 0 ? "+" : value < 0 ? "−" : "") + Math.abs(Math.round(value)).toLocaleString("en") + " m³";
        };
        $("difference-result").textContent = "";
        [["Gained", m3(v.gained)], ["Lost", m3(-v.lost)], ["Net", m3(v.net)],
          ["Area", Math.round(v.area).toLocaleString("en") + " m²"]].forEach(function (row) {
          var line = document.createElement("div");
          line.className = "difference-" + row[0].toLowerCase();
          line.textContent = row[0] + ": " + row[1];
          $("difference-result").appendChild(line);
        });
        if (v.missing_area > 0) {
          var note = document.createElement("div");
          note.className = "text-body-secondary";
          note.textContent = "No data in both models on " + Math.round(v.missing_area) + " m² of it.";
          $("difference-result").appendChild(note);
        }
      }).catch(function (error) { $("difference-result").textContent = error.message; });
    }

    $("difference-with").addEventListener("change", function () { choose(this.value); });
    $("difference-color-map").addEventListener("change", function () { state.colorMap = this.value; draw(); });
    $("difference-range").addEventListener("change", function () {
      var reach = Math.abs(Number(this.value));
      if (!(reach > 0 && isFinite(reach))) { showError("The range needs a number of metres above 0."); return; }
      showError("");
      state.reach = reach;
      draw();
    });
    $("difference-volume").addEventListener("click", computeVolume);

    return {areaChanged: areaChanged};
  }

  window.AerieDifference = {create: create};
})();
