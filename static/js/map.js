/* The map page: the tasks' tile layers on Leaflet, a layer switch, opacity, an elevation legend, camera positions
   and the measure tool. Reads its settings from #map-config (written by views/maps.py). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("map-config").textContent);
  var measure = window.AerieMeasure;
  var map = L.map("map", {zoomSnap: 0.5, attributionControl: false});
  window.aerieMap = map; // for the browser tests and for curious users in the console
  var swipe = window.AerieSwipe.create(map);

  var state = {layer: null, opacity: 1, colorMap: Object.keys(config.colorMaps)[0], hillshade: false};
  var tileLayers = [];
  var tilejsons = {}; // task id -> {layer: TileJSON}
  var extent = null;
  var cameras = L.layerGroup();

  function $(id) { return document.getElementById(id); }

  /** The ids of the tasks whose checkbox is on (every task on a one-task map). */
  function shownTasks() {
    var toggles = document.querySelectorAll(".task-toggle");
    if (!toggles.length) return config.tasks;
    var on = {};
    toggles.forEach(function (box) { if (box.checked) on[box.value] = true; });
    return config.tasks.filter(function (task) { return on[String(task.id)]; });
  }

  /** The tile URL of a task's layer from its TileJSON, with @2x tiles on sharp screens and the style parameters. */
  function tileUrl(tilejson, layer) {
    // The path only: tiles come from this same server, whatever scheme and host a proxy in front of it shows.
    var url = tilejson.tiles[0].replace(/^[a-z]+:\/\/[^/]+/i, "");
    if (window.devicePixelRatio > 1) url = url.replace("{y}.png", "{y}@2x.png");
    var query = layer === "orthophoto" ? plantHealth.query() :
      "color_map=" + encodeURIComponent(state.colorMap) + (state.hillshade ? "&hillshade=true" : "");
    // The orthophoto itself as WebP: a photo's tile in about a tenth of the PNG's bytes, encoded about as fast.
    // Colour-mapped tiles (DEMs, plant health) stay lossless PNG, so that they read exactly against the legend.
    if (layer === "orthophoto" && !query) url = url.replace(/\.png(\?|$)/, ".webp$1");
    if (query) url += (url.indexOf("?") < 0 ? "?" : "&") + query;
    return url;
  }

  /** The metadata URL of the first shown task's orthophoto (the plant-health panel reads its histogram). */
  function orthophotoMetadataUrl() {
    var task = shownTasks().filter(function (each) { return each.layers.orthophoto; })[0];
    return task ? task.layers.orthophoto.replace(/tiles\.json$/, "metadata") : null;
  }

  var plantHealth = window.AeriePlantHealth.create({metadataUrl: orthophotoMetadataUrl,
    onChange: function () { showLayers(); }});

  /** Export fields of the map's current style: the index of the orthophoto, the colour map of a DEM. */
  window.AerieExportParams = function (asset, format) {
    if (format === "gtiff" || format === "kmz") return asset === "orthophoto" && format === "gtiff" ?
      keep(plantHealth.params(), ["formula", "bands"]) : {};
    if (asset === "orthophoto") return plantHealth.params();
    if (asset === "dsm" || asset === "dtm") return {color_map: state.colorMap, hillshade: String(state.hillshade)};
    return {};
  };

  /** Some fields of an object. */
  function keep(object, names) {
    var kept = {};
    names.forEach(function (name) { if (name in object) kept[name] = object[name]; });
    return kept;
  }

  /** Put the chosen layer of every shown task on the map, replacing what was there. */
  function showLayers() {
    tileLayers.forEach(function (layer) { map.removeLayer(layer); });
    tileLayers = [];
    shownTasks().forEach(function (task) {
      var tilejson = (tilejsons[task.id] || {})[state.layer];
      if (!tilejson) return;
      var b = tilejson.bounds;
      var layer = L.tileLayer(tileUrl(tilejson, state.layer), {
        bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]), minZoom: tilejson.minzoom,
        maxNativeZoom: tilejson.maxzoom, maxZoom: 26, opacity: state.opacity, className: "layer-" + state.layer,
        zIndex: 10, pane: swipe.leftPane  // above the base map; the left side of a swipe comparison
      });
      layer.addTo(map);
      tileLayers.push(layer);
    });
    updateLegend();
    if (swipe.active()) showCompared();
  }

  // --- the swipe comparison: another task's layer (or another layer of this task) right of a divider ------

  var comparedTilejsons = {}; // "task id:layer" -> TileJSON
  var LAYER_ORDER = ["orthophoto", "dsm", "dtm"]; // the page's config comes with its keys sorted

  /** Offer every layer of every task the map may compare with (the map's own tasks' too). */
  function offerComparisons() {
    var select = $("compare-with");
    if (!select) return;
    config.compare.forEach(function (task) {
      LAYER_ORDER.filter(function (layer) { return task.layers[layer]; }).forEach(function (layer) {
        var option = document.createElement("option");
        option.value = task.id + ":" + layer;
        option.textContent = task.name + " · " + (config.layerLabels[layer] || layer);
        select.appendChild(option);
      });
    });
    $("compare").hidden = select.options.length < 3; // "None" and at least two layers to compare
  }

  /** Show the chosen layer right of the divider (its TileJSON fetched once), or end the comparison. */
  function showCompared() {
    var value = $("compare-with").value;
    if (!value) { swipe.hide(); return; }
    var parts = value.split(":"), layer = parts[1];
    var task = config.compare.filter(function (each) { return String(each.id) === parts[0]; })[0];
    var known = comparedTilejsons[value];
    var loaded = known ? Promise.resolve(known) : fetch(task.layers[layer], {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) throw new Error("That layer could not be loaded.");
        return response.json();
      });
    loaded.then(function (tilejson) {
      comparedTilejsons[value] = tilejson;
      if ($("compare-with").value !== value) return; // another choice came meanwhile
      var b = tilejson.bounds;
      swipe.show(L.tileLayer(tileUrl(tilejson, layer), {bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]),
        minZoom: tilejson.minzoom, maxNativeZoom: tilejson.maxzoom, maxZoom: 26, pane: swipe.rightPane,
        className: "compare-layer layer-" + layer}));
      $("compare-error").textContent = "";
    }).catch(function (error) { $("compare-error").textContent = error.message; });
  }

  /** The elevation legend: the colour map's gradient and each shown task's range (from TileJSON statistics). */
  function updateLegend() {
    var isDem = state.layer === "dsm" || state.layer === "dtm";
    $("dem-controls").hidden = !isDem;
    plantHealth.show(state.layer === "orthophoto");
    if (!isDem) return;
    $("legend-bar").style.background = "linear-gradient(to right, " + config.colorMaps[state.colorMap].join(", ") + ")";
    var list = $("legend-ranges");
    list.textContent = "";
    shownTasks().forEach(function (task) {
      var tilejson = (tilejsons[task.id] || {})[state.layer];
      if (!tilejson || !tilejson.statistics) return;
      var item = document.createElement("li");
      item.className = "legend-range d-flex justify-content-between";
      var low = document.createElement("span"), high = document.createElement("span");
      low.className = "legend-min";
      high.className = "legend-max";
      low.textContent = tilejson.statistics.min.toFixed(1) + " m";
      high.textContent = tilejson.statistics.max.toFixed(1) + " m";
      item.appendChild(low);
      if (config.tasks.length > 1) {
        var name = document.createElement("span");
        name.className = "text-body-secondary text-truncate px-1";
        name.textContent = task.name;
        item.appendChild(name);
      }
      item.appendChild(high);
      list.appendChild(item);
    });
  }

  /** Fit the map to every task's extent. */
  function zoomToExtent() {
    if (extent && extent.isValid()) map.fitBounds(extent);
  }

  /** Fetch the TileJSON documents of every task's layers; a missing one just leaves that layer out. */
  function loadTilejsons() {
    var requests = [];
    config.tasks.forEach(function (task) {
      tilejsons[task.id] = {};
      Object.keys(task.layers).forEach(function (layer) {
        requests.push(fetch(task.layers[layer], {credentials: "same-origin"}).then(function (response) {
          return response.ok ? response.json() : null;
        }).then(function (tilejson) {
          if (!tilejson) return;
          tilejsons[task.id][layer] = tilejson;
          var b = tilejson.bounds;
          var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
          extent = extent ? extent.extend(bounds) : bounds;
        }).catch(function () { /* the layer stays out of the map */ }));
      });
    });
    return Promise.all(requests);
  }

  /** A camera's popup: the photo's thumbnail (made by the server on first demand), its name, the original. */
  function photoPopup(task, name) {
    var box = document.createElement("div"), image = document.createElement("img");
    var caption = document.createElement("div"), link = document.createElement("a");
    box.className = "photo-popup";
    image.src = task.photos + "thumbnail/" + encodeURIComponent(name) + "?size=320";
    image.alt = name;
    image.className = "photo-thumbnail d-block mb-1";
    image.style.maxWidth = "220px";
    caption.textContent = name;
    caption.className = "fw-semibold";
    link.href = task.photos + "download/" + encodeURIComponent(name);
    link.textContent = "Download the original";
    link.setAttribute("download", name);
    [image, caption, link].forEach(function (child) { box.appendChild(child); });
    return box;
  }

  /** Camera positions from each task's shots.geojson, as small circles with the photo's name. */
  function loadCameras() {
    config.tasks.forEach(function (task) {
      if (!task.shots) return;
      fetch(task.shots, {credentials: "same-origin"}).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (geojson) {
        if (!geojson) return;
        L.geoJSON(geojson, {
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, {radius: 4, color: "#fff", weight: 1, fillColor: "#d63384",
              fillOpacity: 0.9, className: "camera-marker"});
          },
          onEachFeature: function (feature, layer) {
            var name = feature.properties && feature.properties.filename;
            if (!name) return;
            layer.bindTooltip(String(name));
            layer.bindPopup(function () { return photoPopup(task, String(name)); }, {minWidth: 240});
          }
        }).addTo(cameras);
      }).catch(function () { /* no camera positions for this task */ });
    });
    cameras.addTo(map);
  }

  // --- the measure tool ---------------------------------------------------------------------------------

  var measuring = {mode: null, points: [], shape: null, done: false};

  /** Start measuring a distance or an area (pressing the same button again stops). */
  function startMeasure(mode) {
    var stop = measuring.mode === mode;
    clearMeasure();
    if (stop) return;
    measuring.mode = mode;
    $("measure-" + mode).setAttribute("aria-pressed", "true");
    $("measure-" + mode).classList.add("active");
    map.doubleClickZoom.disable();
    map.getContainer().classList.add("measuring");
  }

  /** Remove the measurement and leave measure mode. */
  function clearMeasure() {
    if (measuring.shape) map.removeLayer(measuring.shape);
    ["distance", "area"].forEach(function (mode) {
      $("measure-" + mode).setAttribute("aria-pressed", "false");
      $("measure-" + mode).classList.remove("active");
    });
    measuring = {mode: null, points: [], shape: null, done: false};
    $("measure-result").textContent = "";
    $("volume").hidden = true;
    $("measure-profile").hidden = true;
    difference.areaChanged([]);
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove("measuring");
  }

  /** Redraw the measured shape and write its length, or its area and perimeter. */
  function drawMeasure() {
    var points = measuring.points;
    if (measuring.shape) map.removeLayer(measuring.shape);
    var style = {color: "#ffc107", weight: 3, className: "measure-shape"};
    measuring.shape = (measuring.mode === "area" ? L.polygon(points, style) : L.polyline(points, style)).addTo(map);
    var text;
    if (measuring.mode === "area") {
      text = points.length < 3 ? "Area: add " + (3 - points.length) + " more point(s)" :
        "Area: " + measure.formatArea(measure.area(points)) + " · perimeter " +
        measure.formatDistance(measure.distance(points.concat([points[0]])));
    } else {
      text = "Distance: " + measure.formatDistance(measure.distance(points));
    }
    $("measure-result").textContent = text;
    showVolumeTool();
    difference.areaChanged(measuring.mode === "area" ? points : []);
    $("measure-profile").hidden = !(profileTask() && measuring.mode === "distance" && points.length >= 2);
  }

  // --- contours (a job on the server, as WebODM's contours plugin) ---------------------------------------

  var contourLines = null;

  /** Start a contours job with the panel's settings and the given format and EPSG; resolves to {jobId, filename}. */
  function startContours(format, epsg) {
    var task = config.tasks[0];
    var body = {layer: $("contour-layer").value, interval: $("contour-interval").value,
      simplify: $("contour-simplify").value, format: format, epsg: epsg};
    return requestJson(task.contours + "generate", {method: "POST", body: JSON.stringify(body)}).then(function (a) {
      if (!a.ok) throw new Error(errorWords(a.body));
      return {jobId: a.body.celery_task_id, filename: a.body.filename};
    });
  }

  /** Wait for a job through /api/workers/check. */
  function jobDone(jobId) {
    return requestJson("/api/workers/check/" + encodeURIComponent(jobId)).then(function (check) {
      if (!check.ok) throw new Error(errorWords(check.body));
      if (check.body.error) throw new Error(check.body.error);
      if (check.body.ready) return jobId;
      return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () { return jobDone(jobId); });
    });
  }

  /** Draw the contour lines (GeoJSON in WGS84) over the layers, each with its level in a tooltip. */
  function showContours() {
    $("contour-status").textContent = "Computing the contours…";
    startContours("GeoJSON", 4326).then(function (started) {
      return jobDone(started.jobId);
    }).then(function (jobId) {
      return fetch("/api/workers/get/" + encodeURIComponent(jobId), {credentials: "same-origin"});
    }).then(function (response) { return response.json(); }).then(function (geojson) {
      if (contourLines) map.removeLayer(contourLines);
      contourLines = L.geoJSON(geojson, {style: {color: "#212529", weight: 1, opacity: 0.8, className: "contour-line"},
        onEachFeature: function (feature, layer) { layer.bindTooltip(feature.properties.level + " m"); }}).addTo(map);
      $("contour-status").textContent = geojson.features.length + " lines";
    }).catch(function (error) { $("contour-status").textContent = error.message; });
  }

  /** Make the contours file in the chosen format and download it. */
  function downloadContours() {
    $("contour-status").textContent = "Computing the contours…";
    var name;
    startContours($("contour-format").value, $("contour-epsg").value).then(function (started) {
      name = started.filename;
      return jobDone(started.jobId);
    }).then(function (jobId) {
      var link = document.createElement("a");
      link.href = config.tasks[0].contours + "download/" + encodeURIComponent(jobId);
      link.setAttribute("download", name);
      link.className = "contour-download";
      link.textContent = "Download " + name;
      $("contour-status").textContent = "";
      $("contour-status").appendChild(link);
      link.click();
    }).catch(function (error) { $("contour-status").textContent = error.message; });
  }

  // --- elevation profile ---------------------------------------------------------------------------------

  /** The first shown task with an elevation model. */
  function profileTask() {
    return shownTasks().filter(function (task) { return task.layers.dsm || task.layers.dtm; })[0] || null;
  }

  /** Ask the heights along the drawn line and chart them under the map. */
  function showProfile() {
    var line = measuring.points.map(function (p) { return [p.lng, p.lat]; });
    $("profile").hidden = false;
    $("profile-error").textContent = "";
    requestJson(profileTask().api + "profile", {method: "POST",
      body: JSON.stringify({line: {type: "LineString", coordinates: line}})}).then(function (answer) {
      if (!answer.ok) throw new Error(errorWords(answer.body));
      drawProfile(answer.body);
    }).catch(function (error) { $("profile-error").textContent = error.message; });
  }

  /** Draw the DSM and DTM lines (broken where there is no data), with the length and height range. */
  function drawProfile(profile) {
    var chart = $("profile-chart"), heights = [];
    chart.textContent = "";
    ["dsm", "dtm"].forEach(function (layer) {
      (profile[layer] || []).forEach(function (z) { if (z !== null) heights.push(z); });
    });
    if (!heights.length) { $("profile-error").textContent = "No elevation data along this line."; return; }
    var low = Math.min.apply(null, heights), high = Math.max.apply(null, heights);
    var span = (high - low) || 1, length = profile.length || 1;
    ["dsm", "dtm"].forEach(function (layer) {
      var run = [];
      var flush = function () {
        if (run.length > 1) {
          var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
          line.setAttribute("points", run.join(" "));
          line.setAttribute("class", "profile-" + layer);
          chart.appendChild(line);
        }
        run = [];
      };
      (profile[layer] || []).forEach(function (z, i) {
        if (z === null) { flush(); return; }
        run.push((profile.distance[i] / length * 600).toFixed(1) + "," + (145 - (z - low) / span * 140).toFixed(1));
      });
      flush();
    });
    $("profile-summary").textContent = measure.formatDistance(profile.length) + " · " + low.toFixed(1) + " m to " +
      high.toFixed(1) + " m";
  }

  // --- volumes (computed on the server from the DSM, through WebODM's job answers) ----------------------

  /** The first shown task that can measure volumes. */
  function volumeTask() {
    return shownTasks().filter(function (task) { return task.volume; })[0] || null;
  }

  /** Offer the volume tool under an area of three points or more. */
  function showVolumeTool() {
    var task = volumeTask();
    $("volume").hidden = !(task && measuring.mode === "area" && measuring.points.length >= 3);
    if (task) $("volume-base-dtm").disabled = !task.hasDtm;
    $("volume-result").textContent = "";
  }

  /** A JSON request with the session's CSRF token; resolves to {ok, body}. */
  function requestJson(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = {"X-CSRFToken": document.querySelector("meta[name=csrf-token]").content,
      "Content-Type": "application/json"};
    return fetch(url, options).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    });
  }

  /** Wait for a job through /api/workers/check, then fetch its answer from resultUrl. */
  function waitForJob(jobId, resultUrl) {
    return requestJson("/api/workers/check/" + encodeURIComponent(jobId)).then(function (check) {
      if (!check.ok) throw new Error(check.body.detail || "The job could not be checked.");
      if (check.body.error) throw new Error(check.body.error);
      if (!check.body.ready) {
        return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () {
          return waitForJob(jobId, resultUrl);
        });
      }
      return requestJson(resultUrl).then(function (answer) {
        if (answer.body.error) throw new Error(answer.body.error);
        return answer.body;
      });
    });
  }

  /** Words for a 400 answer. */
  function errorWords(body) {
    if (body.detail) return body.detail;
    return Object.keys(body).map(function (key) { return [].concat(body[key]).join(" "); }).join(" ");
  }

  /** Measure the volume inside the drawn area and write cut, fill, net and the base used. */
  function computeVolume() {
    var task = volumeTask();
    var ring = measuring.points.map(function (p) { return [p.lng, p.lat]; });
    ring.push(ring[0]);
    var body = {area: {type: "Feature", properties: {}, geometry: {type: "Polygon", coordinates: [ring]}},
      method: $("volume-base").value};
    if (body.method === "custom") body.base_height = $("volume-height").value;
    $("volume-result").textContent = "Computing…";
    requestJson(task.volume, {method: "POST", body: JSON.stringify(body)}).then(function (started) {
      if (!started.ok) throw new Error(errorWords(started.body));
      var jobId = started.body.celery_task_id;
      return waitForJob(jobId, task.volume + "/get/" + encodeURIComponent(jobId));
    }).then(function (answer) {
      var v = answer.volume, m3 = function (value) { return Math.round(value).toLocaleString("en") + " m³"; };
      $("volume-result").innerHTML = "";
      [["Cut", m3(v.cut)], ["Fill", m3(v.fill)], ["Net", m3(v.net)], ["Area", measure.formatArea(v.area)]]
        .forEach(function (row) {
          var line = document.createElement("div");
          line.className = "volume-" + row[0].toLowerCase();
          line.textContent = row[0] + ": " + row[1];
          $("volume-result").appendChild(line);
        });
    }).catch(function (error) { $("volume-result").textContent = error.message; });
  }

  map.on("click", function (event) {
    if (!measuring.mode) return;
    if (measuring.done) { measuring.points = []; measuring.done = false; }
    measuring.points.push(event.latlng);
    drawMeasure();
  });
  map.on("dblclick", function () {
    if (measuring.mode) measuring.done = true; // the next click starts a new measurement
  });

  // --- controls -----------------------------------------------------------------------------------------

  document.querySelectorAll("input[name=layer]").forEach(function (radio) {
    radio.addEventListener("change", function () { if (radio.checked) { state.layer = radio.value; showLayers(); } });
  });
  document.querySelectorAll(".task-toggle").forEach(function (box) { box.addEventListener("change", showLayers); });
  $("opacity").addEventListener("input", function () {
    state.opacity = Number(this.value) / 100;
    tileLayers.forEach(function (layer) { layer.setOpacity(state.opacity); });
  });
  $("color-map").addEventListener("change", function () { state.colorMap = this.value; showLayers(); });
  $("hillshade").addEventListener("change", function () { state.hillshade = this.checked; showLayers(); });
  $("zoom-extent").addEventListener("click", zoomToExtent);
  $("measure-distance").addEventListener("click", function () { startMeasure("distance"); });
  $("measure-area").addEventListener("click", function () { startMeasure("area"); });
  $("measure-clear").addEventListener("click", clearMeasure);
  $("volume-compute").addEventListener("click", computeVolume);
  if ($("compare-with")) {
    offerComparisons();
    $("compare-with").addEventListener("change", showCompared);
  }
  var difference = window.AerieDifference.create({map: map, config: config, pane: swipe.leftPane,
    requestJson: requestJson, errorWords: errorWords});
  $("measure-profile").addEventListener("click", showProfile);
  if ($("contour-show")) {
    $("contour-show").addEventListener("click", showContours);
    $("contour-download").addEventListener("click", downloadContours);
  }
  $("volume-base").addEventListener("change", function () { $("volume-height").hidden = this.value !== "custom"; });
  if ($("show-cameras")) {
    $("show-cameras").addEventListener("change", function () {
      if (this.checked) cameras.addTo(map); else map.removeLayer(cameras);
    });
  }

  // --- base maps (from the server's BASEMAPS; without internet their tiles just stay blank) ----------------

  var basemap = null, attribution = L.control.attribution({prefix: false});

  /** Show the chosen base layer under the task layers (or none). */
  function showBasemap(index) {
    if (basemap) map.removeLayer(basemap);
    basemap = null;
    var chosen = config.basemaps[index];
    if (!chosen) { map.removeControl(attribution); return; }
    basemap = L.tileLayer(chosen.url, {attribution: chosen.attribution || "", maxZoom: 26, maxNativeZoom: 19,
      className: "basemap", zIndex: 0}).addTo(map);
    attribution.addTo(map);
  }

  if ($("basemap")) {
    $("basemap").addEventListener("change", function () { showBasemap(this.value === "" ? -1 : Number(this.value)); });
    showBasemap(0);
  }

  map.setView([0, 0], 2);
  loadTilejsons().then(function () {
    var first = document.querySelector("input[name=layer]:not([disabled])");
    if (first) { first.checked = true; state.layer = first.value; }
    zoomToExtent();
    showLayers();
    loadCameras();
    map.getContainer().dataset.ready = "true";
  });
})();
