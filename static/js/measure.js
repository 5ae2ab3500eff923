/* Geodesic measurements on a sphere: distance by the haversine formula, area by the spherical polygon formula.
   Points are {lat, lng} in degrees (Leaflet's LatLng will do). Exposed as window.AerieMeasure. */
(function () {
  "use strict";

  var EARTH_RADIUS = 6371008.8; // metres: the mean Earth radius (IUGG)
  var RAD = Math.PI / 180;

  /** Great-circle distance in metres between two points (haversine formula). */
  function haversine(a, b) {
    var dLat = (b.lat - a.lat) * RAD;
    var dLng = (b.lng - a.lng) * RAD;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * EARTH_RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  /** Length in metres of a path through the points. */
  function distance(points) {
    var total = 0;
    for (var i = 1; i < points.length; i++) total += haversine(points[i - 1], points[i]);
    return total;
  }

  /** Area in square metres of the polygon the points enclose, on the sphere.
      R^2 / 2 times the sum over the vertices of (lng[i+1] - lng[i-1]) * sin(lat[i]): the spherical polygon
      formula of Chamberlain and Duquette (NASA JPL, 2007), well within a survey's accuracy at its scale. */
  function area(points) {
    var n = points.length;
    if (n < 3) return 0;
    var sum = 0;
    for (var i = 0; i < n; i++) {
      var previous = points[(i + n - 1) % n];
      var next = points[(i + 1) % n];
      sum += (next.lng - previous.lng) * RAD * Math.sin(points[i].lat * RAD);
    }
    return Math.abs(sum) * EARTH_RADIUS * EARTH_RADIUS / 2;
  }

  /** A distance for people: metres below a kilometre, kilometres above. */
  function formatDistance(metres) {
    return metres < 1000 ? metres.toFixed(1) + " m" : (metres / 1000).toFixed(3) + " km";
  }

  /** An area for people: square metres, with hectares from one hectare up. */
  function formatArea(squareMetres) {
    var text = Math.round(squareMetres).toLocaleString("en") + " m²";
    return squareMetres >= 10000 ? text + " (" + (squareMetres / 10000).toFixed(2) + " ha)" : text;
  }

  window.AerieMeasure = {haversine: haversine, distance: distance, area: area,
    formatDistance: formatDistance, formatArea: formatArea, EARTH_RADIUS: EARTH_RADIUS};
})();
