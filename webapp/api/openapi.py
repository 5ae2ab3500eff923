"""The OpenAPI 3 description of the API, written as data and served at /api/openapi.json.

A test checks that every route of the api blueprint is described here, and that nothing else is.
"""
from webapp.api.blueprint import route
from webapp.api.helpers import json_response


def _ref(name):
    """A reference to a schema of components."""
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    """A JSON response with a schema."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("ValidationError"), "Bad input: {field: [messages]} or {detail}"),
    "403": _json(_ref("Error"), "No or bad credentials, a missing CSRF header, or an administrators' endpoint"),
    "404": _json(_ref("Error"), "Not found, or not the caller's to see or change"),
}


def _op(summary, responses, parameters=(), body=None, tags=()):
    """One operation with the common error answers."""
    operation = {"summary": summary, "tags": list(tags), "responses": {**responses, **ERRORS}}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _param(name, where="path", schema_type="integer", description="", required=None):
    """A path or query parameter."""
    return {"name": name, "in": where, "required": where == "path" if required is None else required,
            "schema": {"type": schema_type}, "description": description}


def _form_body(properties, required=(), multipart=False):
    """A request body taken as JSON or a form (multipart when files are sent)."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    kinds = ["multipart/form-data"] if multipart else ["application/json", "application/x-www-form-urlencoded",
                                                         "multipart/form-data"]
    return {"required": bool(required), "content": {kind: {"schema": schema} for kind in kinds}}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
FILE = {"type": "string", "format": "binary"}
NULLABLE_INT = {"type": "integer", "nullable": True}
NULLABLE_STRING = {"type": "string", "nullable": True}
PERMISSION_LIST = {"type": "array", "items": {"type": "string", "enum": ["view", "add", "change", "delete"]}}
OPTIONS = {"type": "array", "items": {"type": "object", "properties": {"name": STRING, "value": {}}}}
SUCCESS = _json({"type": "object", "properties": {"success": BOOLEAN}})
NO_CONTENT = {"204": {"description": "Done"}}

PROJECT, TASK, NODE = _param("project_id"), _param("task_id"), _param("node_id")
ORDERING = _param("ordering", "query", "string", "field or -field, comma-separated")
TASK_TAGS, PROJECT_TAGS, NODE_TAGS, AUTH_TAGS = ("tasks",), ("projects",), ("processing nodes",), ("auth",)

TASK_FIELDS = {
    "id": INTEGER, "project": INTEGER, "processing_node": NULLABLE_INT, "images_count": INTEGER, "uuid": STRING,
    "name": STRING, "processing_time": INTEGER, "auto_processing_node": BOOLEAN,
    "status": {"type": "integer", "nullable": True, "enum": [10, 20, 30, 40, 50, None]},
    "last_error": NULLABLE_STRING, "options": OPTIONS, "ground_control_points": NULLABLE_STRING,
    "created_at": {"type": "string", "format": "date-time"},
    "pending_action": {"type": "integer", "nullable": True, "enum": [1, 2, 3, None]},
    "processing_node_name": NULLABLE_STRING, "available_assets": {"type": "array", "items": STRING},
    "upload_progress": {"type": "number"}, "running_progress": {"type": "number"}, "partial": BOOLEAN,
    "public": BOOLEAN, "size": {"type": "number", "description": "MB"},
}

TAGS = {"type": "string", "description": "words separated by spaces (letters, digits, - _ .), as WebODM's"}

SCHEMAS = {
    "Error": {"type": "object", "properties": {"detail": STRING}},
    "ValidationError": {"type": "object", "additionalProperties": {
        "oneOf": [STRING, {"type": "array", "items": STRING}]}},
    "Project": {"type": "object", "properties": {
        "id": INTEGER, "name": STRING, "description": STRING, "created_at": {"type": "string", "format": "date-time"},
        "owner": STRING, "tasks": {"type": "array", "items": INTEGER}, "permissions": PERMISSION_LIST,
        "owned": BOOLEAN, "public": BOOLEAN, "tags": TAGS}},
    "ProjectPage": {"type": "object", "properties": {
        "count": INTEGER, "next": NULLABLE_STRING, "previous": NULLABLE_STRING,
        "results": {"type": "array", "items": _ref("Project")}}},
    "Sharing": {"type": "array", "description": "users ({username, owner, permissions}), then groups "
                                                "({groupname, permissions}), as WebODM's",
                "items": {"type": "object", "properties": {
                    "username": STRING, "owner": BOOLEAN, "groupname": STRING, "permissions": PERMISSION_LIST}}},
    "Group": {"type": "object", "properties": {
        "id": INTEGER, "name": STRING, "members": {"type": "array", "items": STRING, "description": "usernames"}}},
    "Task": {"type": "object", "properties": TASK_FIELDS, "required": list(TASK_FIELDS)},
    "ProcessingNode": {"type": "object", "properties": {
        "id": INTEGER, "hostname": STRING, "port": INTEGER, "label": STRING, "online": BOOLEAN,
        "api_version": STRING, "engine": STRING, "engine_version": STRING, "queue_count": INTEGER,
        "max_images": NULLABLE_INT, "last_refreshed": {"type": "string", "format": "date-time", "nullable": True},
        "available_options": {"type": "array", "items": {"type": "object"}},
        "token": {"type": "string", "description": "administrators only"}}},
    "Preset": {"type": "object", "properties": {
        "id": INTEGER, "name": STRING, "options": {"type": "array", "items": {"type": "object", "properties": {
            "name": STRING, "value": {}}}},
        "created_at": {"type": "string", "format": "date-time"}, "system": BOOLEAN}},
    "ApiToken": {"type": "object", "properties": {
        "id": INTEGER, "name": STRING, "prefix": STRING, "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
        "token": {"type": "string", "description": "the secret, in the creation answer only"}}},
    "Uploaded": {"type": "object", "properties": {
        "success": BOOLEAN, "uploaded": {"type": "object", "additionalProperties": INTEGER}}},
    "UploadState": {"type": "object", "properties": {
        "uploaded": {"type": "object", "additionalProperties": INTEGER,
                     "description": "complete files: {file name: bytes}"},
        "in_progress": {"type": "object", "description": "unfinished chunked uploads by dzuuid",
                        "additionalProperties": {"type": "object", "properties": {
                            "filename": STRING, "received_chunks": {"type": "array", "items": INTEGER},
                            "total_chunks": INTEGER, "total_size": INTEGER,
                            "chunk_size": {**NULLABLE_INT, "description": "bytes of every chunk but the last; "
                                           "null until one of them arrived"}}}}}},
}

TASK_WRITE = {"name": STRING, "processing_node": NULLABLE_INT, "auto_processing_node": BOOLEAN,
              "options": {"type": "string", "description": "JSON array of {name, value} (or an array in JSON)"},
              "public": BOOLEAN,
              "project": {"type": "integer", "description": "move the task into this project (one the caller may "
                                                            "change; 404 otherwise); not while it is processed"}}
CHUNK_FIELDS = {"dzuuid": STRING, "dzchunkindex": INTEGER, "dztotalchunkcount": INTEGER,
                "dzchunkbyteoffset": INTEGER, "dztotalfilesize": INTEGER}
T = "/api/projects/{project_id}/tasks/{task_id}"
PRESET = _param("preset_id")
PRESET_TAGS = ("presets",)
PRESET_WRITE = {"name": STRING, "options": TASK_WRITE["options"]}
MAP_TAGS = ("maps",)
GROUP, GROUP_TAGS = _param("group_id"), ("groups",)
GROUP_WRITE = {"name": STRING, "members": {"type": "array", "items": STRING,
                                           "description": "usernames (a JSON string in a form)"}}
LAYER_PARAM = {**_param("layer", schema_type="string", description="orthophoto, dsm or dtm"),
               "schema": {"type": "string", "enum": ["orthophoto", "dsm", "dtm"]}}
SCALE_PARAM = _param("scale", description="2 for 512 px tiles")
EARLIER_PARAM = _param("earlier_id", description="the earlier task (same project, with a DSM): the difference is this "
                       "task's DSM minus its")
DIFFERENCE_STYLE = (_param("color_map", "query", "string", "a diverging rio-tiler colour map (default rdbu: red lost, "
                                                           "blue gained)"),
                    _param("rescale", "query", "string", "low,high in metres (default -1,1)"))

PATHS = {
    "/api/openapi.json": {"get": _op("This description", {"200": _json({"type": "object"})})},
    "/api/token-auth/": {"post": _op(
        "A JWT for a username and password (rate-limited)",
        {"200": _json({"type": "object", "properties": {"token": STRING}}),
         "429": _json(_ref("Error"), "Too many failed logins")},
        body=_form_body({"username": STRING, "password": STRING}, ["username", "password"]), tags=AUTH_TAGS)},
    "/api/tokens/": {
        "get": _op("The caller's named API tokens", {"200": _json({"type": "array", "items": _ref("ApiToken")})},
                   tags=AUTH_TAGS),
        "post": _op("Create a named API token", {"201": _json(_ref("ApiToken"))},
                    body=_form_body({"name": STRING}, ["name"]), tags=AUTH_TAGS)},
    "/api/tokens/{token_id}/": {"delete": _op("Revoke an API token", NO_CONTENT, [_param("token_id")],
                                              tags=AUTH_TAGS)},
    "/api/groups/": {"get": _op(
        "Every group's name and id (to share a project with it)",
        {"200": _json({"type": "array", "items": {"type": "object", "properties": {"name": STRING, "id": INTEGER}}})},
        [_param("search", "query", "string", "names starting with this"), _param("limit", "query")],
        tags=GROUP_TAGS)},
    "/api/admin/groups/": {
        "get": _op("Every group with its members (administrators)",
                   {"200": _json({"type": "array", "items": _ref("Group")})},
                   [_param("name", "query", "string", "only the group with this exact name")], tags=GROUP_TAGS),
        "post": _op("Create a group (administrators)", {"201": _json(_ref("Group"))},
                    body=_form_body(GROUP_WRITE, ["name"]), tags=GROUP_TAGS)},
    "/api/admin/groups/{group_id}/": {
        "get": _op("A group with its members (administrators)", {"200": _json(_ref("Group"))}, [GROUP],
                   tags=GROUP_TAGS),
        "patch": _op("Rename a group or replace its members (administrators)", {"200": _json(_ref("Group"))},
                     [GROUP], _form_body(GROUP_WRITE), tags=GROUP_TAGS),
        "put": _op("Rename a group and replace its members if given (administrators)",
                   {"200": _json(_ref("Group"))}, [GROUP], _form_body(GROUP_WRITE, ["name"]), tags=GROUP_TAGS),
        "delete": _op("Delete a group: its members lose what it gave them (administrators)", NO_CONTENT, [GROUP],
                      tags=GROUP_TAGS)},
    "/api/presets/": {
        "get": _op("The system presets, then the caller's own",
                   {"200": _json({"type": "array", "items": _ref("Preset")})}, tags=PRESET_TAGS),
        "post": _op("Create a preset", {"201": _json(_ref("Preset"))}, body=_form_body(PRESET_WRITE, ["name"]),
                    tags=PRESET_TAGS)},
    "/api/presets/{preset_id}/": {
        "get": _op("A system preset or one of the caller's", {"200": _json(_ref("Preset"))}, [PRESET],
                   tags=PRESET_TAGS),
        "patch": _op("Change one of the caller's presets (403 for a system preset)", {"200": _json(_ref("Preset"))},
                     [PRESET], _form_body(PRESET_WRITE), tags=PRESET_TAGS),
        "put": _op("Change one of the caller's presets (403 for a system preset)", {"200": _json(_ref("Preset"))},
                   [PRESET], _form_body(PRESET_WRITE), tags=PRESET_TAGS),
        "delete": _op("Delete one of the caller's presets (403 for a system preset)", NO_CONTENT, [PRESET],
                      tags=PRESET_TAGS)},
    "/api/projects/": {
        "get": _op("Projects the caller can view (an array, or a page with ?page=)",
                   {"200": _json({"oneOf": [{"type": "array", "items": _ref("Project")}, _ref("ProjectPage")]})},
                   [_param("name", "query", "string"),
                    _param("search", "query", "string", "text in the name or description; #word: a tag"), ORDERING,
                    _param("page", "query"), _param("page_size", "query")], tags=PROJECT_TAGS),
        "post": _op("Create a project", {"201": _json(_ref("Project"))},
                    body=_form_body({"name": STRING, "description": STRING, "tags": TAGS}, ["name"]),
                    tags=PROJECT_TAGS)},
    "/api/projects/{project_id}/": {
        "get": _op("A project", {"200": _json(_ref("Project"))}, [PROJECT], tags=PROJECT_TAGS),
        "patch": _op("Change a project", {"200": _json(_ref("Project"))}, [PROJECT],
                     _form_body({"name": STRING, "description": STRING, "public": BOOLEAN, "tags": TAGS}),
                   tags=PROJECT_TAGS),
        "put": _op("Change a project", {"200": _json(_ref("Project"))}, [PROJECT],
                   _form_body({"name": STRING, "description": STRING, "public": BOOLEAN, "tags": TAGS}),
                     tags=PROJECT_TAGS),
        "delete": _op("Delete a project (owner), or drop one's access to it (a user it was shared with)",
                      NO_CONTENT, [PROJECT], tags=PROJECT_TAGS)},
    "/api/projects/{project_id}/permissions/": {"get": _op(
        "Who may do what with the project", {"200": _json(_ref("Sharing"))}, [PROJECT], tags=PROJECT_TAGS)},
    "/api/projects/{project_id}/edit/": {"post": _op(
        "Change name and description and replace the sharing list", {"200": _json(_ref("Project"))}, [PROJECT],
        _form_body({"name": STRING, "description": STRING, "permissions": _ref("Sharing")}), tags=PROJECT_TAGS)},
    "/api/projects/{project_id}/tasks/": {
        "get": _op("The project's tasks", {"200": _json({"type": "array", "items": _ref("Task")})},
                   [PROJECT, _param("status", "query"), ORDERING], tags=TASK_TAGS),
        "post": _op("Create a task with at least 2 images (queued at once), or an empty one with partial=true",
                    {"201": _json(_ref("Task")), "413": _json(_ref("Error"), "Upload over the limit")}, [PROJECT],
                    _form_body({"images": {"type": "array", "items": FILE}, "images[]": {"type": "array",
                                "items": FILE}, "partial": BOOLEAN, **TASK_WRITE}, multipart=True), tags=TASK_TAGS)},
    "/api/projects/{project_id}/tasks/import/": {"post": _op(
        "A completed task from a results zip: a file (whole or chunked) or a URL",
        {"201": _json(_ref("Task")), "200": _json(_ref("Uploaded"), "A chunk received, more to come")}, [PROJECT],
        _form_body({"file": FILE, "url": STRING, "name": STRING, **CHUNK_FIELDS}, multipart=True), tags=TASK_TAGS)},
    f"{T}/": {
        "get": _op("A task (public tasks need no login)", {"200": _json(_ref("Task"))}, [PROJECT, TASK],
                   tags=TASK_TAGS),
        "patch": _op("Change a task", {"200": _json(_ref("Task"))}, [PROJECT, TASK], _form_body(TASK_WRITE),
                     tags=TASK_TAGS),
        "put": _op("Change a task", {"200": _json(_ref("Task"))}, [PROJECT, TASK], _form_body(TASK_WRITE),
                   tags=TASK_TAGS),
        "delete": _op("Delete a task and its files", NO_CONTENT, [PROJECT, TASK], tags=TASK_TAGS)},
    f"{T}/upload/": {
        "get": _op("What a partial task already holds, so that an interrupted upload resumes from any client: "
                   "complete files, and the chunks received of each unfinished chunked file (400 once committed)",
                   {"200": _json(_ref("UploadState"))}, [PROJECT, TASK], tags=TASK_TAGS),
        "post": _op(
            "Add images to a partial task, whole or one chunk at a time", {"200": _json(_ref("Uploaded"))},
            [PROJECT, TASK], _form_body({"images": {"type": "array", "items": FILE}, **CHUNK_FIELDS},
                                        multipart=True), tags=TASK_TAGS)},
    f"{T}/commit/": {"post": _op("End a partial task's upload and queue it", {"200": _json(_ref("Task"))},
                                 [PROJECT, TASK], tags=TASK_TAGS)},
    f"{T}/duplicate/": {"post": _op(
        "A copy of the task, with its images and results, in the same project (400 while it is processed)",
        {"200": _json({"type": "object", "properties": {"success": BOOLEAN, "task": _ref("Task")}})},
        [PROJECT, TASK], tags=TASK_TAGS)},
    f"{T}/cancel/": {"post": _op("Ask for the task to be canceled", {"200": SUCCESS}, [PROJECT, TASK],
                                 tags=TASK_TAGS)},
    f"{T}/restart/": {"post": _op("Ask for the task to be processed again", {"200": SUCCESS}, [PROJECT, TASK],
                                  _form_body({"options": TASK_WRITE["options"]}), tags=TASK_TAGS)},
    f"{T}/remove/": {"post": _op("Ask the worker to remove the task", {"200": SUCCESS}, [PROJECT, TASK],
                                 tags=TASK_TAGS)},
    f"{T}/output/": {"get": _op(
        "Console output", {"200": {"description": "A JSON string of lines, {lines, count} with f=json, or text "
                                                  "with f=raw", "content": {"application/json": {"schema": {}},
                                                                            "text/plain": {"schema": STRING}}}},
        [PROJECT, TASK, _param("line", "query"), _param("limit", "query"), _param("f", "query", "string")],
        tags=TASK_TAGS)},
    f"{T}/download/{{asset}}": {"get": _op(
        "An asset as an attachment (folders zipped while streaming; Range on files)",
        {"200": {"description": "The file", "content": {"application/octet-stream": {"schema": FILE}}},
         "206": {"description": "Part of the file (Range)"}},
        [PROJECT, TASK, _param("asset", schema_type="string")], tags=TASK_TAGS)},
    f"{T}/assets/{{path}}": {"get": _op(
        "A raw file under the task's assets folder",
        {"200": {"description": "The file", "content": {"application/octet-stream": {"schema": FILE}}}},
        [PROJECT, TASK, _param("path", schema_type="string")], tags=TASK_TAGS)},
    **{f"{T}/{tile_path}": {"get": _op(
        summary, {"200": {"description": "The tile, with an ETag; Cache-Control private unless the task is public",
                          "content": {kind: {"schema": FILE} for kind in ("image/png", "image/jpeg", "image/webp")}},
                  "304": {"description": "Not modified (If-None-Match)"}},
        [PROJECT, TASK, *params, _param("z"), _param("x"), _param("y"), *scale,
         _param("fmt", schema_type="string", description="png, jpg or webp"),
         _param("color_map", "query", "string", "DEMs: a rio-tiler colour map (default viridis)"),
         _param("hillshade", "query", "boolean", "DEMs: shade the relief")], tags=MAP_TAGS)}
       for tile_path, summary, params, scale in (
           ("{layer}/tiles/{z}/{x}/{y}.{fmt}", "A 256 px XYZ tile of the orthophoto, DSM or DTM", [LAYER_PARAM], []),
           ("{layer}/tiles/{z}/{x}/{y}@{scale}x.{fmt}", "A high-resolution XYZ tile (@2x: 512 px)",
            [LAYER_PARAM], [SCALE_PARAM]),
           ("tiles/{z}/{x}/{y}.{fmt}", "The seed's older path of the orthophoto's tiles", [], []),
           ("tiles/{z}/{x}/{y}@{scale}x.{fmt}", "The seed's older path of the orthophoto's @2x tiles", [],
            [SCALE_PARAM]))},
    f"{T}/{{layer}}/tiles.json": {"get": _op(
        "TileJSON 2.1.0 of a layer (DEMs add statistics {min, max}); tile URLs keep color_map and hillshade",
        {"200": _json({"type": "object"})},
        [PROJECT, TASK, LAYER_PARAM, _param("color_map", "query", "string"), _param("hillshade", "query", "boolean")],
        tags=MAP_TAGS)},
    f"{T}/{{layer}}/bounds": {"get": _op(
        "A layer's extent in WGS84", {"200": _json({"type": "object", "properties": {
            "bounds": {"type": "array", "items": {"type": "number"}, "description": "[west, south, east, north]"}}})},
        [PROJECT, TASK, LAYER_PARAM], tags=MAP_TAGS)},
    f"{T}/thumbnail.png": {"get": _op(
        "A small PNG of the orthophoto, with an ETag",
        {"200": {"description": "The thumbnail", "content": {"image/png": {"schema": FILE}}},
         "304": {"description": "Not modified (If-None-Match)"}},
        [PROJECT, TASK, _param("size", "query", description="pixels on the longer side, 16 to 1024 (default 256)")],
        tags=MAP_TAGS)},
    f"{T}/{{layer}}/metadata": {"get": _op(
        "WebODM's raster metadata: statistics per band (\"1\", \"2\", ...) with a 255-bin histogram and the 2 and "
        "98 percentiles, the formulas (algorithms) and colour maps on offer, the tile URL",
        {"200": _json({"type": "object"})},
        [PROJECT, TASK, LAYER_PARAM, _param("formula", "query", "string", "a plant-health formula, such as NDVI"),
         _param("bands", "query", "string", "the band order, such as RGB, RGN or BGRNRe, or auto"),
         _param("range", "query", "string", "low,high: the histogram's range")], tags=MAP_TAGS)},
    "/api/plugins/measure/task/{task_id}/volume": {"post": _op(
        "Start measuring the volume inside a polygon from the task's DSM (WebODM's measure plugin)",
        {"200": _json({"type": "object", "properties": {"celery_task_id": STRING}}),
         "503": _json(_ref("Error"), "The job queue is unavailable")},
        [TASK], _form_body({
            "area": {"type": "object", "description": "a GeoJSON Polygon or Feature in WGS84 (or it as a string)"},
            "method": {"type": "string", "enum": ["plane", "triangulate", "average", "highest", "lowest", "custom",
                                                  "dtm"], "description": "the base (default triangulate)"},
            "base_height": {"type": "number", "description": "metres: the flat base of method custom"}}, ["area"]),
        tags=MAP_TAGS)},
    "/api/plugins/measure/task/{task_id}/volume/get/{job_id}": {"get": _op(
        "The volume: {output: |net| m3, volume: {cut, fill, net, area, measured_area, missing_area, base}}",
        {"200": _json({"type": "object"})}, [TASK, _param("job_id", schema_type="string")], tags=MAP_TAGS)},
    f"{T}/{{asset_type}}/export": {"post": _op(
        "Export the orthophoto, a DEM or the point cloud (WebODM's export): {url, filename} when the file exists as "
        "asked, else {celery_task_id, filename} of a job to follow with /api/workers/check|get",
        {"200": _json({"type": "object", "properties": {"url": STRING, "celery_task_id": STRING, "filename": STRING}}),
         "503": _json(_ref("Error"), "The job queue is unavailable")},
        [PROJECT, TASK, {**_param("asset_type", schema_type="string"), "schema": {
            "type": "string", "enum": ["orthophoto", "dsm", "dtm", "georeferenced_model"]}}],
        _form_body({"format": {"type": "string", "enum": ["gtiff", "gtiff-rgb", "jpg", "png", "kmz", "laz", "las",
                                                          "ply", "csv"]},
                    "epsg": INTEGER, "formula": STRING, "bands": STRING, "rescale": STRING, "color_map": STRING,
                    "hillshade": BOOLEAN}), tags=MAP_TAGS)},
    f"{T}/profile": {"post": _op(
        "Heights of the DSM and DTM along a line: {length, distance: [m], points: [[lon, lat]], dsm: [m or null], "
        "dtm: [m or null] (null: no such model)}", {"200": _json({"type": "object"})}, [PROJECT, TASK],
        _form_body({"line": {"type": "object", "description": "a GeoJSON LineString or Feature in WGS84"},
                    "samples": {"type": "integer", "description": "points along the line, 2 to 2000 (200)"}},
                   ["line"]), tags=MAP_TAGS)},
    "/api/plugins/contours/task/{task_id}/contours/generate": {"post": _op(
        "Start making contour lines of the DSM or DTM (WebODM's contours plugin); the file then comes from "
        ".../contours/download/{job_id} or /api/workers/get/{job_id}",
        {"200": _json({"type": "object", "properties": {"celery_task_id": STRING, "filename": STRING}}),
         "503": _json(_ref("Error"), "The job queue is unavailable")},
        [TASK], _form_body({"layer": {"type": "string", "enum": ["DSM", "DTM"]},
                            "interval": {"type": "number", "description": "metres between lines (1)"},
                            "simplify": {"type": "number", "description": "tolerance in metres (0.01)"},
                            "format": {"type": "string", "enum": ["GPKG", "DXF", "GeoJSON", "ESRI Shapefile"],
                                       "description": "ESRI Shapefile (or SHP): a zip of .shp, .shx, .dbf, .prj"},
                            "epsg": {"type": "integer", "description": "the lines' CRS (3857)"}}), tags=MAP_TAGS)},
    **{f"{T}/difference/{{earlier_id}}/{tile_path}": {"get": _op(
        summary, {"200": {"description": "The tile, with an ETag",
                          "content": {kind: {"schema": FILE} for kind in ("image/png", "image/webp")}},
                  "304": {"description": "Not modified (If-None-Match)"}},
        [PROJECT, TASK, EARLIER_PARAM, _param("z"), _param("x"), _param("y"), *scale,
         _param("fmt", schema_type="string", description="png or webp"), *DIFFERENCE_STYLE], tags=MAP_TAGS)}
       for tile_path, summary, scale in (
           ("tiles/{z}/{x}/{y}.{fmt}", "A 256 px tile of the DSM difference: this task's DSM minus the earlier "
            "task's, in metres, through a diverging colour map", []),
           ("tiles/{z}/{x}/{y}@{scale}x.{fmt}", "A high-resolution tile of the DSM difference (@2x: 512 px)",
            [SCALE_PARAM]))},
    f"{T}/difference/{{earlier_id}}/tiles.json": {"get": _op(
        "TileJSON 2.1.0 of the DSM difference over both models' common area, with statistics {min, max, mean, "
        "percentiles, rescale} (rescale: a range symmetric about 0 for the legend); 400 for tasks of different "
        "projects or without a DSM", {"200": _json({"type": "object"})},
        [PROJECT, TASK, EARLIER_PARAM, *DIFFERENCE_STYLE], tags=MAP_TAGS)},
    f"{T}/difference/{{earlier_id}}/volume": {"post": _op(
        "The volume gained and lost inside a polygon between the earlier task's DSM and this task's: {gained, lost, "
        "net (m3), area, measured_area, missing_area (m2), pixel_area}",
        {"200": _json({"type": "object", "properties": {key: {"type": "number"} for key in (
            "gained", "lost", "net", "area", "measured_area", "missing_area", "pixel_area")}})},
        [PROJECT, TASK, EARLIER_PARAM],
        _form_body({"area": {"type": "object", "description": "a GeoJSON Polygon or Feature in WGS84 (or it as a "
                                                              "string)"}}, ["area"]), tags=MAP_TAGS)},
    "/api/plugins/contours/task/{task_id}/contours/download/{job_id}": {"get": _op(
        "The contours file, as /api/workers/get answers",
        {"200": {"description": "The file, or JSON", "content": {"application/octet-stream": {"schema": FILE},
                                                                  "application/json": {"schema": {}}}}},
        [TASK, _param("job_id", schema_type="string")], tags=MAP_TAGS)},
    f"{T}/images/thumbnail/{{filename}}": {"get": _op(
        "A JPEG thumbnail of one of the task's photos, upright, with an ETag (WebODM's path)",
        {"200": {"description": "The thumbnail", "content": {"image/jpeg": {"schema": FILE}}},
         "304": {"description": "Not modified (If-None-Match)"}},
        [PROJECT, TASK, _param("filename", schema_type="string"),
         _param("size", "query", description="pixels on the longer side, 16 to 2048 (default 512)")], tags=MAP_TAGS)},
    f"{T}/images/download/{{filename}}": {"get": _op(
        "One of the task's photos as uploaded, as an attachment (WebODM's path)",
        {"200": {"description": "The photo", "content": {"application/octet-stream": {"schema": FILE}}}},
        [PROJECT, TASK, _param("filename", schema_type="string")], tags=MAP_TAGS)},
    "/api/workers/check/{job_id}": {"get": _op(
        "Whether a map tool's job is done: {ready: false} while it runs, then {ready: true} or {ready, error}",
        {"200": _json({"type": "object"})}, [_param("job_id", schema_type="string")], tags=MAP_TAGS)},
    "/api/workers/get/{job_id}": {"get": _op(
        "A finished job's result: its file as an attachment (?filename=), or {output}, or {error}",
        {"200": {"description": "The file, or JSON", "content": {"application/octet-stream": {"schema": FILE},
                                                                  "application/json": {"schema": {}}}}},
        [_param("job_id", schema_type="string"), _param("filename", "query", "string")], tags=MAP_TAGS)},
    f"{T}/3d/{{name}}": {"get": _op(
        "A file of the task's 3D view: scene.json (origin, EPSG, bounds, point count, cameras), points.bin "
        "(blocks of float32 x y z then uint8 r g b) or model.glb (the textured model), with an ETag",
        {"200": {"description": "The file", "content": {kind: {"schema": FILE} for kind in (
            "application/json", "application/octet-stream", "model/gltf-binary")}},
         "304": {"description": "Not modified (If-None-Match)"}},
        [PROJECT, TASK, _param("name", schema_type="string", description="scene.json, points.bin or model.glb")],
        tags=MAP_TAGS)},
    "/api/processingnodes/": {
        "get": _op("Processing nodes", {"200": _json({"type": "array", "items": _ref("ProcessingNode")})},
                   [_param("has_available_options", "query", "boolean"), ORDERING], tags=NODE_TAGS),
        "post": _op("Register a node (administrators); answers after a first refresh",
                    {"201": _json(_ref("ProcessingNode"))}, body=_form_body(
                        {"hostname": STRING, "port": INTEGER, "token": STRING, "label": STRING},
                        ["hostname", "port"]), tags=NODE_TAGS)},
    "/api/processingnodes/options/": {"get": _op(
        "The options every online node offers", {"200": _json({"type": "array", "items": {"type": "object"}})},
        tags=NODE_TAGS)},
    "/api/processingnodes/{node_id}/": {
        "get": _op("A node", {"200": _json(_ref("ProcessingNode"))}, [NODE], tags=NODE_TAGS),
        "patch": _op("Change a node (administrators)", {"200": _json(_ref("ProcessingNode"))}, [NODE],
                     _form_body({"hostname": STRING, "port": INTEGER, "token": STRING, "label": STRING}),
                     tags=NODE_TAGS),
        "put": _op("Change a node (administrators)", {"200": _json(_ref("ProcessingNode"))}, [NODE],
                   _form_body({"hostname": STRING, "port": INTEGER, "token": STRING, "label": STRING}),
                   tags=NODE_TAGS),
        "delete": _op("Delete a node (administrators)", NO_CONTENT, [NODE], tags=NODE_TAGS)},
    "/api/webhooks/task/{task_id}/{token}": {"post": _op(
        "A processing node's call when a task ends (the URL carries an HMAC of the task id; no login)",
        {"200": SUCCESS}, [TASK, _param("token", schema_type="string")], tags=("pipeline",))},
}

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Aerie API", "version": "1.0",
             "description": "WebODM's REST API for drone-imagery processing, with Aerie's extensions. Paths are "
                            "served with and without their trailing slash."},
    "servers": [{"url": "/"}],
    "security": [{"jwt": []}, {"bearer": []}, {"jwtQuery": []}, {"session": []}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "jwt": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`JWT <token>` from /api/token-auth/, or a named API token"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "jwtQuery": {"type": "apiKey", "in": "query", "name": "jwt"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "the browser's session; unsafe methods need the X-CSRFToken header"}}},
    "paths": PATHS,
}


@route("/openapi.json", methods=["GET"])
def openapi_json():
    """The OpenAPI 3 description of this API."""
    return json_response(SPEC)
