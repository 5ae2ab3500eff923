"""The 3D page's data of a task: scene.json (origin, bounds, cameras), points.bin (the point cloud) and model.glb
(the textured model), made once when the results were extracted (see services/models3d.py)."""
from flask import send_file

from webapp import storage
from webapp.api.blueprint import route
from webapp.api.helpers import caller
from webapp.api.errors import api_error_response
from webapp.services import models3d
from webapp.services.tasks import get_task_for

TASK = "/projects/<int:project_id>/tasks/<int:task_id>"
MEDIA_TYPES = {models3d.SCENE_JSON: "application/json", models3d.POINTS_BIN: "application/octet-stream",
               models3d.MODEL_GLB: "model/gltf-binary"}
MAX_AGE = 60  # short: a restarted task replaces these files under the same URLs (ETags make the check cheap)


@route(f"{TASK}/3d/<name>", methods=["GET"])
def view3d_file(project_id, task_id, name):
    """One file of a task's 3D view, to anyone who may view the task (or its public task or project)."""
    task = get_task_for(caller(), project_id, task_id, "view", allow_public=True)
    path = models3d.file_for(storage.assets_dir(task.project_id, task.id), name)
    if path is None:
        return api_error_response(404, detail="This task has no such 3D file.")
    response = send_file(path, mimetype=MEDIA_TYPES[name], conditional=True, max_age=MAX_AGE)
    if not (task.public or task.project.public):
        response.cache_control.public = False
        response.cache_control.private = True
    return response
