"""Map tools over the API, in WebODM's shapes: the volume measurement (its measure plugin's paths) and the
/api/workers/check|get answers of the background jobs they start."""
import json
from pathlib import Path

from flask import request, send_file

from webapp import queue, storage
from webapp.api.blueprint import route
from webapp.api.auth import login_required
from webapp.api.errors import api_error_response
from webapp.api.helpers import caller, json_response, request_data
from webapp.services import contours, exports, profiles, tiles, volumes, workers
from webapp.services.errors import ValidationError
from webapp.services.tasks import get_task_for
from webapp.services.tiles import LAYER_FILES

VOLUME = "/plugins/measure/task/<int:task_id>/volume"
TASK = "/projects/<int:project_id>/tasks/<int:task_id>"
CONTOURS = "/plugins/contours/task/<int:task_id>/contours"


def geojson_field(data, name):
    """A GeoJSON field, sent as JSON or as a JSON string in a form (as WebODM's page sends `area`)."""
    value = data.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError(field_errors={name: ["Send it as GeoJSON."]}) from None
    if value is None:
        raise ValidationError(field_errors={name: ["This field is required."]})
    return value


def _started(job_name, task, *job_args, filename=None):
    """Start a map tool's job on the task and answer as WebODM does: {"celery_task_id"} (and the file's name)."""
    try:
        job_id = workers.start(job_name, task, task.project_id, task.id, *job_args)
    except workers.QueueUnavailable as error:
        return api_error_response(503, detail=error.message)
    return json_response({"celery_task_id": job_id, **({"filename": filename} if filename else {})})


@route(VOLUME, methods=["POST"])
@login_required
def start_volume(task_id):
    """Measure cut, fill and net volume inside a polygon from the task's DSM; answers {"celery_task_id": id}."""
    task = workers.viewable_task(caller(), task_id)
    data = request_data()
    ring = volumes.parse_area(geojson_field(data, "area"))
    method, base_height = volumes.check_method(data.get("method"), data.get("base_height"))
    assets = storage.assets_dir(task.project_id, task.id)
    if not (assets / LAYER_FILES["dsm"]).is_file():
        raise ValidationError("This task has no surface model (DSM): restart it with the dsm option to measure "
                              "volumes.")
    if method == "dtm" and not (assets / LAYER_FILES["dtm"]).is_file():
        raise ValidationError(field_errors={"method": ["This task has no terrain model (DTM)."]})
    return _started(queue.MEASURE_VOLUME, task, ring, method, base_height)


@route(f"{VOLUME}/get/<job_id>", methods=["GET"])
def volume_result(task_id, job_id):
    """The volume job's answer: {"output": |net volume| in m3, "volume": {cut, fill, net, area, base, ...}}."""
    job = workers.job_for(caller(), job_id, task_id=task_id)
    return json_response(workers.result(job))


@route(f"{TASK}/<asset_type>/export", methods=["POST"])
@login_required
def export(project_id, task_id, asset_type):
    """WebODM's export of the orthophoto, a DEM or the point cloud: {"url", "filename"} when the file exists as
    asked, else {"celery_task_id", "filename"} of a job (GeoTIFF, PNG/JPEG with world file, KMZ; LAS/LAZ/PLY/CSV)."""
    task = get_task_for(caller(), project_id, task_id, "view", allow_public=True)
    assets = storage.assets_dir(task.project_id, task.id)
    try:
        export_request = exports.check_request(asset_type, request_data(), assets)
    except tiles.TileNotFound:
        return api_error_response(404)
    except tiles.InvalidTileRequest as error:
        raise ValidationError(field_errors={"rescale": [str(error)]}) from error
    name = exports.file_name(task, export_request)
    url = exports.ready_download(task, export_request, assets)
    if url:
        return json_response({"url": url, "filename": name})
    return _started(queue.EXPORT_ASSET, task, tuple(export_request), name, filename=name)


@route(f"{CONTOURS}/generate", methods=["POST"])
@login_required
def generate_contours(task_id):
    """Contour lines of the DSM or DTM (WebODM's contours plugin): layer, interval, simplify, format (GPKG, DXF,
    GeoJSON, ESRI Shapefile as a zip), epsg; answers {"celery_task_id": id}, the file then comes from
    .../contours/download/<id>; 400 for an interval that makes more than 1000 levels."""
    task = workers.viewable_task(caller(), task_id)
    contour_request = contours.check_request(request_data(), storage.assets_dir(task.project_id, task.id))
    name = contours.file_name(task, contour_request)
    return _started(queue.MAKE_CONTOURS, task, tuple(contour_request), name, filename=name)


@route(f"{CONTOURS}/download/<job_id>", methods=["GET"])
def download_contours(task_id, job_id):
    """The contours job's file (or {"error"} / {"error": "Task not ready"}), as /api/workers/get answers."""
    return _job_answer(workers.job_for(caller(), job_id, task_id=task_id))


@route("/workers/check/<job_id>", methods=["GET"])
def check_job(job_id):
    """Whether a background job is done: {"ready": false} while it runs, then {"ready": true} (or with "error")."""
    return json_response(workers.check(workers.job_for(caller(), job_id)))


@route("/workers/get/<job_id>", methods=["GET"])
def job_result(job_id):
    """A finished job's result: its file as an attachment (?filename= names it), or {"output": value}."""
    return _job_answer(workers.job_for(caller(), job_id))


def _job_answer(job):
    """A finished job's file as an attachment, or its JSON answer."""
    answer = workers.result(job)
    if "file" not in answer:
        return json_response(answer)
    path = Path(answer["file"])
    if not path.is_file():
        return api_error_response(404)
    name = Path(request.args.get("filename") or answer.get("filename") or path.name).name
    return send_file(path, as_attachment=True, download_name=name)


@route(f"{TASK}/profile", methods=["POST"])
def elevation_profile(project_id, task_id):
    """Heights of the DSM and DTM along a line: {length, distance, points, dsm, dtm} (samples: 2-2000, 200)."""
    task = get_task_for(caller(), project_id, task_id, "view", allow_public=True)
    data = request_data()
    points = profiles.parse_line(geojson_field(data, "line"))
    samples = profiles.check_samples(data.get("samples"))
    return json_response(profiles.profile(storage.assets_dir(task.project_id, task.id), points, samples))
