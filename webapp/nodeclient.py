"""The NodeODM client (pyodm) behind our own small interface and error types.

Services and jobs call NodeClient and catch NodeError; nothing else in webapp imports pyodm.
"""
import json
import mimetypes
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from pyodm import Node
from pyodm import exceptions as odm_errors
from requests_toolbelt.multipart.encoder import MultipartEncoder

UPLOAD_PARALLEL = 4  # images sent at once
UPLOAD_RETRIES = 4  # further attempts per image after a transient fault
UPLOAD_RETRY_SECONDS = 1  # wait before the n-th retry: n times this


class NodeError(Exception):
    """A processing node could not do what was asked."""


class NodeUnreachable(NodeError):
    """A transient fault: no connection, a timeout, or an unexpected answer (a 5xx). Worth retrying."""


class NodeRejected(NodeError):
    """The node answered with an error of its own (a bad token, invalid options, an unknown task)."""


def _translate(error):
    """Our error type for a pyodm exception."""
    if isinstance(error, (odm_errors.NodeConnectionError, odm_errors.NodeServerError)):
        return NodeUnreachable(str(error) or type(error).__name__)
    return NodeRejected(str(error) or type(error).__name__)


class NodeClient:
    """One processing node reached over the NodeODM API."""

    def __init__(self, hostname, port, token="", timeout=10):
        self.node = Node(hostname, int(port), token or "", timeout=timeout)
        self.timeout = timeout

    @classmethod
    def for_node(cls, node, timeout=10):
        """A client for a ProcessingNode row (or anything with hostname, port and token)."""
        return cls(node.hostname, node.port, node.token, timeout=timeout)

    def info(self):
        """The node's /info as a dict with our field names."""
        try:
            info = self.node.info()
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        return {
            "api_version": str(info.version or ""),
            "engine": str(info.engine or ""),
            "engine_version": str(info.engine_version or ""),
            "queue_count": int(info.task_queue_count or 0),
            "max_images": info.max_images,
        }

    def options(self):
        """The node's /options: [{name, type, value, domain, help}]."""
        try:
            options = self.node.options()
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        return [{"name": o.name, "type": o.type, "value": o.value, "domain": o.domain, "help": o.help}
                for o in options]

    # --- tasks ------------------------------------------------------------------------------------------------

    def create_task(self, paths, options, name, uuid, webhook=None, progress=None):
        """Create a task under our chosen uuid and upload its images (chunked, parallel, retried by pyodm)."""
        try:
            self.node.create_task([str(p) for p in paths], _options_dict(options), name=name or None,
                                  progress_callback=progress, webhook=webhook or None, task_uuid=uuid,
                                  parallel_uploads=UPLOAD_PARALLEL, max_retries=UPLOAD_RETRIES,
                                  retry_timeout=UPLOAD_RETRY_SECONDS)
        except odm_errors.OdmError as error:
            raise _translate(error) from error

    def resume_upload(self, uuid, paths, progress=None):
        """Upload (again) every image into a task the node created but never committed, then commit it.

        Sending a file twice only overwrites it on the node, so a resumed upload never duplicates the task.
        """
        done = 0
        with ThreadPoolExecutor(UPLOAD_PARALLEL) as pool:
            for _ in pool.map(lambda path: self._upload_one(uuid, path), paths):
                done += 1
                if progress:
                    progress(100.0 * done / len(paths))
        self._post(f"/task/new/commit/{uuid}")

    def _upload_one(self, uuid, path):
        """Upload one image to an uncommitted task, retrying transient faults with a growing wait."""
        for attempt in range(UPLOAD_RETRIES + 1):
            try:
                with open(path, "rb") as image:
                    fields = {"images": (Path(path).name, image, mimetypes.guess_type(str(path))[0] or "image/jpeg")}
                    encoder = MultipartEncoder(fields=fields)
                    return self._post(f"/task/new/upload/{uuid}", encoder, {"Content-Type": encoder.content_type})
            except NodeUnreachable:
                if attempt == UPLOAD_RETRIES:
                    raise
                time.sleep(UPLOAD_RETRY_SECONDS * (attempt + 1))

    def task_info(self, uuid, with_output=None):
        """A task's state on the node: status, error, progress, processing time and console lines from with_output."""
        query = {} if with_output is None else {"with_output": int(with_output)}
        info = self._get(f"/task/{uuid}/info", query)
        status = info.get("status") or {}
        return {"status": int(status.get("code") or 0), "error": status.get("errorMessage") or "",
                "progress": float(info.get("progress") or 0.0),
                "processing_time": int(info.get("processingTime") if info.get("processingTime") is not None else -1),
                "output": [str(line) for line in info.get("output") or []]}

    def task_uuids(self):
        """The uuids of the node's (committed) tasks."""
        return {str(entry.get("uuid")) for entry in self._get("/task/list") if isinstance(entry, dict)}

    def knows_task(self, uuid):
        """Whether the node still has this committed task."""
        return uuid in self.task_uuids()

    def cancel(self, uuid):
        """Cancel a task on the node."""
        self._action("/task/cancel", {"uuid": uuid})

    def remove(self, uuid):
        """Cancel a task on the node and delete its copy there."""
        self._action("/task/remove", {"uuid": uuid})

    def restart(self, uuid, options=None):
        """Queue a finished task again on the node, with new options when given."""
        data = {"uuid": uuid}
        if options is not None:
            data["options"] = json.dumps([{"name": o["name"], "value": o["value"]} for o in options])
        self._action("/task/restart", data)

    def download_results(self, uuid, destination, chunk_bytes=64 * 1024):
        """Stream the task's all.zip to destination, resuming a partial file with a Range request; its size."""
        destination = Path(destination)
        have = destination.stat().st_size if destination.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        url = self.node.url(f"/task/{uuid}/download/all.zip", {})
        try:
            with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
                if response.status_code == 416:  # already complete
                    return have
                if response.status_code >= 500:
                    raise NodeUnreachable(f"the node answered HTTP {response.status_code} to the download")
                if "application/json" in response.headers.get("Content-Type", ""):
                    raise NodeRejected(str(response.json().get("error") or "the node refused the download"))
                if response.status_code not in (200, 206):
                    raise NodeRejected(f"the node answered HTTP {response.status_code} to the download")
                resumed = response.status_code == 206
                expected = _expected_size(response, have if resumed else 0)
                with open(destination, "ab" if resumed else "wb") as out:
                    for chunk in response.iter_content(chunk_bytes):
                        out.write(chunk)
        except requests.RequestException as error:
            raise NodeUnreachable(f"the download of the results stopped: {error}") from error
        size = destination.stat().st_size
        if expected is not None and size != expected:
            raise NodeUnreachable(f"the download of the results stopped at {size} of {expected} bytes")
        return size

    # --- plumbing -------------------------------------------------------------------------------------------

    def _get(self, path, query=None):
        """GET a JSON answer from the node, with our error types."""
        try:
            result = self.node.get(path, dict(query or {}))
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        if not isinstance(result, (dict, list)):
            raise NodeUnreachable(f"unexpected answer from the node to {path}")
        return result

    def _post(self, path, data=None, headers=None):
        """POST to the node and return its JSON answer, with our error types."""
        try:
            result = self.node.post(path, data, headers or {})
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        if not isinstance(result, dict):
            raise NodeUnreachable(f"unexpected answer from the node to {path}")
        return result

    def _action(self, path, data):
        """POST a cancel/remove/restart; NodeRejected with the node's reason when it answers success false."""
        result = self._post(path, data)
        if not result.get("success"):
            raise NodeRejected(str(result.get("error") or f"the node refused {path}"))


def _options_dict(options):
    """Task options as pyodm takes them ({name: value}) from our [{"name", "value"}] list."""
    return {str(option["name"]): option["value"] for option in options or [] if "name" in option}


def _expected_size(response, offset):
    """The size the whole file will have once this response is written after offset bytes, if the node says."""
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None
