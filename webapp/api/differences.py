"""The change between two tasks of a project on the map: the later task's DSM minus an earlier task's, as TileJSON
and XYZ tiles through a diverging colour map, and the volume gained and lost inside a polygon.

The task in the path is the later one, <earlier_id> the earlier one; the caller must be able to view both (404
otherwise, as for any task), and both must be of one project and have a DSM (400 otherwise).
"""
from urllib.parse import urlencode

from flask import current_app, request

from webapp import storage
from webapp.api.auth import login_required
from webapp.api.blueprint import route
from webapp.api.errors import api_error_response
from webapp.api.helpers import caller, json_response, request_data
from webapp.api.maptools import geojson_field
from webapp.services import differences, tiles, volumes, workers
from webapp.services.tasks import get_task_for

DIFFERENCE = "/projects/<int:project_id>/tasks/<int:task_id>/difference/<int:earlier_id>"
MAX_AGE = 60  # as the other tiles: a restarted task replaces its DSM under the same URLs
STYLE_PARAMETERS = ("color_map", "rescale")


def _pair(project_id, task_id, earlier_id):
    """The later task and the checked pair of DSMs (NotFound unless the caller may view both tasks)."""
    later = get_task_for(caller(), project_id, task_id, "view", allow_public=True)
    earlier = workers.viewable_task(caller(), earlier_id)
    return later, differences.check_pair(later, earlier)


def _style():
    """The request's colour map and rescale range (ValidationError for bad ones)."""
    return differences.check_style(request.args.get("color_map", "").strip() or None,
                                   request.args.get("rescale", "").strip() or None)


@route(f"{DIFFERENCE}/tiles.json", methods=["GET"])
def difference_tilejson(project_id, task_id, earlier_id):
    """TileJSON of the DSM difference (later minus earlier) with its statistics and the legend's starting range."""
    task, pair = _pair(project_id, task_id, earlier_id)
    _style()
    query = {key: request.args[key] for key in STYLE_PARAMETERS if request.args.get(key, "").strip()}
    template = (f"{request.host_url}api/projects/{task.project_id}/tasks/{task.id}/difference/{earlier_id}"
                f"/tiles/{{z}}/{{x}}/{{y}}.png" + ("?" + urlencode(query) if query else ""))
    return json_response(differences.tilejson(pair, template))


@route(f"{DIFFERENCE}/tiles/<int:z>/<int:x>/<int:y>.<fmt>", methods=["GET"], defaults={"scale": 1})
@route(f"{DIFFERENCE}/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", methods=["GET"])
def difference_tile(project_id, task_id, earlier_id, z, x, y, scale, fmt):
    """A tile (png, webp; 256 px, or 512 px @2x) of the DSM difference; takes color_map (default rdbu) and rescale
    (low,high in metres, default -1,1)."""
    task, pair = _pair(project_id, task_id, earlier_id)
    color_map, rescale = _style()
    try:
        tile = differences.cached_tile(storage.cache_dir(task.project_id, task.id, "difference"), pair, earlier_id,
                                       z, x, y, scale, fmt, color_map, rescale)
    except tiles.TileNotFound:
        return api_error_response(404)
    except tiles.InvalidTileRequest as error:
        return api_error_response(400, detail=str(error))
    response = current_app.response_class(tile.content, mimetype=tile.media_type)
    response.set_etag(tile.etag)
    response.cache_control.max_age = MAX_AGE
    response.cache_control.private = True
    return response.make_conditional(request)


@route(f"{DIFFERENCE}/volume", methods=["POST"])
@login_required
def difference_volume(project_id, task_id, earlier_id):
    """The volume gained, lost and net (m3) inside a polygon (`area`, GeoJSON in WGS84) between the two DSMs,
    with the polygon's area and the areas measured and missing (m2); for logged-in users, as the other volumes
    (it reads both models at full resolution)."""
    _, pair = _pair(project_id, task_id, earlier_id)
    ring = volumes.parse_area(geojson_field(request_data(), "area"))
    return json_response(differences.volume_change(pair, ring))
