"""The node's NodeODM API through pyodm and plain HTTP: info, options, create, output, download, bad input."""
import json
import threading
import uuid as uuidlib
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
from pyodm.exceptions import NodeResponseError

from localnode.engine.gpu import compute, describe
from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION, OPTIONS
from pyodm import Node

from tests.localnode.conftest import QUICK
from tests.support.livenode import LiveNode, wait_for_status
from tests.support.nodeodm_grammar import parse_domain

pytestmark = pytest.mark.slow  # runs tasks through the engine on a real node

COMPLETED = 40


@pytest.fixture(scope="module")
def completed(live_node, few_photos, tmp_path_factory):
    """A task created by pyodm's chunked upload (init, parallel uploads, commit), run to completion."""
    task_uuid = str(uuidlib.uuid4())
    options = dict(QUICK, dsm="true", **{"not-an-option": 3})
    task = live_node.node.create_task(few_photos, options, name="first", task_uuid=task_uuid)
    info = wait_for_status(task, [COMPLETED])
    return task, info


def test_info_reports_the_machine_and_engine(live_node):
    """/info has NodeODM's fields with this machine's real memory and CPU figures."""
    info = live_node.get("/info").json()
    assert info["version"] and live_node.node.version_greater_or_equal_than("1.4.0")
    assert info["totalMemory"] == psutil.virtual_memory().total
    assert 0 < info["availableMemory"] <= info["totalMemory"]
    assert info["cpuCores"] == psutil.cpu_count()
    assert info["maxImages"] is None and info["maxParallelTasks"] == 1
    # pycolmap-cuda12 with a CUDA device would say CUDA: tests/localnode/test_gpu.py checks that case.
    assert (info["engine"], info["engineVersion"]) == (ENGINE_NAME, f"{ENGINE_VERSION} ({describe(compute())})")
    assert isinstance(info["taskQueueCount"], int)


def test_options_list_the_engine_options(live_node):
    """/options lists the engine's options with string defaults, as pyodm reads them."""
    options = live_node.node.options()
    assert [o.name for o in options] == [o["name"] for o in OPTIONS]
    assert all(isinstance(o.value, str) for o in options)
    enum = next(o for o in options if o.name == "end-with")
    assert enum.type == "enum" and "dataset" in enum.domain


def test_every_option_domain_is_in_nodeodm_grammar(live_node):
    """Every /options domain parses with NodeODM's grammar; on/off flags get "", as NodeODM gives ODM's."""
    options = live_node.get("/options").json()
    defaults_ok = [parse_domain(o["domain"])(typed_default(o)) for o in options]
    assert all(defaults_ok)
    flags = {o["name"]: o["domain"] for o in options if o["type"] == "bool"}
    assert {"fast-orthophoto", "dsm", "dtm", "skip-3dmodel", "use-3dmesh", "texturing-single-material"} <= set(flags)
    assert set(flags.values()) == {""}
    assert next(o for o in options if o["name"] == "resize-to")["domain"] == "integer"


def typed_default(option):
    """An option's default (always a string in /options) in its type, as NodeODM converts it."""
    converters = {"int": int, "float": float, "bool": lambda text: text == "true"}
    return converters.get(option["type"], str)(option["value"])


def test_chunked_create_runs_to_completion(live_node, completed, few_photos):
    """A pyodm task keeps its set uuid, typed options in /options order (unknown dropped), and completes."""
    task, info = completed
    assert {"uuid": task.uuid} in live_node.get("/task/list").json()
    assert info.name == "first" and info.images_count == len(few_photos)
    assert info.options == [{"name": "dsm", "value": True}, {"name": "end-with", "value": "dataset"}]
    assert info.progress == 100 and info.processing_time > 0 and info.last_error == ""
    images = sorted(p.name for p in (live_node.data / "tasks" / task.uuid / "images").iterdir())
    assert images == sorted(Path(p).name for p in few_photos)


def test_engine_gets_every_option_typed(live_node, completed):
    """options.json holds every option, defaults filled in and typed, for the engine."""
    task, _ = completed
    options = json.loads((live_node.data / "tasks" / task.uuid / "options.json").read_text())
    assert list(options) == [o["name"] for o in OPTIONS]
    assert options["dsm"] is True and options["end-with"] == "dataset"
    assert options["fast-orthophoto"] is False and isinstance(options["min-num-features"], int)
    assert isinstance(options["orthophoto-resolution"], float)


def test_output_from_a_line_and_the_last_lines(live_node, completed):
    """output?line=N gives the lines from N; a negative N the last -N lines; with_output the same in info."""
    task, _ = completed
    lines = task.output()
    assert any("[dataset]" in line for line in lines)
    assert task.output(2) == lines[2:]
    assert task.output(-2) == lines[-2:]
    assert task.info(with_output=1).output == lines[1:]
    assert task.info().output == []


def test_download_and_unzip(live_node, completed, tmp_path):
    """all.zip downloads with pyodm and holds the console log as task_output.txt."""
    task, _ = completed
    archive = task.download_zip(str(tmp_path))
    with zipfile.ZipFile(archive) as opened:
        assert opened.testzip() is None
        console = opened.read("task_output.txt").decode()
    assert console.splitlines() == task.output()


def test_download_honours_range(live_node, completed):
    """Range requests get 206 with exactly the bytes asked; a range past the end gets 416."""
    task, _ = completed
    path = f"/task/{task.uuid}/download/all.zip"
    whole = live_node.get(path)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "application/zip"
    part = live_node.get(path, headers={"Range": "bytes=10-29"})
    assert part.status_code == 206 and part.content == whole.content[10:30]
    assert part.headers["Content-Range"] == f"bytes 10-29/{len(whole.content)}"
    tail = live_node.get(path, headers={"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == whole.content[-7:]
    assert live_node.get(path, headers={"Range": f"bytes={len(whole.content) + 5}-"}).status_code == 416


def test_other_assets_are_invalid(live_node, completed):
    """Only all.zip is an asset."""
    task, _ = completed
    assert live_node.get(f"/task/{task.uuid}/download/orthophoto.tif").json() == {"error": "Invalid asset"}
    assert live_node.get(f"/task/{task.uuid}/download/..%2F..%2Ftask.json").json().get("error")


def test_task_new_in_one_request(live_node, few_photos):
    """/task/new takes the images in one multipart request."""
    files = [("images", (Path(p).name, Path(p).read_bytes(), "image/jpeg")) for p in few_photos[:2]]
    answer = live_node.post("/task/new", files=files,
                            data={"name": "one go", "options": json.dumps([{"name": "end-with", "value": "dataset"}])})
    uuid = answer.json()["uuid"]
    info = wait_for_status(live_node.node.get_task(uuid), [COMPLETED])
    assert info.name == "one go" and info.images_count == 2


def test_unknown_uuid(live_node):
    """Every per-task endpoint answers an unknown uuid with NodeODM's error."""
    unknown = str(uuidlib.uuid4())
    for path in ("info", "output", "download/all.zip"):
        assert live_node.get(f"/task/{unknown}/{path}").json() == {"error": "Invalid uuid (not found)"}
    for action in ("cancel", "remove", "restart"):
        answer = live_node.post(f"/task/{action}", data={"uuid": unknown}).json()
        assert answer == {"success": False, "error": "Invalid uuid (not found)"}
    assert live_node.post(f"/task/new/commit/{unknown}").json() == {"error": "Invalid uuid (not found)"}


@pytest.mark.parametrize("name, value", [("resize-to", "abc"), ("max-concurrency", "1e999"),
                                         ("dem-resolution", "nan"), ("dem-resolution", "-3"),
                                         ("dsm", "maybe"), ("end-with", "the-end"), ("min-num-features", "")])
def test_bad_option_values_are_refused(live_node, name, value):
    """An invalid value is refused with NodeODM's [{"name", "error"}] error and no task is created."""
    before = live_node.get("/task/list").json()
    answer = live_node.post("/task/new/init", files={"name": (None, "bad")},
                            data={"options": json.dumps([{"name": name, "value": value}])}).json()
    problems = json.loads(answer["error"])
    assert problems[0]["name"] == name and problems[0]["error"]
    assert live_node.get("/task/list").json() == before
    with pytest.raises(NodeResponseError):
        live_node.node.create_task(["/nonexistent/never-read.jpg"], {name: value})


def test_restart_with_bad_options_changes_nothing(live_node, completed):
    """A restart with an invalid option value is refused; the task stays completed with its options."""
    task, info = completed
    answer = live_node.post("/task/restart", data={"uuid": task.uuid,
                                                   "options": json.dumps([{"name": "resize-to", "value": "x"}])})
    assert answer.json()["success"] is False and json.loads(answer.json()["error"])[0]["name"] == "resize-to"
    after = task.info()
    assert (after.status.value, after.options) == (COMPLETED, info.options)


def test_options_that_are_not_json_are_refused(live_node):
    """Garbage in the options field is a clear error, not a crash."""
    answer = live_node.post("/task/new/init", files={"options": (None, "{not json")}).json()
    assert "not valid JSON" in answer["error"]


def test_too_few_images_are_refused_and_nothing_is_lost(live_node, few_photos):
    """One image: /task/new refuses; commit refuses but keeps the upload, so another image then commits."""
    one = [("images", ("a.jpg", Path(few_photos[0]).read_bytes(), "image/jpeg"))]
    assert "Need at least 2 images" in live_node.post("/task/new", files=one).json()["error"]

    uuid = live_node.post("/task/new/init", files={"name": (None, "chunked")}).json()["uuid"]
    one = [("images", ("a.jpg", Path(few_photos[0]).read_bytes(), "image/jpeg"))]
    assert live_node.post(f"/task/new/upload/{uuid}", files=one).json() == {"success": True}
    assert "Need at least 2 images" in live_node.post(f"/task/new/commit/{uuid}").json()["error"]
    two = [("images", ("b.jpg", Path(few_photos[1]).read_bytes(), "image/jpeg"))]
    assert live_node.post(f"/task/new/upload/{uuid}", files=two).json() == {"success": True}
    assert live_node.post(f"/task/new/commit/{uuid}").json() == {"uuid": uuid}
    assert live_node.node.get_task(uuid).info().images_count == 2
    live_node.post("/task/cancel", data={"uuid": uuid})


def test_upload_without_files(live_node):
    """An upload with no file is refused, and pyodm is told not to retry."""
    uuid = live_node.post("/task/new/init", files={"name": (None, "empty")}).json()["uuid"]
    answer = live_node.post(f"/task/new/upload/{uuid}", files={"other": (None, "x")}).json()
    assert answer == {"error": "Need at least 1 file.", "noRetry": True}


def test_file_names_cannot_leave_the_task_folder(live_node, few_photos):
    """Uploaded names with paths are reduced to safe names inside images/; a name of nothing is refused."""
    uuid = live_node.post("/task/new/init", files={"name": (None, "traversal")}).json()["uuid"]
    names = ["../../escape1.jpg", "..\\..\\escape2.jpg", "/tmp/escape3.jpg"]
    files = [("images", (name, Path(few_photos[0]).read_bytes(), "image/jpeg")) for name in names]
    assert live_node.post(f"/task/new/upload/{uuid}", files=files).json() == {"success": True}
    images = live_node.data / "tasks" / uuid / "images"
    assert sorted(p.name for p in images.iterdir()) == ["escape1.jpg", "escape2.jpg", "escape3.jpg"]
    assert sorted(live_node.data.parent.rglob("escape*.jpg")) == sorted(images.iterdir())
    dotdot = [("images", ("..", Path(few_photos[0]).read_bytes(), "image/jpeg"))]
    answer = live_node.post(f"/task/new/upload/{uuid}", files=dotdot).json()
    assert "Invalid file name" in answer["error"] and answer["noRetry"] is True


@pytest.mark.parametrize("outputs", ['["../../../etc"]', '["/etc/passwd"]', '"odm_dem"', "[1]", "{bad"])
def test_outputs_must_stay_inside_the_results(live_node, outputs):
    """outputs entries that are not relative paths inside the results are refused."""
    answer = live_node.post("/task/new/init", files={"outputs": (None, outputs)}).json()
    assert "outputs" in answer["error"]


def test_set_uuid_must_be_a_new_uuid(live_node, completed):
    """set-uuid is honoured only for a valid UUID not already in use."""
    answer = live_node.post("/task/new/init", files={"name": (None, "x")}, headers={"set-uuid": "../../etc"})
    assert "set-uuid" in answer.json()["error"]
    task, _ = completed
    answer = live_node.post("/task/new/init", files={"name": (None, "x")}, headers={"set-uuid": task.uuid})
    assert "already exists" in answer.json()["error"]


def test_set_uuid_is_kept_exactly_as_sent(live_node):
    """An upper-case set-uuid comes back as sent (ClusterODM compares it so) and names the task."""
    sent = str(uuidlib.uuid4()).upper()
    answer = live_node.post("/task/new/init", files={"name": (None, "upper")}, headers={"set-uuid": sent})
    assert answer.json() == {"uuid": sent}
    no_files = {"other": (None, "x")}
    assert live_node.post(f"/task/new/upload/{sent}", files=no_files).json()["error"] == "Need at least 1 file."


def test_garbage_query_arguments_and_bodies(live_node, completed):
    """Bad line/with_output values and a non-multipart /task/new get errors; the node keeps serving."""
    task, _ = completed
    assert "line" in live_node.get(f"/task/{task.uuid}/output", params={"line": "abc"}).json()["error"]
    assert "with_output" in live_node.get(f"/task/{task.uuid}/info", params={"with_output": "x"}).json()["error"]
    assert "multipart" in live_node.post("/task/new", json={"name": "x"}).json()["error"]
    assert live_node.post("/task/cancel", data={}).json() == {"success": False, "error": "Missing uuid."}
    assert live_node.get("/no/such/endpoint").status_code == 404
    assert live_node.get("/info").json()["engine"] == ENGINE_NAME


def test_token_is_required(tmp_path, few_photos):
    """A node with a token refuses a missing or wrong token with NodeODM's message."""
    node = LiveNode(tmp_path / "node", token="s3cret")
    try:
        refused = {"error": "Invalid authentication token: token does not match."}
        assert node.get("/info", params={"token": ""}).json() == refused
        assert node.get("/task/list", params={"token": "wrong"}).json() == refused
        assert node.post("/task/new/init", params={"token": "wrong"}, files={"name": (None, "x")}).json() == refused
        assert node.get("/info").json()["engine"] == ENGINE_NAME
        with pytest.raises(NodeResponseError, match="token does not match"):
            Node("127.0.0.1", node.port, "wrong").create_task(few_photos[:2], QUICK)
        assert node.get("/task/list").json() == []
    finally:
        node.stop()


@pytest.fixture
def file_server(tmp_path):
    """A real static HTTP server over a temporary folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that does not log."""

    def log_message(self, *args):
        """Stay quiet."""


def test_zipurl_images_are_extracted_inside_the_task(live_node, few_photos, file_server):
    """/task/new with zipurl fetches the zip and extracts its files flat into images/, even "../" names."""
    folder, base = file_server
    with zipfile.ZipFile(folder / "photos.zip", "w") as archive:
        archive.write(few_photos[0], "../../outside.jpg")
        archive.write(few_photos[1], "sub/dir/second.jpg")
    uuid = live_node.post("/task/new", files={"zipurl": (None, f"{base}/photos.zip"),
                                              "options": (None, json.dumps([{"name": "end-with",
                                                                             "value": "dataset"}]))}).json()["uuid"]
    images = live_node.data / "tasks" / uuid / "images"
    assert sorted(p.name for p in images.iterdir()) == ["outside.jpg", "second.jpg"]
    assert list(live_node.data.parent.rglob("outside.jpg")) == [images / "outside.jpg"]
    assert wait_for_status(live_node.node.get_task(uuid), [COMPLETED]).images_count == 2
    missing = live_node.post("/task/new", files={"zipurl": (None, f"{base}/missing.zip")}).json()
    assert "Could not download zipurl" in missing["error"]
