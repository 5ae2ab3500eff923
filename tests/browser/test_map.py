"""In a real browser: the map page loads tiles, switches layers, shows the elevation legend, camera positions,
and measures distances and areas; a public task's map opens without logging in."""
import re

import pytest
from playwright.sync_api import expect
from pyproj import Geod

from tests.support import maps
from tests.support.browser import log_in
from tests.support.factories import add_project, add_user
from webapp.extensions import db

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def task(app):
    """A completed task of olga's with an orthophoto, a DSM and three camera positions."""
    project = add_project(add_user("olga"), name="Quarry")
    return maps.completed_task(project, name="North pit")


def loaded_tiles(page, layer):
    """A locator of the loaded tiles of one layer."""
    return page.locator(f"img.leaflet-tile-loaded[src*='/{layer}/tiles/']")


def wait_for_all_tiles(page):
    """Wait until every tile on the map has loaded and faded in (for screenshots of the whole map)."""
    page.wait_for_function("""() => {
        const tiles = [...document.querySelectorAll('img.leaflet-tile')];
        return tiles.length > 0 && tiles.every(t => t.classList.contains('leaflet-tile-loaded')
                                                    && getComputedStyle(t).opacity === '1');
    }""", timeout=15000)


def clicked_latlngs(page, points):
    """Click points of the map (pixels from its top-left corner); return their latitude and longitude."""
    box = page.locator("#map").bounding_box()
    for x, y in points:
        page.mouse.click(box["x"] + x, box["y"] + y)
    return page.evaluate("(points) => points.map(p => window.aerieMap.containerPointToLatLng(p))",
                         [list(point) for point in points])


def test_the_map_shows_tiles_switches_layers_and_measures(page, live_server, task):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(page.locator("#map[data-ready=true]")).to_be_attached()
    expect(loaded_tiles(page, "orthophoto").first).to_be_attached(timeout=15000)
    expect(page.get_by_label("Orthophoto")).to_be_checked()
    expect(page.get_by_label("Terrain model (DTM)")).to_be_disabled()
    expect(page.locator("#dem-controls")).to_be_hidden()
    expect(page.locator("path.camera-marker")).to_have_count(3)
    wait_for_all_tiles(page)
    page.screenshot(path="/tmp/aerie-map-orthophoto.png")

    page.get_by_label("Surface model (DSM)").check()
    expect(loaded_tiles(page, "dsm").first).to_be_attached(timeout=15000)
    expect(page.locator("img[src*='/orthophoto/tiles/']")).to_have_count(0)
    expect(page.locator(".legend-min")).to_have_text(f"{maps.DSM_LOW:.1f} m")
    expect(page.locator(".legend-max")).to_have_text(f"{maps.DSM_LOW + maps.DSM_STEP * (maps.DSM_SIZE - 1):.1f} m")
    page.get_by_label("Colour map").select_option("terrain")
    page.get_by_label("Hillshade").check()
    expect(page.locator("img.leaflet-tile-loaded[src*='color_map=terrain&hillshade=true']").first).to_be_attached(
        timeout=15000)
    page.get_by_label("Opacity").fill("40")
    expect(page.locator(".leaflet-layer.layer-dsm")).to_have_css("opacity", "0.4")
    page.screenshot(path="/tmp/aerie-map-dsm.png")

    page.get_by_role("button", name="Distance").click()
    (a, b) = clicked_latlngs(page, [(200, 150), (420, 260)])
    expected = GEOD.inv(a["lng"], a["lat"], b["lng"], b["lat"])[2]
    measured = float(re.search(r"Distance: ([\d.]+) m", page.locator("#measure-result").inner_text()).group(1))
    assert measured == pytest.approx(expected, rel=0.005)  # a sphere against the WGS84 ellipsoid

    page.get_by_role("button", name="Area").click()
    corners = clicked_latlngs(page, [(150, 120), (450, 120), (450, 330), (150, 330)])
    expected_area = abs(GEOD.polygon_area_perimeter([p["lng"] for p in corners], [p["lat"] for p in corners])[0])
    text = page.locator("#measure-result").inner_text()
    measured_area = float(re.search(r"Area: ([\d,]+) m²", text).group(1).replace(",", ""))
    assert measured_area == pytest.approx(expected_area, rel=0.01)
    expect(page.locator("path.measure-shape")).to_have_count(1)
    page.screenshot(path="/tmp/aerie-map-measure.png")
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("path.measure-shape")).to_have_count(0)
    expect(page.locator("#measure-result")).to_have_text("")

    fitted_zoom = page.evaluate("window.aerieMap.getZoom()")
    page.evaluate("window.aerieMap.setView([0, 0], 3, {animate: false})")
    page.get_by_role("button", name="Zoom to extent").click()
    page.wait_for_function("(zoom) => window.aerieMap.getZoom() === zoom", arg=fitted_zoom)
    page.get_by_label("Camera positions").uncheck()
    expect(page.locator("path.camera-marker")).to_have_count(0)


def test_a_public_task_map_opens_without_login_and_a_private_one_asks_for_it(page, live_server, task):
    url = f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map"
    page.goto(url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    task.public = True
    db.session.commit()
    page.goto(url)
    expect(loaded_tiles(page, "orthophoto").first).to_be_attached(timeout=15000)
    expect(page.get_by_role("link", name="Back")).to_have_count(0)


def test_the_project_map_shows_every_completed_task_and_hides_one_on_request(page, live_server, task):
    second = maps.completed_task(task.project, name="South pit", dsm=False, shots=False, colour=maps.BLUE)
    log_in(page, live_server, "olga")
    page.get_by_role("link", name="Map of Quarry").click()
    for each in (task, second):
        expect(page.locator(f"img.leaflet-tile-loaded[src*='/tasks/{each.id}/orthophoto/tiles/']").first) \
            .to_be_attached(timeout=15000)
    page.get_by_label("South pit").uncheck()
    expect(page.locator(f"img[src*='/tasks/{second.id}/']")).to_have_count(0)
    expect(page.locator(f"img[src*='/tasks/{task.id}/']").first).to_be_attached()
