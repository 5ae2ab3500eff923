"""The 3D page of a task: its point cloud, textured model and cameras, drawn by three.js (static/js/view3d.js).

Read-only like the map: anyone who may view the task (or its public task or project, with the link) may open it.
"""
import base64
import hashlib
import json

from flask import Blueprint, render_template, url_for

from webapp import storage
from webapp.security import CONTENT_SECURITY_POLICY
from webapp.services import models3d, tiles
from webapp.views.maps import viewable_task
from webapp.views.vendor import LIBRARIES

bp = Blueprint("view3d", __name__)


def _import_map():
    """The import map that lets the page's module and three.js's add-ons import "three" by name."""
    return json.dumps({"imports": {
        "three": url_for("vendor.file", library="three", filename="build/three.module.js"),
        "three/addons/": url_for("vendor.file", library="three", filename="examples/jsm/")}})


def _policy_for(import_map):
    """The app's CSP, letting this one inline import map run (by its hash; no other inline script may) and
    three.js's loader fetch the model's textures from blob: URLs."""
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    return (CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' 'sha256-{digest}'")
            .replace("connect-src 'self'", "connect-src 'self' blob:"))


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/3d")
def task_3d(project_id, task_id):
    """One task's 3D view: point cloud, textured model, camera frusta, distance measurement."""
    task, back_url = viewable_task(project_id, task_id)
    api = f"/api/projects/{task.project_id}/tasks/{task.id}/3d/"
    config = {"scene": f"{api}scene.json", "points": f"{api}points.bin", "model": f"{api}model.glb"}
    import_map = _import_map()
    assets_dir = storage.assets_dir(task.project_id, task.id)
    page = render_template("view3d/view.html", title=task.name or f"Task #{task.id}", task=task, config=config,
                           has_3d=models3d.has_3d(assets_dir), has_map=bool(tiles.tile_layers(assets_dir)),
                           renderer_missing=not (LIBRARIES["three"] / "build" / "three.module.js").is_file(),
                           back_url=back_url, import_map=import_map,
                           map_url=url_for("maps.task_map", project_id=project_id, task_id=task_id))
    return page, 200, {"Content-Security-Policy": _policy_for(import_map)}
