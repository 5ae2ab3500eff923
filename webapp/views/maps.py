"""Map pages: one task's orthophoto and elevation models, or all the completed tasks of a project, with Leaflet.

Read-only pages: anyone who may view the task (or its public task or project, with the link) may open them.
"""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from rio_tiler.colormap import cmap

from webapp import storage
from webapp.security import content_security_policy
from webapp.models import Task, TaskStatus
from webapp.services import differences, models3d, plant_health, projects, tasks, tiles
from webapp.services.errors import NotFound

bp = Blueprint("maps", __name__)

# Colour maps offered on the page (the tiles accept any of rio-tiler's); the first is the tiles' default.
OFFERED_COLOR_MAPS = ("viridis", "terrain", "magma", "plasma", "cividis", "turbo", "spectral_r", "rdylgn_r", "jet",
                      "gray")
LEGEND_STOPS = 9
POINT_CLOUD = "odm_georeferencing/odm_georeferenced_model.laz"
LAYER_LABELS = {"orthophoto": "Orthophoto", "dsm": "Surface model (DSM)", "dtm": "Terrain model (DTM)"}


def _login_or_404():
    """An anonymous visitor who may not see a map is sent to log in; a logged-in stranger gets 404."""
    if current_user.is_authenticated:
        raise NotFound()
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _api_task_url(task):
    """The API URL prefix of a task."""
    return f"/api/projects/{task.project_id}/tasks/{task.id}/"


def _map_task(task):
    """What map.js needs of one task: its name, tile layers (TileJSON URLs), camera positions, its 3D page."""
    assets_dir = storage.assets_dir(task.project_id, task.id)
    api = _api_task_url(task)
    has_shots = (assets_dir / "odm_report" / "shots.geojson").is_file()
    layers = tiles.tile_layers(assets_dir)
    # Volumes run as jobs on the server: for logged-in viewers of a task with a DSM (WebODM's measure plugin path).
    can_measure = "dsm" in layers and current_user.is_authenticated
    can_contour = ("dsm" in layers or "dtm" in layers) and current_user.is_authenticated
    return {"id": task.id, "name": task.name or f"Task #{task.id}",
            "layers": {layer: f"{api}{layer}/tiles.json" for layer in layers},
            "shots": f"{api}download/shots.geojson" if has_shots else None,
            "photos": f"{api}images/",
            "volume": f"/api/plugins/measure/task/{task.id}/volume" if can_measure else None,
            "hasDtm": "dtm" in layers, "api": api, "created": task.created_at.isoformat(),
            "contours": f"/api/plugins/contours/task/{task.id}/contours/" if can_contour else None,
            "exports": layers + (["georeferenced_model"] if (assets_dir / POINT_CLOUD).is_file() else []),
            "view3d": url_for("view3d.task_3d", project_id=task.project_id, task_id=task.id)
            if models3d.has_3d(assets_dir) else None}


def _legend_gradients(names=OFFERED_COLOR_MAPS):
    """CSS gradient stops of each offered colour map, for the elevation (or difference) legend."""
    gradients = {}
    for name in names:
        colours = cmap.get(name)
        stops = [colours[round(i * 255 / (LEGEND_STOPS - 1))] for i in range(LEGEND_STOPS)]
        gradients[name] = [f"rgb({r},{g},{b})" for r, g, b, _ in stops]
    return gradients


def _compared_task(task):
    """What the swipe and the DSM difference need of a task the map may compare with: its layers and its date."""
    layers = tiles.tile_layers(storage.assets_dir(task.project_id, task.id))
    api = _api_task_url(task)
    return {"id": task.id, "name": task.name or f"Task #{task.id}", "created": task.created_at.isoformat(),
            "api": api, "layers": {layer: f"{api}{layer}/tiles.json" for layer in layers}}


def _completed_tasks(project):
    """The project's completed tasks, oldest first."""
    return Task.query.filter(Task.project_id == project.id, Task.status == TaskStatus.COMPLETED) \
        .order_by(Task.created_at, Task.id).all()


def _comparable_tasks(project, shown):
    """The tasks a map may compare with: the project's completed tasks with a layer, for those who may view the
    project; only the shown tasks for a public task's visitor."""
    if "view" in projects.project_permissions(current_user, project):
        candidates = _completed_tasks(project)
    else:
        candidates = shown
    return [entry for entry in map(_compared_task, candidates) if entry["layers"]]


def _render_map(title, project, map_tasks, back_url, comparable=()):
    """The map page of some tasks."""
    config = {"tasks": map_tasks, "colorMaps": _legend_gradients(), "layerLabels": LAYER_LABELS,
              "compare": list(comparable), "differenceColorMaps": _legend_gradients(differences.COLOR_MAPS_OFFERED),
              "basemaps": current_app.config["BASEMAPS"],
              "formulas": {name: formula.help for name, formula in plant_health.FORMULAS.items()}}
    available = [layer for layer in LAYER_LABELS if any(layer in task["layers"] for task in map_tasks)]
    page = make_response(render_template("maps/map.html", title=title, project=project, map_tasks=map_tasks,
                                         config=config, back_url=back_url, layer_labels=LAYER_LABELS,
                                         available_layers=available))
    # The base layers' tiles come from their own servers: the page's policy lets images come from there.
    page.headers["Content-Security-Policy"] = content_security_policy(_origins(config["basemaps"]))
    return page


def _origins(basemaps):
    """The scheme://host of each base layer's URL template (relative ones are this server's)."""
    origins = []
    for basemap in basemaps:
        parts = urlsplit(basemap["url"])
        if parts.scheme in ("http", "https") and parts.netloc and "{" not in parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def viewable_task(project_id, task_id):
    """The task that a map or 3D page shows, and the URL back to its task page (None for a public link's visitor).

    Aborts with _login_or_404's answer for who may not see it."""
    try:
        task = tasks.get_task_for(current_user, project_id, task_id, "view", allow_public=True)
    except NotFound:
        abort(_login_or_404())
    can_view_project = "view" in projects.project_permissions(current_user, task.project)
    back_url = url_for("tasks.detail", project_id=project_id, task_id=task_id) \
        if can_view_project and current_user.is_authenticated else None
    return task, back_url


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/map")
def task_map(project_id, task_id):
    """One task's map: orthophoto, surface and terrain models, camera positions, measurements."""
    task, back_url = viewable_task(project_id, task_id)
    return _render_map(task.name or f"Task #{task.id}", task.project, [_map_task(task)], back_url,
                       _comparable_tasks(task.project, [task]))


@bp.route("/projects/<int:project_id>/map")
def project_map(project_id):
    """A project's map: every completed task's layers on one map."""
    try:
        project = projects.get_project_for(current_user, project_id, "view")
    except NotFound:
        return _login_or_404()
    completed = _completed_tasks(project)
    map_tasks = [entry for entry in map(_map_task, completed) if entry["layers"]]
    back_url = url_for("dashboard.index") if current_user.is_authenticated else None
    return _render_map(project.name, project, map_tasks, back_url, _comparable_tasks(project, completed))
