/* The map's swipe comparison, with Leaflet alone: the map's own layers in the left pane, the compared layer in the
   right pane, each pane clipped (CSS clip-path) at a vertical divider the user drags (or moves with the arrow keys).
   Exposed as window.AerieSwipe.create(map); the result's show(tileLayer) puts a layer on the right, hide() ends. */
(function () {
  "use strict";

  var LEFT = "aerie-left", RIGHT = "aerie-right";

  function create(map) {
    // Above the base map (the tile pane, 200), below drawings and markers (the overlay pane, 400).
    var left = map.createPane(LEFT), right = map.createPane(RIGHT);
    left.style.zIndex = 250;
    right.style.zIndex = 260;
    var divider = document.createElement("div");
    divider.className = "swipe-divider";
    divider.hidden = true;
    divider.tabIndex = 0;
    divider.setAttribute("role", "separator");
    divider.setAttribute("aria-orientation", "vertical");
    divider.setAttribute("aria-label", "Swipe divider: left the map's layer, right the compared one");
    divider.setAttribute("aria-valuemin", "0");
    divider.setAttribute("aria-valuemax", "100");
    map.getContainer().appendChild(divider);
    // The divider's place as a fraction of the map's width, so that it stays put when the map is resized.
    var state = {fraction: 0.5, layer: null};

    /** A clip-path polygon, in the panes' layer coordinates, of the map's part left or right of x (pixels). */
    function clip(fromX, toX) {
      var size = map.getSize();
      var a = map.containerPointToLayerPoint([fromX, 0]), b = map.containerPointToLayerPoint([toX, size.y]);
      return "polygon(" + [[a.x, a.y], [b.x, a.y], [b.x, b.y], [a.x, b.y]].map(function (p) {
        return p[0] + "px " + p[1] + "px";
      }).join(", ") + ")";
    }

    /** Clip both panes at the divider and put the divider there. */
    function update() {
      if (!state.layer) return;
      var width = map.getSize().x, x = Math.round(width * state.fraction);
      left.style.clipPath = clip(0, x);
      right.style.clipPath = clip(x, width);
      divider.style.left = x + "px";
      divider.setAttribute("aria-valuenow", String(Math.round(state.fraction * 100)));
    }

    /** Move the divider to a fraction of the map's width. */
    function moveTo(fraction) {
      state.fraction = Math.min(1, Math.max(0, fraction));
      update();
    }

    // Dragging: the map must not pan under the pointer while the divider moves.
    divider.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      event.stopPropagation();
      divider.setPointerCapture(event.pointerId);
      map.dragging.disable();
      divider.classList.add("dragging");
    });
    divider.addEventListener("pointermove", function (event) {
      if (!divider.classList.contains("dragging")) return;
      var box = map.getContainer().getBoundingClientRect();
      moveTo((event.clientX - box.left) / box.width);
    });
    function endDrag(event) {
      if (!divider.classList.contains("dragging")) return;
      divider.classList.remove("dragging");
      if (divider.hasPointerCapture(event.pointerId)) divider.releasePointerCapture(event.pointerId);
      map.dragging.enable();
    }
    divider.addEventListener("pointerup", endDrag);
    divider.addEventListener("pointercancel", endDrag);
    ["click", "dblclick", "mousedown", "touchstart", "wheel"].forEach(function (name) {
      divider.addEventListener(name, function (event) { event.stopPropagation(); });
    });
    divider.addEventListener("keydown", function (event) {
      var step = event.shiftKey ? 0.1 : 0.02;
      if (event.key === "ArrowLeft") moveTo(state.fraction - step);
      else if (event.key === "ArrowRight") moveTo(state.fraction + step);
      else return;
      event.preventDefault();
    });
    map.on("move zoom zoomend viewreset resize", update);

    return {
      /** The pane of the map's own layers (the left side while comparing). */
      leftPane: LEFT,
      /** The pane of the compared layer. */
      rightPane: RIGHT,
      /** Show a tile layer (made with pane: rightPane) on the right of the divider, replacing the one there. */
      show: function (layer) {
        if (state.layer) map.removeLayer(state.layer);
        state.layer = layer.addTo(map);
        divider.hidden = false;
        update();
      },
      /** End the comparison: the map's layers whole again. */
      hide: function () {
        if (state.layer) map.removeLayer(state.layer);
        state.layer = null;
        divider.hidden = true;
        left.style.clipPath = "";
        right.style.clipPath = "";
      },
      /** Move the divider (0: the left edge, 1: the right edge). */
      moveTo: moveTo,
      /** Whether a layer is being compared. */
      active: function () { return state.layer !== null; }
    };
  }

  window.AerieSwipe = {create: create};
})();
