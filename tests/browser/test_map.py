"""In a real browser: the map page loads tiles, switches layers, shows the elevation legend, camera positions,
and measures distances and areas; a public task's map opens without logging in."""
import re
import zipfile

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
    # The orthophoto comes as WebP (a fraction of the PNG's bytes); colour-mapped layers stay PNG (below).
    expect(loaded_tiles(page, "orthophoto").first).to_have_attribute(
        "src", re.compile(r"/\d+/\d+/\d+(@2x)?\.webp\?sig="))
    expect(page.get_by_label("Orthophoto")).to_be_checked()
    expect(page.get_by_label("Terrain model (DTM)")).to_be_disabled()
    expect(page.locator("#dem-controls")).to_be_hidden()
    expect(page.locator("path.camera-marker")).to_have_count(3)
    wait_for_all_tiles(page)
    page.screenshot(path="/tmp/aerie-map-orthophoto.png")

    page.get_by_label("Surface model (DSM)").check()
    expect(loaded_tiles(page, "dsm").first).to_be_attached(timeout=15000)
    expect(loaded_tiles(page, "dsm").first).to_have_attribute("src", re.compile(r"/\d+/\d+/\d+(@2x)?\.png\?"))
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


def test_the_plant_health_panel_colours_the_orthophoto_by_a_formula(page, live_server, task):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(loaded_tiles(page, "orthophoto").first).to_be_attached(timeout=15000)
    expect(page.locator("#index-controls")).to_be_hidden()
    page.get_by_label("Plant health").select_option("VARI")
    expect(page.get_by_label("Band order")).to_have_value("RGB")  # the bands' colour names say so
    expect(page.get_by_label("Index colours")).to_have_value("rdylgn")
    expect(page.locator("#formula-help")).to_contain_text("Visible Atmospherically Resistant")
    low, high = (float(page.get_by_label(name).input_value()) for name in ("Range minimum", "Range maximum"))
    assert -1 <= low < high <= 1
    index_tiles = "img.leaflet-tile-loaded[src*='formula=VARI&bands=RGB&color_map=rdylgn&rescale=']"
    expect(page.locator(index_tiles).first).to_be_attached(timeout=15000)
    drawn = page.evaluate("""() => {
        const canvas = document.getElementById('histogram');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let dark = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 100) dark++;
        return dark;
    }""")
    assert drawn > 0  # the histogram's bars
    page.get_by_label("Index colours").select_option("spectral")
    page.get_by_label("Range minimum").fill("-0.5")
    page.get_by_label("Range maximum").fill("0.5")
    page.get_by_label("Range maximum").press("Enter")
    expect(page.locator("img.leaflet-tile-loaded[src*='color_map=spectral&rescale=-0.5,0.5']").first) \
        .to_be_attached(timeout=15000)
    expect(page.locator("#index-legend-min")).to_have_text("-0.5")
    wait_for_all_tiles(page)
    page.screenshot(path="/tmp/aerie-map-plant-health.png")

    page.get_by_label("Plant health").select_option("NDRE")  # needs a red-edge band: three bands have none
    expect(page.locator("#plant-health-error")).to_contain_text("band")
    page.get_by_label("Plant health").select_option("")
    expect(page.locator("#index-controls")).to_be_hidden()
    expect(page.locator("img.leaflet-tile-loaded[src*='/orthophoto/tiles/']:not([src*='formula'])").first) \
        .to_be_attached(timeout=15000)
    page.get_by_label("Surface model (DSM)").check()
    expect(page.locator("#plant-health")).to_be_hidden()


def _open_pile_map(page, live_server):
    """Olga's task of piles on sloping ground (tests.support.maps.pile_task), its map open with the DSM drawn."""
    project = add_project(add_user("olga"), name="Yard")
    task = maps.pile_task(project)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(loaded_tiles(page, "dsm").first).to_be_attached(timeout=15000)
    return task


def test_the_volume_of_a_drawn_area_comes_from_a_job_on_the_server(page, live_server, app):
    _open_pile_map(page, live_server)
    page.get_by_role("button", name="Area").click()
    corners = maps.lonlat_ring(maps.square(maps.CONE["centre"], 20))["coordinates"][0][:4]
    box = page.locator("#map").bounding_box()
    for lon, lat in corners:
        point = page.evaluate("([lat, lng]) => window.aerieMap.latLngToContainerPoint([lat, lng])", [lat, lon])
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    expect(page.locator("#volume")).to_be_visible()
    page.get_by_label("Volume base").select_option("plane")
    page.get_by_role("button", name="Compute volume").click()
    expect(page.locator("#volume-result")).to_have_text("Computing…")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])  # a real RQ worker runs the job
    assert result.exit_code == 0, result.output
    expect(page.locator(".volume-net")).to_be_visible(timeout=15000)
    net = float(re.search(r"Net: ([\d,]+) m³", page.locator(".volume-net").inner_text()).group(1).replace(",", ""))
    cone = 3.141592653589793 * maps.CONE["radius"] ** 2 * maps.CONE["height"] / 3
    # The clicks land on screen pixels: the polygon differs from the square by a fraction of a metre, not the cone.
    assert net == pytest.approx(cone, rel=0.02)
    expect(page.locator(".volume-fill")).to_have_text(re.compile(r"Fill: \d+ m³"))
    page.screenshot(path="/tmp/aerie-map-volume.png", full_page=True)
    page.get_by_label("Volume base").select_option("custom")
    page.get_by_label("Base height (m)").fill("")
    page.get_by_role("button", name="Compute volume").click()
    expect(page.locator("#volume-result")).to_contain_text("base needs its height")


def test_exports_from_the_map_and_the_task_page(page, live_server, app, task):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/")
    page.get_by_label("Export what").select_option("orthophoto")
    expect(page.get_by_label("Export format")).to_have_value("gtiff")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()  # the GeoTIFF as it is: no job
    assert download.value.suggested_filename == "orthophoto.tif"

    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(loaded_tiles(page, "orthophoto").first).to_be_attached(timeout=15000)
    page.get_by_label("Plant health").select_option("VARI")
    expect(page.locator("img.leaflet-tile-loaded[src*='formula=VARI']").first).to_be_attached(timeout=15000)
    page.get_by_label("Export format").select_option("png")
    page.get_by_label("Reproject to EPSG").fill("4326")
    page.get_by_role("button", name="Export").click()
    expect(page.locator("#export .export-status")).to_contain_text("Exporting")
    with page.expect_download(timeout=20000) as download:
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])  # a real RQ worker makes the file
        assert result.exit_code == 0, result.output
    assert download.value.suggested_filename == "North-pit-orthophoto-VARI.zip"
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert sorted(names) == ["North-pit-orthophoto-VARI.pgw", "North-pit-orthophoto-VARI.png",
                             "North-pit-orthophoto-VARI.prj"]
    page.get_by_label("Reproject to EPSG").fill("99999999")
    page.get_by_role("button", name="Export").click()
    expect(page.locator("#export .export-status")).to_contain_text("Unknown EPSG code")


def test_an_elevation_profile_of_a_drawn_line(page, live_server, app):
    _open_pile_map(page, live_server)
    page.get_by_role("button", name="Distance").click()
    east, south = maps.CONE["centre"]
    box = page.locator("#map").bounding_box()
    for lon, lat in maps.lonlat_ring([(east - 10, south), (east + 10, south)])["coordinates"][0][:2]:
        point = page.evaluate("([lat, lng]) => window.aerieMap.latLngToContainerPoint([lat, lng])", [lat, lon])
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.get_by_role("button", name="Elevation profile").click()
    expect(page.locator("#profile-chart polyline.profile-dsm")).to_have_count(1)
    expect(page.locator("#profile-chart polyline.profile-dtm")).to_have_count(1)
    summary = page.locator("#profile-summary").inner_text()
    length, low, high = (float(v) for v in re.match(r"([\d.]+) m · ([\d.]+) m to ([\d.]+) m", summary).groups())
    assert length == pytest.approx(20, abs=0.5)
    assert high == pytest.approx(maps.ground_height(east, south) + maps.CONE["height"], abs=0.3)
    # The DSM's line rises over the cone in the middle: its highest point is near the chart's middle.
    points = page.locator("#profile-chart polyline.profile-dsm").get_attribute("points").split()
    xs, ys = zip(*((float(a), float(b)) for a, b in (p.split(",") for p in points)))
    assert 250 < xs[ys.index(min(ys))] < 350
    page.screenshot(path="/tmp/aerie-map-profile.png", full_page=True)
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_role("button", name="Elevation profile")).to_be_hidden()


def test_contours_on_the_map_and_as_a_file(page, live_server, app):
    _open_pile_map(page, live_server)
    page.get_by_label("Contours of").select_option("DTM")
    page.get_by_label("Contour interval (m)").fill("0.5")
    page.get_by_role("button", name="Show on the map").click()
    expect(page.locator("#contour-status")).to_contain_text("Computing")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])  # a real RQ worker draws them
    assert result.exit_code == 0, result.output
    expect(page.locator("#contour-status")).to_have_text(re.compile(r"\d+ lines"), timeout=15000)
    count = int(page.locator("#contour-status").inner_text().split()[0])
    expect(page.locator("path.contour-line")).to_have_count(count)
    wait_for_all_tiles(page)
    page.screenshot(path="/tmp/aerie-map-contours.png", full_page=True)
    page.get_by_label("Contour file format").select_option("DXF")
    page.get_by_role("button", name="Download").click()
    with page.expect_download(timeout=20000) as download:
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output
    assert download.value.suggested_filename == "stockpiles-dtm-contours.dxf"
    page.get_by_label("Contour interval (m)").fill("0")
    page.get_by_role("button", name="Show on the map").click()
    expect(page.locator("#contour-status")).to_contain_text("positive number")


def test_a_base_map_under_the_layers_from_the_configured_list(page, live_server, app, task):
    # No internet in tests: the "base map" is this server's own tiles of a public task, as a tile server would be.
    other = maps.completed_task(task.project, name="Base", public=True, dsm=False, shots=False, colour=maps.BLUE)
    app.config["BASEMAPS"] = [{"name": "Local imagery", "attribution": "Local tiles &copy; test",
                               "url": f"/api/projects/{other.project_id}/tasks/{other.id}/orthophoto/tiles/{{z}}/{{x}}/{{y}}.png"}]
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(page.get_by_label("Base map")).to_have_value("0")
    expect(page.locator(f".basemap img.leaflet-tile-loaded[src*='/tasks/{other.id}/']").first).to_be_attached(
        timeout=15000)
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Local tiles © test")
    base_z = page.locator(".leaflet-layer.basemap").evaluate("e => Number(getComputedStyle(e).zIndex)")
    task_z = page.locator(".leaflet-layer.layer-orthophoto").evaluate("e => Number(getComputedStyle(e).zIndex)")
    assert base_z < task_z
    page.get_by_label("Base map").select_option("")
    expect(page.locator(".leaflet-layer.basemap")).to_have_count(0)
    expect(page.locator(".leaflet-control-attribution")).to_have_count(0)


def test_a_camera_shows_its_photo_and_the_original_downloads(page, live_server, task):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/map")
    expect(page.locator("path.camera-marker")).to_have_count(3)
    page.locator("path.camera-marker").nth(1).click(force=True)
    popup = page.locator(".leaflet-popup .photo-popup")
    expect(popup).to_contain_text("DJI_0001.JPG")
    page.wait_for_function("() => { const i = document.querySelector('.photo-thumbnail');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=15000)
    size = page.evaluate("() => { const i = document.querySelector('.photo-thumbnail');"
                         " return [i.naturalWidth, i.naturalHeight]; }")
    assert size == [240, 320]  # upright, 320 px on the longer side
    with page.expect_download() as download:
        popup.get_by_role("link", name="Download the original").click()
    assert download.value.suggested_filename == "DJI_0001.JPG"
