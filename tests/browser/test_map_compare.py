"""In a real browser: the swipe compares two tasks of a project (the divider dragged, each side showing its task's
pixels), and the DSM difference panel shows the change with its legend and measures the volume of a pile dumped
between two flights."""
import datetime
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support import maps
from tests.support.browser import log_in
from tests.support.factories import add_project, add_user
from webapp.extensions import db

BOX_CENTRE = (maps.BOX["west"] + maps.BOX["width"] / 2, maps.BOX["north"] + maps.BOX["depth"] / 2)
BOX_VOLUME = maps.BOX["width"] * maps.BOX["depth"] * maps.BOX["height"]


def map_pixel(page, x, y):
    """The RGB of the map's pixel at (x, y) from its top-left corner, from a screenshot."""
    image = Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB")
    return image.getpixel((x, y))


def close(colour, expected, tolerance=30):
    """Whether two RGB colours are within tolerance on every channel."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def wait_for_tiles(page, selector):
    """Wait until the layer's tiles have loaded and faded in."""
    page.wait_for_function("""(selector) => {
        const tiles = [...document.querySelectorAll(selector + ' img.leaflet-tile')];
        return tiles.length > 0 && tiles.every(t => t.classList.contains('leaflet-tile-loaded')
                                                    && getComputedStyle(t).opacity === '1');
    }""", arg=selector, timeout=15000)


def test_the_swipe_shows_one_task_left_of_the_divider_and_the_other_right(page, live_server, app):
    project = add_project(add_user("olga"), name="Quarry")
    red = maps.completed_task(project, name="March", dsm=False, shots=False, colour=maps.RED)
    maps.completed_task(project, name="April", dsm=False, shots=False, colour=maps.BLUE)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{red.id}/map")
    expect(page.locator("#map[data-ready=true]")).to_be_attached()
    expect(page.locator(".swipe-divider")).to_be_hidden()
    page.get_by_label("Compare (swipe)").select_option(label="April · Orthophoto")
    divider = page.get_by_role("separator")
    expect(divider).to_be_visible()
    # The coloured square of both orthophotos fills the map's middle.
    patch_centre = maps.lonlat_of_pixel(350, 350)
    page.evaluate("([lon, lat]) => window.aerieMap.setView([lat, lon], 20.5, {animate: false})", list(patch_centre))
    wait_for_tiles(page, ".compare-layer")
    wait_for_tiles(page, ".layer-orthophoto:not(.compare-layer)")
    box = page.locator("#map").bounding_box()
    middle_x, middle_y = box["width"] / 2, box["height"] / 2 + 60  # below the divider's grip
    left, right = (round(middle_x - 80), round(middle_y)), (round(middle_x + 80), round(middle_y))
    assert close(map_pixel(page, *left), maps.RED) and close(map_pixel(page, *right), maps.BLUE)
    page.screenshot(path="/tmp/aerie-map-swipe.png")

    # Dragged to the right: both points are now on the left, the March side.
    divider_box = divider.bounding_box()
    page.mouse.move(divider_box["x"] + divider_box["width"] / 2, box["y"] + middle_y + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + middle_y + 40, steps=5)
    page.mouse.up()
    expect(divider).to_have_attribute("aria-valuenow", "80")
    assert close(map_pixel(page, *right), maps.RED)
    assert page.evaluate("window.aerieMap.getCenter().lng") == pytest.approx(patch_centre[0], abs=1e-7)  # no pan
    # The arrow keys move it back over the right point: April there again.
    divider.focus()
    for _ in range(15):
        page.keyboard.press("ArrowLeft")
    expect(divider).to_have_attribute("aria-valuenow", "50")
    page.wait_for_timeout(100)
    assert close(map_pixel(page, *right), maps.BLUE) and close(map_pixel(page, *left), maps.RED)
    # Panning keeps each side at its place on the screen.
    page.evaluate("window.aerieMap.panBy([30, 0], {animate: false})")
    page.wait_for_timeout(100)
    assert close(map_pixel(page, round(middle_x) + 40, round(middle_y)), maps.BLUE)
    assert close(map_pixel(page, round(middle_x) - 40, round(middle_y)), maps.RED)

    page.get_by_label("Compare (swipe)").select_option("")
    expect(divider).to_be_hidden()
    expect(page.locator(".compare-layer")).to_have_count(0)
    assert close(map_pixel(page, round(middle_x) + 40, round(middle_y)), maps.RED)


def test_the_difference_panel_shows_the_change_and_the_volume_of_a_dumped_pile(page, live_server, app):
    project = add_project(add_user("olga"), name="Depot")
    before = maps.survey_task(project, "Before", with_piles=False, pixel=0.15)
    after = maps.survey_task(project, "After", with_piles=True)
    before.created_at = after.created_at - datetime.timedelta(days=30)
    db.session.commit()
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{before.id}/map")  # the earlier one's map: same answer
    expect(page.locator("#map[data-ready=true]")).to_be_attached()
    panel = page.locator("#difference")
    expect(panel).to_be_visible()
    page.get_by_label("DSM difference with").select_option(label="After")
    expect(page.locator("#difference-order")).to_have_text("Later minus earlier: After − Before")
    expect(page.locator("#difference-legend-max")).to_have_text(re.compile(r"^\+\d+\.\d\d m$"))
    expect(page.locator("#difference-stats")).to_contain_text("to +")
    expect(page.locator(f"img.leaflet-tile-loaded[src*='/tasks/{after.id}/difference/{before.id}/tiles/']")
           .first).to_be_attached(timeout=15000)
    page.get_by_label("± m").fill("2")
    page.get_by_label("± m").dispatch_event("change")
    expect(page.locator("#difference-legend-max")).to_have_text("+2.00 m")
    expect(page.locator("img.leaflet-tile-loaded[src*='rescale=-2,2']").first).to_be_attached(timeout=15000)
    expect(page.get_by_label("Difference colours")).to_have_value("rdbu")
    page.evaluate("window.aerieMap.setView([45.15330, 15.000254], 20, {animate: false})")
    wait_for_tiles(page, ".difference-layer")
    page.screenshot(path="/tmp/aerie-map-difference-layer.png", full_page=True)  # docs/map-difference.png
    page.get_by_label("Difference colours").select_option("bwr")
    expect(page.locator("img.leaflet-tile-loaded[src*='color_map=bwr']").first).to_be_attached(timeout=15000)

    # An area around the box, drawn with the measure tool: the volume gained is the box's.
    centre = maps.lonlat_ring(maps.square(BOX_CENTRE, 0.01))["coordinates"][0][0]
    page.evaluate("([lon, lat]) => window.aerieMap.setView([lat, lon], 21, {animate: false})", list(centre))
    expect(page.locator("#difference-volume")).to_be_hidden()
    page.get_by_role("button", name="Area").click()
    corners = maps.lonlat_ring(maps.square(BOX_CENTRE, 10))["coordinates"][0][:4]
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    for lon, lat in corners:
        point = page.evaluate("([lon, lat]) => window.aerieMap.latLngToContainerPoint([lat, lon])", [lon, lat])
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.get_by_role("button", name="Volume change").click()
    gained = page.locator(".difference-gained")
    expect(gained).to_have_text(re.compile(r"^Gained: \+\d+ m³$"), timeout=15000)
    assert int(re.search(r"\d+", gained.inner_text()).group()) == pytest.approx(BOX_VOLUME, abs=1)
    expect(page.locator(".difference-lost")).to_have_text(re.compile(r"^Lost: (−0|0) m³$"))
    expect(page.locator(".difference-net")).to_have_text(re.compile(r"^Net: \+4[789] m³$"))
    page.screenshot(path="/tmp/aerie-map-difference.png")
    # A bow tie (the same corners in a crossing order): the server's 400 is said in the panel.
    page.get_by_role("button", name="Clear").click()
    page.get_by_role("button", name="Area").click()
    for lon, lat in (corners[0], corners[2], corners[1], corners[3]):
        point = page.evaluate("([lon, lat]) => window.aerieMap.latLngToContainerPoint([lat, lon])", [lon, lat])
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.get_by_role("button", name="Volume change").click()
    expect(page.locator("#difference-result")).to_have_text(
        "The polygon crosses itself; draw its outline without crossings.")
    page.get_by_label("± m").fill("0")
    page.get_by_label("± m").dispatch_event("change")
    expect(page.locator("#difference-error")).to_have_text("The range needs a number of metres above 0.")
    page.get_by_label("DSM difference with").select_option("")
    expect(page.locator(".difference-layer")).to_have_count(0)
    expect(page.locator("#difference-volume")).to_be_hidden()


def test_no_difference_panel_without_another_task_with_a_dsm_and_the_project_map_compares_too(page, live_server, app):
    project = add_project(add_user("olga"), name="Lonely")
    task = maps.completed_task(project, name="Only", shots=False)
    maps.completed_task(project, name="Photos", dsm=False, shots=False)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{task.id}/map")
    expect(page.locator("#map[data-ready=true]")).to_be_attached()
    expect(page.locator("#difference")).to_be_hidden()
    expect(page.locator("#compare")).to_be_visible()  # the other task's orthophoto can still be swiped
    options = page.locator("#compare-with option").all_inner_texts()
    assert options == ["None", "Only · Orthophoto", "Only · Surface model (DSM)", "Photos · Orthophoto"]
    # The project's map (both tasks on it) compares the same way, and has no difference panel (it needs one task).
    page.goto(f"{live_server}/projects/{project.id}/map")
    expect(page.locator("#map[data-ready=true]")).to_be_attached()
    expect(page.locator("#difference")).to_be_hidden()
    page.get_by_label("Compare (swipe)").select_option(label="Only · Surface model (DSM)")
    expect(page.get_by_role("separator")).to_be_visible()
    expect(page.locator(".compare-layer img.leaflet-tile-loaded[src*='/dsm/tiles/']").first).to_be_attached(
        timeout=15000)
