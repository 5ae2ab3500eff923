"""Map tiles of a task's rasters: XYZ tiles, TileJSON, bounds and the orthophoto thumbnail.

Tiles come from the on-disk cache of services.tiles, shared by every web worker process; each answer carries an
ETag, so a browser revalidates with If-None-Match and gets a 304 without the tile being sent again.
"""
from urllib.parse import urlencode

from flask import current_app, request, send_file

from webapp import storage
from webapp.api.blueprint import route
from webapp.api.errors import api_error_response
from webapp.api.helpers import caller, int_arg, json_response
from webapp.services import photos, thumbnails, tile_links, tiles
from webapp.services.errors import ValidationError
from webapp.services.tasks import get_task_for

TASK = "/projects/<int:project_id>/tasks/<int:task_id>"
LAYER = "<layer>"  # orthophoto, dsm or dtm; the tile service answers TileNotFound (404) for others
# Browsers may reuse a tile this long without asking; after that If-None-Match makes the check cheap. Short,
# because a restarted task replaces its rasters under the same URLs.
MAX_AGE = 60
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
STYLE_PARAMETERS = ("formula", "bands", "rescale", "color_map", "hillshade")  # kept in TileJSON tile URLs, as WebODM


def _viewable_task(project_id, task_id):
    """The task if the caller may view it (or it, or its project, is public), else NotFound."""
    return get_task_for(caller(), project_id, task_id, "view", allow_public=True)


def _cache_dir(task, kind):
    """The task's own cache folder of one kind (tiles, thumbnail), beside its assets so all.zip leaves it out."""
    return storage.cache_dir(task.project_id, task.id, kind)


def _flag(name, args=None):
    """A true/false query parameter, or ValidationError naming it."""
    value = (request.args if args is None else args).get(name, "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValidationError(field_errors={name: ["Use true or false."]})


def _is_public(task):
    """Whether anyone may see the task (it, or its project, is public)."""
    return task.public or task.project.public


def _cached_answer(content, media_type, etag, public):
    """An image answer with ETag and Cache-Control; 304 when the client's If-None-Match matches."""
    response = current_app.response_class(content, mimetype=media_type)
    response.set_etag(etag)
    response.cache_control.max_age = MAX_AGE
    # Shared caches may keep tiles only of tasks that anyone may see.
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    return response.make_conditional(request)


def _text(name, args=None):
    """A query parameter, None when absent or empty (WebODM treats empty parameters as absent)."""
    return (request.args if args is None else args).get(name, "").strip() or None


def tile_style(args=None):
    """The TileStyle of the query's color_map, hillshade, formula, bands and rescale (default: this request's)."""
    try:
        rescale = tiles.parse_rescale(_text("rescale", args))
    except tiles.InvalidTileRequest as error:
        raise ValidationError(field_errors={"rescale": [str(error)]}) from error
    return tiles.TileStyle(_text("color_map", args), _flag("hillshade", args), _text("formula", args),
                           _text("bands", args), rescale)


def _tile_access(project_id, task_id):
    """(project id, task id, public) of a task whose tiles the caller may see: from a signature the fast path
    checked (no database), else from the task the caller may view (NotFound otherwise)."""
    grant = request.environ.get(tile_links.ENVIRON_KEY)
    if grant is not None and (grant.project_id, grant.task_id) == (project_id, task_id):
        return grant
    task = _viewable_task(project_id, task_id)
    return tile_links.TileGrant(task.project_id, task.id, _is_public(task))


def _tile(project_id, task_id, layer, z, x, y, scale, fmt):
    """One XYZ tile of a layer through the cache; 404 outside the raster, 400 for a bad parameter."""
    access = _tile_access(project_id, task_id)
    style = tile_style()
    try:
        tile = tiles.cached_tile(storage.cache_dir(access.project_id, access.task_id, "tiles"),
                                 storage.assets_dir(access.project_id, access.task_id), layer, z, x, y, scale=scale,
                                 fmt=fmt, style=style)
    except tiles.TileNotFound:
        return api_error_response(404)
    except tiles.InvalidTileRequest as error:
        return api_error_response(400, detail=str(error))
    return _cached_answer(tile.content, tile.media_type, tile.etag, access.public)


@route(f"{TASK}/{LAYER}/tiles/<int:z>/<int:x>/<int:y>.<fmt>", methods=["GET"])
def tile(project_id, task_id, layer, z, x, y, fmt):
    """A 256 px XYZ tile (png, jpg, webp) of the orthophoto, DSM or DTM; DEMs take color_map and hillshade."""
    return _tile(project_id, task_id, layer, z, x, y, 1, fmt)


@route(f"{TASK}/{LAYER}/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", methods=["GET"])
def tile_scaled(project_id, task_id, layer, z, x, y, scale, fmt):
    """A high-resolution (@2x: 512 px) XYZ tile."""
    return _tile(project_id, task_id, layer, z, x, y, scale, fmt)


@route(f"{TASK}/tiles/<int:z>/<int:x>/<int:y>.<fmt>", methods=["GET"])
def orthophoto_tile(project_id, task_id, z, x, y, fmt):
    """The seed's older path of the orthophoto's tiles."""
    return _tile(project_id, task_id, "orthophoto", z, x, y, 1, fmt)


@route(f"{TASK}/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", methods=["GET"])
def orthophoto_tile_scaled(project_id, task_id, z, x, y, scale, fmt):
    """The seed's older path of the orthophoto's high-resolution tiles."""
    return _tile(project_id, task_id, "orthophoto", z, x, y, scale, fmt)


def _tile_url(task, layer):
    """The layer's tile URL template, keeping this request's style parameters (checked first), signed so that
    its tiles are let in without the database (webapp.services.tile_links)."""
    style = tile_style()
    if style.color_map and style.color_map.lower() not in tiles.color_map_names():
        raise ValidationError(field_errors={"color_map": [f"Unknown colour map {style.color_map!r}."]})
    template = f"{request.host_url}api/projects/{task.project_id}/tasks/{task.id}/{layer}/tiles/{{z}}/{{x}}/{{y}}.png"
    query = {key: request.args[key] for key in STYLE_PARAMETERS if _text(key)}
    expires = tile_links.expiry(current_app.config["TILE_LINK_SECONDS"])
    query[tile_links.PARAMETER] = tile_links.sign(tile_links.link_key(current_app.config["SECRET_KEY"]),
                                                  task.project_id, task.id, layer, _is_public(task), expires)
    return template + "?" + urlencode(query)


def _tilejson(project_id, task_id, layer):
    """The layer's TileJSON, its tile URL keeping this request's style parameters; None when the layer is absent."""
    task = _viewable_task(project_id, task_id)
    template = _tile_url(task, layer)
    try:
        return tiles.tilejson(storage.assets_dir(task.project_id, task.id), layer, template)
    except tiles.TileNotFound:
        return None


def _value_range():
    """The metadata's `range` parameter ("low,high"), or None."""
    try:
        return tiles.parse_rescale(_text("range"))
    except tiles.InvalidTileRequest as error:
        raise ValidationError(field_errors={"range": [str(error)]}) from error


@route(f"{TASK}/{LAYER}/metadata", methods=["GET"])
def metadata(project_id, task_id, layer):
    """WebODM's raster metadata: statistics per band with a histogram, and the formulas and colour maps on offer."""
    task = _viewable_task(project_id, task_id)
    template = _tile_url(task, layer)
    try:
        document = tiles.metadata(storage.assets_dir(task.project_id, task.id), layer, _text("formula"),
                                  _text("bands"), _value_range())
    except tiles.TileNotFound:
        return api_error_response(404)
    document.update({"name": task.name, "scheme": "xyz", "tiles": [template]})
    return json_response(document)


@route(f"{TASK}/{LAYER}/tiles.json", methods=["GET"])
def tilejson(project_id, task_id, layer):
    """TileJSON 2.1.0 of a layer: tile URL, bounds, zoom range; DEMs add statistics (min, max) for a legend."""
    document = _tilejson(project_id, task_id, layer)
    if document is None:
        return api_error_response(404)
    return json_response(document)


@route(f"{TASK}/{LAYER}/bounds", methods=["GET"])
def bounds(project_id, task_id, layer):
    """The layer's extent in WGS84: {"bounds": [west, south, east, north]}."""
    document = _tilejson(project_id, task_id, layer)
    if document is None:
        return api_error_response(404)
    return json_response({"bounds": document["bounds"]})


@route(f"{TASK}/thumbnail.png", methods=["GET"])
def thumbnail(project_id, task_id):
    """A small PNG of the orthophoto (?size= px on the longer side, default 256); 404 without an orthophoto."""
    task = _viewable_task(project_id, task_id)
    size = int_arg("size", thumbnails.DEFAULT_SIZE, minimum=16)
    if size > thumbnails.MAX_SIZE:
        raise ValidationError(field_errors={"size": [f"Use at most {thumbnails.MAX_SIZE}."]})
    try:
        image = thumbnails.thumbnail(_cache_dir(task, "thumbnail"), storage.assets_dir(task.project_id, task.id),
                                     size)
    except tiles.TileNotFound:
        return api_error_response(404)
    return _cached_answer(image.content, thumbnails.MEDIA_TYPE, image.etag, _is_public(task))


@route(f"{TASK}/images/thumbnail/<path:filename>", methods=["GET"])
def photo_thumbnail(project_id, task_id, filename):
    """A JPEG thumbnail of one of the task's photos (?size= px on the longer side, default 512), made once."""
    task = _viewable_task(project_id, task_id)
    size = int_arg("size", photos.DEFAULT_SIZE, minimum=16)
    if size > photos.MAX_SIZE:
        raise ValidationError(field_errors={"size": [f"Use at most {photos.MAX_SIZE}."]})
    image = photos.thumbnail(task.project_id, task.id, filename, size)
    return _cached_answer(image.content, photos.MEDIA_TYPE, image.etag, _is_public(task))


@route(f"{TASK}/images/download/<path:filename>", methods=["GET"])
def photo_download(project_id, task_id, filename):
    """One of the task's photos, as it was uploaded, as an attachment."""
    task = _viewable_task(project_id, task_id)
    path = photos.photo_path(task.project_id, task.id, filename)
    return send_file(path, as_attachment=True, download_name=path.name)
