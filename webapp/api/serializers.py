"""The JSON shapes of docs/API.md: projects, groups, tasks, processing nodes, API tokens.

Field order is the contract's."""
import json
from datetime import timezone

from webapp.models.processing_node import node_label
from webapp.services import nodes, projects


def iso_time(moment):
    """ISO 8601 UTC with six digits of microseconds and Z; naive datetimes (from SQLite) are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"  # as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), 3x faster


def project_json(project, user, permissions=None):
    """A project as seen by user (permissions and owned are the caller's; permissions computed when not given)."""
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": iso_time(project.created_at),
        "owner": project.owner.username,
        "tasks": [task.id for task in project.tasks],
        "permissions": projects.project_permissions(user, project) if permissions is None else permissions,
        "owned": user is not None and project.owner_id == user.id,
        "public": project.public,
        "tags": project.tags,
    }


def group_json(group):
    """A group for administrators: WebODM's id and name, and the usernames of its members."""
    return {"id": group.id, "name": group.name, "members": [user.username for user in group.members]}


def task_json(task):
    """A task, every field of the contract in its order."""
    node = task.processing_node
    return {
        "id": task.id,
        "project": task.project_id,
        "processing_node": task.processing_node_id,
        "images_count": task.images_count,
        "uuid": task.uuid or "",
        "name": task.name,
        "processing_time": int(task.processing_time if task.processing_time is not None else -1),
        "auto_processing_node": task.auto_processing_node,
        "status": task.status,
        "last_error": task.last_error,
        "options": task.options if task.options is not None else [],
        "ground_control_points": task.ground_control_points,
        "created_at": iso_time(task.created_at),
        "pending_action": task.pending_action,
        "processing_node_name": node.display_label() if node is not None else None,
        "available_assets": list(task.available_assets or []),
        "upload_progress": float(task.upload_progress or 0.0),
        "running_progress": float(task.running_progress or 0.0),
        "partial": task.partial,
        "public": task.public,
        "size": float(task.size or 0.0),
    }


def task_list_text(rows):
    """The JSON text of a task list from services.tasks.list_task_rows: task_json's fields in its order, with
    options and available_assets spliced in as the database holds them (valid JSON, written by SQLAlchemy) and
    each value written by the encoder's own pieces: building a dict per task, decoding those two columns and
    encoding them again was most of a long list's time."""
    return "[" + ",".join(map(_task_row_text, rows)) + "]"


_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str


def _text(value):
    """A str or None as JSON."""
    return "null" if value is None else _string(value)


def _integer(value):
    """An int or None as JSON."""
    return "null" if value is None else str(int(value))


_BOOLEANS = {True: "true", False: "false", None: "null"}  # a bool or None as JSON


def _task_row_text(row):
    """One task of task_list_text. The row is unpacked as a tuple, in the order of services.tasks.TASK_LIST_COLUMNS
    and the node's label, hostname and port: taking 23 values by name from a Row cost twice the rest."""
    (task_id, project_id, node, images_count, uuid, name, processing_time, auto_processing_node, status, last_error,
     options_json, ground_control_points, created_at, pending_action, available_assets_json, upload_progress,
     running_progress, partial, public, size, node_label_column, node_hostname, node_port) = row
    node_name = node_label(node_label_column, node_hostname, node_port) if node is not None else None
    return (
        f'{{"id":{task_id},"project":{project_id},"processing_node":{_integer(node)},'
        f'"images_count":{_integer(images_count)},"uuid":{_string(uuid or "")},"name":{_text(name)},'
        f'"processing_time":{int(processing_time if processing_time is not None else -1)},'
        f'"auto_processing_node":{_BOOLEANS[auto_processing_node]},"status":{_integer(status)},'
        f'"last_error":{_text(last_error)},"options":{options_json or "[]"},'
        f'"ground_control_points":{_text(ground_control_points)},"created_at":{_text(iso_time(created_at))},'
        f'"pending_action":{_integer(pending_action)},'
        f'"processing_node_name":{_text(node_name)},'
        f'"available_assets":{available_assets_json or "[]"},'
        f'"upload_progress":{float(upload_progress or 0.0)!r},'
        f'"running_progress":{float(running_progress or 0.0)!r},"partial":{_BOOLEANS[partial]},'
        f'"public":{_BOOLEANS[public]},"size":{float(size or 0.0)!r}}}')


def node_json(node, show_token=False):
    """A processing node; its token only for administrators."""
    data = {
        "id": node.id,
        "hostname": node.hostname,
        "port": node.port,
        "label": node.display_label(),
        "online": nodes.is_online(node),
        "api_version": node.api_version,
        "engine": node.engine,
        "engine_version": node.engine_version,
        "queue_count": node.queue_count,
        "max_images": node.max_images,
        "last_refreshed": iso_time(node.last_refreshed),
        "available_options": node.available_options or [],
    }
    if show_token:
        data["token"] = node.token
    return data


def preset_json(preset):
    """A preset as WebODM's API gives it (its owner is not shown)."""
    return {"id": preset.id, "name": preset.name, "options": preset.options, "created_at": iso_time(preset.created_at),
            "system": preset.system}


def api_token_json(token, secret=None):
    """A named API token; the secret only right after creation, when it is shown once."""
    data = {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": iso_time(token.created_at),
            "last_used_at": iso_time(token.last_used_at)}
    if secret is not None:
        data["token"] = secret
    return data
