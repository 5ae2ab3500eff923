"""In a real browser (WebGL on Chromium's software renderer): the 3D page draws a task's point cloud, textured model
and cameras, toggles the layers, and measures the distance between two picked points; for results made by the
built-in engine and for a real-ODM results zip (OBJ only), imported through the API."""
import io
import re
import shutil

import numpy
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.web import auth
from tests.security.test_headers import RECORD_VIOLATIONS
from tests.support import models3d as fixtures
from tests.support.datasets import DATASETS_DIR
from tests.support.factories import add_user
from webapp import storage
from webapp.extensions import db
from webapp.models import Project, Task, TaskStatus
from webapp.services import assets, models3d

DRAWN_STD = 20.0  # grey levels: a view with the cloud or the model varies far more than this
BLANK_STD = 6.0  # an empty view (the background, a few frustum lines) varies less
# README's pictures of the 3D page (docs/3d-view.png, docs/3d-view-brighton.png) are these screenshots.
SCREENSHOT, BRIGHTON_SCREENSHOT = "/tmp/aerie-3d-view.png", "/tmp/aerie-3d-view-brighton.png"


@pytest.fixture
def olga_project(app):
    """olga's project."""
    olga = add_user("olga")
    project = Project(owner_id=olga.id, name="Quarry")
    db.session.add(project)
    db.session.commit()
    return project


def engine_task(project):
    """A completed task whose results are the built-in engine's (3x3 rotations in shots.geojson), prepared as the
    extraction prepares them."""
    task = Task(project_id=project.id, name="Hill", status=TaskStatus.COMPLETED)
    db.session.add(task)
    db.session.commit()
    folder = storage.assets_dir(project.id, task.id)
    fixtures.write_3d_results(folder, odm_style=False)
    assert models3d.prepare(folder) is not None
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


def log_in(page, base_url, name):
    """Log in through the login page."""
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(f"{name}-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def canvas_std(page):
    """The standard deviation of the grey levels of the 3D canvas as the user sees it."""
    png = page.locator("#view3d canvas").screenshot()
    return float(numpy.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=numpy.float64).std())


def screen_point(page, local):
    """Where a point of the scene (local metres) is on the screen, in page pixels."""
    box = page.locator("#view3d canvas").bounding_box()
    x, y = page.evaluate("""([x, y, z]) => {
        const {camera} = window.aerie3d;
        const p = camera.position.clone().set(x, y, z).project(camera);
        return [(p.x + 1) / 2, (1 - p.y) / 2];
    }""", list(local))
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def open_view(page, url):
    """Open a 3D page and wait until its point cloud and model are in."""
    page.goto(url)
    expect(page.locator("#view3d[data-ready=true]")).to_be_attached(timeout=30_000)
    assert page.locator("#view3d[data-error]").count() == 0, page.locator("#view3d-status").inner_text()


def check_layers_toggle(page):
    """Each layer alone draws; with every layer off the view is blank."""
    assert canvas_std(page) > DRAWN_STD
    page.get_by_label("Textured model").uncheck()
    assert canvas_std(page) > DRAWN_STD, "the point cloud alone draws"
    assert page.evaluate("window.aerie3d.layers.model.visible") is False
    page.get_by_label("Point cloud").uncheck()
    page.get_by_label("Cameras").uncheck()
    assert canvas_std(page) < BLANK_STD, "nothing left to draw"
    page.get_by_label("Textured model").check()
    assert canvas_std(page) > DRAWN_STD, "the model alone draws"
    page.get_by_label("Textured model").uncheck()
    page.get_by_label("Point cloud").check()
    page.get_by_label("Cameras").check()


def check_measure(page):
    """Two clicks on the ground show their distance, and the picked points lie on the surface."""
    page.get_by_role("button", name="Distance").click()
    aimed = [(-12.0, -6.0), (10.0, 9.0)]  # metres east and north of coords.txt's offset
    for x, y in aimed:
        page.mouse.click(*screen_point(page, (x, y, fixtures.height(x, y))))
    text = page.locator("#measure-result").inner_text()
    shown = float(re.search(r"Distance: ([\d.]+) m", text).group(1))
    a, b = (numpy.array(p) for p in page.evaluate("window.aerie3d.measure.points.map(p => [p.x, p.y, p.z])"))
    assert shown == pytest.approx(numpy.linalg.norm(a - b), abs=0.01)
    for (x, y, z), (aim_x, aim_y) in zip((a, b), aimed):
        assert abs(x - aim_x) < 1.0 and abs(y - aim_y) < 1.0, "the point under the pointer"
        assert abs(z - fixtures.height(x, y)) < 0.3, "on the surface"
    true_distance = numpy.linalg.norm(numpy.subtract(*[(x, y, fixtures.height(x, y)) for x, y in aimed]))
    assert shown == pytest.approx(true_distance, abs=1.5)
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#measure-result")).to_have_text("")


def test_the_3d_page_draws_toggles_layers_and_measures(page, live_server, olga_project):
    task = engine_task(olga_project)
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{task.project_id}/tasks/{task.id}/")
    page.get_by_role("link", name="Open the 3D view").click()
    expect(page.locator("#view3d[data-ready=true]")).to_be_attached(timeout=30_000)
    expect(page.get_by_label("Cameras")).to_be_enabled()
    frusta = page.evaluate("window.aerie3d.layers.cameras.children[0].geometry.attributes.position.count")
    assert frusta == 4 * 8 * 2  # 4 cameras, 8 lines each, 2 ends a line
    page.screenshot(path=SCREENSHOT)
    check_layers_toggle(page)

    page.get_by_label("Textured model").check()
    check_measure(page)
    page.get_by_label("Point size").fill("6")
    assert page.evaluate("window.aerie3d.layers.points.children[0].material.size") == 6
    before = page.evaluate("window.aerie3d.camera.position.toArray()")
    page.mouse.move(500, 300)
    page.mouse.wheel(0, -600)
    page.wait_for_function("(before) => window.aerie3d.camera.position.distanceTo("
                           "{x: before[0], y: before[1], z: before[2]}) > 1", arg=before)
    page.get_by_role("button", name="Reset view").click()
    after = page.evaluate("window.aerie3d.camera.position.toArray()")
    assert after == pytest.approx(before, abs=1e-6)
    assert page.evaluate("window.__cspViolations") == []


def test_a_real_odm_zip_is_converted_at_import_and_shown(page, live_server, app, olga_project, tmp_path):
    results = tmp_path / "results"
    fixtures.write_3d_results(results)  # ODM's files: LAZ, OBJ + MTL + PNG, coords.txt, shots: no GLB
    client = app.test_client()
    olga = db.session.get(Project, olga_project.id).owner
    response = client.post(f"/api/projects/{olga_project.id}/tasks/import/", headers=auth(olga),
                           data={"file": (io.BytesIO(fixtures.results_zip(results)), "all.zip"), "name": "ODM"})
    assert response.status_code == 201, response.get_data(as_text=True)
    task = response.get_json()
    assert "textured_model.glb" in task["available_assets"]
    api = f"/api/projects/{olga_project.id}/tasks/{task['id']}"
    glb = client.get(f"{api}/download/textured_model.glb", headers=auth(olga))
    assert glb.status_code == 200 and glb.data[:4] == b"glTF"
    all_zip = client.get(f"{api}/download/all.zip", headers=auth(olga)).data
    assert b"viewer3d/" not in all_zip and b"odm_textured_model_geo.obj" in all_zip

    log_in(page, live_server, "olga")
    open_view(page, f"{live_server}/projects/{olga_project.id}/tasks/{task['id']}/3d")
    check_layers_toggle(page)
    check_measure(page)


def test_a_public_task_3d_page_opens_without_login(page, live_server, olga_project):
    task = engine_task(olga_project)
    url = f"{live_server}/projects/{task.project_id}/tasks/{task.id}/3d"
    page.goto(url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    task.public = True
    db.session.commit()
    open_view(page, url)
    expect(page.get_by_role("link", name="Back")).to_have_count(0)


def test_odms_own_point_cloud_of_brighton_beach_is_shown(page, live_server, olga_project):
    """ODM's point cloud of a real survey (16-bit colours, its CRS as ODM writes it), as a real-ODM task holds it."""
    laz = DATASETS_DIR / "brighton_beach" / "reference" / "odm_model.laz"
    if not laz.is_file():
        pytest.skip(f"{laz} not found: AERIE_DATASETS has no brighton_beach/reference")
    task = Task(project_id=olga_project.id, name="Brighton Beach (ODM)", status=TaskStatus.COMPLETED)
    db.session.add(task)
    db.session.commit()
    folder = storage.assets_dir(olga_project.id, task.id)
    (folder / "odm_georeferencing").mkdir(parents=True)
    shutil.copyfile(laz, folder / models3d.POINT_CLOUD)
    scene = models3d.prepare(folder, max_points=250_000)  # an even sample: cheaper to draw in software WebGL
    assert scene["epsg"] == 32615 and scene["points"] == {"count": 250_000, "total": 940_393, "block": 65_536}
    log_in(page, live_server, "olga")
    open_view(page, f"{live_server}/projects/{olga_project.id}/tasks/{task.id}/3d")
    expect(page.get_by_label("Textured model")).to_be_disabled()
    assert canvas_std(page) > DRAWN_STD
    page.screenshot(path=BRIGHTON_SCREENSHOT)
