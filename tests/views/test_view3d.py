"""The 3D page: linked from the task's page and its map only when the task has something to show in 3D; its page
says so otherwise; its Content-Security-Policy lets only its own import map run inline."""
import base64
import hashlib
import re

import pytest

from tests.support import maps
from tests.support.models3d import write_point_cloud
from tests.support.factories import add_user
from tests.support.web import signed_in
from webapp import storage
from webapp.services import models3d, projects


@pytest.fixture
def project(app):
    """Olga's project with two completed tasks with an orthophoto: one with a point cloud too."""
    project = projects.create_project(add_user("olga"), "Quarry", "")
    with_cloud = maps.completed_task(project, name="With cloud")
    folder = storage.assets_dir(project.id, with_cloud.id)
    write_point_cloud(folder / models3d.POINT_CLOUD, points_per_side=4)
    models3d.prepare(folder)
    maps.completed_task(project, name="Flat")
    return project


def test_the_task_page_and_the_maps_link_to_the_3d_page_only_of_a_task_with_3d(app, project):
    client = signed_in(app, "olga")
    shown, flat = sorted(project.tasks, key=lambda t: t.id)
    for task, linked in ((shown, True), (flat, False)):
        link = f'href="/projects/{project.id}/tasks/{task.id}/3d"'
        assert (link in client.get(f"/projects/{project.id}/tasks/{task.id}/").get_data(as_text=True)) == linked
        assert (link in client.get(f"/projects/{project.id}/tasks/{task.id}/map").get_data(as_text=True)) == linked
    project_map = client.get(f"/projects/{project.id}/map").get_data(as_text=True)
    assert f'href="/projects/{project.id}/tasks/{shown.id}/3d"' in project_map
    assert f"/tasks/{flat.id}/3d" not in project_map


def test_a_task_without_3d_results_gets_a_page_that_says_so(app, project):
    flat = max(project.tasks, key=lambda t: t.id)
    page = signed_in(app, "olga").get(f"/projects/{project.id}/tasks/{flat.id}/3d").get_data(as_text=True)
    assert "Nothing to show in 3D" in page and "importmap" not in page and "view3d.js" not in page


def test_only_the_pages_import_map_may_run_inline(app, project):
    shown = min(project.tasks, key=lambda t: t.id)
    response = signed_in(app, "olga").get(f"/projects/{project.id}/tasks/{shown.id}/3d")
    import_map = re.search(r'<script type="importmap">(.*?)</script>', response.get_data(as_text=True)).group(1)
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["connect-src"] == "'self' blob:" and policy["object-src"] == "'none'"
    assert '"three": "/vendor/three/build/three.module.js"' in import_map


def test_a_server_without_three_js_says_how_to_get_it(app, project, monkeypatch, tmp_path):
    from webapp.views import vendor
    monkeypatch.setitem(vendor.LIBRARIES, "three", tmp_path / "not-fetched")
    shown = min(project.tasks, key=lambda t: t.id)
    page = signed_in(app, "olga").get(f"/projects/{project.id}/tasks/{shown.id}/3d").get_data(as_text=True)
    assert "The 3D renderer (three.js) is not installed" in page and "make vendor" in page
