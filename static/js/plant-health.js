/* The map's plant-health panel: a formula (VARI, NDVI, ...) over the orthophoto's bands, its band order, colour
   map and value range, picked with the help of the raster metadata's histogram (GET .../orthophoto/metadata).
   Exposed as window.AeriePlantHealth.create({metadataUrl, onChange}); the result's query() gives the tile
   parameters ("" when no formula is chosen). */
(function () {
  "use strict";

  var LEGEND_STOPS = 9;

  function $(id) { return document.getElementById(id); }

  /** A CSS colour of a colour-map entry packed as WebODM packs it: 0xRRGGBBAA. */
  function cssColour(packed) {
    return "rgb(" + ((packed >>> 24) & 255) + "," + ((packed >>> 16) & 255) + "," + ((packed >>> 8) & 255) + ")";
  }

  /** Round a value for the range inputs: three significant decimals are plenty for an index. */
  function tidy(value) { return Number(Number(value).toPrecision(3)); }

  /** Replace a select's options with [value, label] pairs, keeping `selected` when offered. */
  function fillSelect(select, pairs, selected) {
    select.textContent = "";
    pairs.forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      select.appendChild(option);
    });
    if (pairs.some(function (pair) { return pair[0] === selected; })) select.value = selected;
  }

  function create(options) {
    var metadata = null;
    var state = {formula: "", bands: "auto", colorMap: "rdylgn", low: -1, high: 1};

    /** The error messages of a 400 answer, in one line. */
    function errorText(body) {
      if (!body) return "The plant-health values could not be computed.";
      if (body.detail) return body.detail;
      return Object.keys(body).map(function (key) { return [].concat(body[key]).join(" "); }).join(" ");
    }

    function showError(text) {
      $("plant-health-error").textContent = text || "";
    }

    /** Ask the metadata of the chosen formula and band order, then offer its band orders, colour maps, range. */
    function load(resetRange) {
      var url = options.metadataUrl();
      if (!url) return;
      var query = "?formula=" + encodeURIComponent(state.formula) + "&bands=" + encodeURIComponent(state.bands);
      fetch(url + query, {credentials: "same-origin"}).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (answer) {
        if (!answer.ok) {
          showError(errorText(answer.body));
          return;
        }
        showError("");
        metadata = answer.body;
        offer(resetRange);
        $("index-controls").hidden = false;
        options.onChange();
      }).catch(function () { showError("The plant-health values could not be computed."); });
    }

    /** Fill the panel from the metadata. */
    function offer(resetRange) {
      var algorithm = metadata.algorithms.filter(function (item) { return item.id === state.formula; })[0];
      if (metadata.auto_bands && metadata.auto_bands.filter) state.bands = metadata.auto_bands.filter;
      fillSelect($("bands"), (algorithm ? algorithm.filters : [state.bands]).map(function (f) { return [f, f]; }),
        state.bands);
      $("formula-help").textContent = algorithm ? algorithm.help : "";
      fillSelect($("index-color-map"), metadata.color_maps.map(function (entry) { return [entry.key, entry.label]; }),
        state.colorMap);
      state.colorMap = $("index-color-map").value;
      if (resetRange) stretch();
      draw();
    }

    /** The range that leaves out the lowest and highest 2 % of the values. */
    function stretch() {
      var band = metadata.statistics["1"];
      state.low = tidy(band.percentiles[0]);
      state.high = tidy(band.percentiles[1]);
      if (!(state.low < state.high)) { state.low = tidy(band.min); state.high = tidy(band.max); }
      $("range-min").value = state.low;
      $("range-max").value = state.high;
    }

    /** Draw the histogram with the chosen range shaded, and the legend of the colour map. */
    function draw() {
      var band = metadata.statistics["1"];
      var counts = band.histogram[0], edges = band.histogram[1];
      var canvas = $("histogram"), context = canvas.getContext("2d");
      var width = canvas.width, height = canvas.height;
      var first = edges[0], last = edges[edges.length - 1], span = (last - first) || 1;
      var x = function (value) { return (value - first) / span * width; };
      context.clearRect(0, 0, width, height);
      context.fillStyle = "rgba(25, 135, 84, 0.15)";
      context.fillRect(x(state.low), 0, x(state.high) - x(state.low), height);
      var highest = Math.max.apply(null, counts) || 1;
      context.fillStyle = "#495057";
      counts.forEach(function (count, i) {
        // A square-root scale: one dominant value would otherwise flatten every other bar.
        var bar = Math.sqrt(count / highest) * height;
        context.fillRect(x(edges[i]), height - bar, Math.max(1, x(edges[i + 1]) - x(edges[i])), bar);
      });
      var entry = metadata.color_maps.filter(function (item) { return item.key === state.colorMap; })[0];
      if (entry) {
        var stops = [];
        for (var i = 0; i < LEGEND_STOPS; i++) {
          stops.push(cssColour(entry.color_map[Math.round(i * 255 / (LEGEND_STOPS - 1))]));
        }
        $("index-legend-bar").style.background = "linear-gradient(to right, " + stops.join(", ") + ")";
      }
      $("index-legend-min").textContent = state.low;
      $("index-legend-max").textContent = state.high;
    }

    /** Take the range typed in, when it is a range. */
    function readRange() {
      var low = Number($("range-min").value), high = Number($("range-max").value);
      if (!(isFinite(low) && isFinite(high) && low < high)) {
        showError("The range needs a minimum below its maximum.");
        return;
      }
      showError("");
      state.low = low;
      state.high = high;
      draw();
      options.onChange();
    }

    $("formula").addEventListener("change", function () {
      state.formula = this.value;
      state.bands = "auto";
      showError("");
      if (!state.formula) {
        $("index-controls").hidden = true;
        options.onChange();
        return;
      }
      load(true);
    });
    $("bands").addEventListener("change", function () { state.bands = this.value; load(true); });
    $("index-color-map").addEventListener("change", function () {
      state.colorMap = this.value;
      draw();
      options.onChange();
    });
    $("range-min").addEventListener("change", readRange);
    $("range-max").addEventListener("change", readRange);
    $("range-auto").addEventListener("click", function () { stretch(); draw(); options.onChange(); });

    return {
      /** The tile parameters of the chosen index, or "" for the true-colour orthophoto. */
      query: function () {
        if (!state.formula || !metadata) return "";
        return "formula=" + encodeURIComponent(state.formula) + "&bands=" + encodeURIComponent(state.bands) +
          "&color_map=" + encodeURIComponent(state.colorMap) + "&rescale=" + state.low + "," + state.high;
      },
      /** The chosen index as export fields ({} for the true-colour orthophoto). */
      params: function () {
        if (!state.formula || !metadata) return {};
        return {formula: state.formula, bands: state.bands, color_map: state.colorMap,
          rescale: state.low + "," + state.high};
      },
      /** Show the panel (orthophoto layer) or hide it (DEMs). */
      show: function (visible) { $("plant-health").hidden = !visible; }
    };
  }

  window.AeriePlantHealth = {create: create};
})();
