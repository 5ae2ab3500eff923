"""The node's parts on their own: option conversion, the results archive, engine line parsing, task state."""
import json
import os
import time
import zipfile

import pytest

from localnode.engine.options import OPTIONS
from localnode.engine_process import exit_message, parse_line
from localnode.results import BuildCanceled, build_zip, result_files
from localnode.taskoptions import OptionsError, engine_options, parse_options
from localnode.tasks import COMPLETED, Task
from tests.support.nodeodm_grammar import GrammarError, parse_domain

DEFAULTS = {o["name"]: o["value"] for o in OPTIONS}


@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("FALSE", False), ("0", False),
                                           (True, True), (0, False)])
def test_bool_words(raw, expected):
    """Booleans come as true/false/1/0 in any case, or as JSON booleans and numbers."""
    assert parse_options([{"name": "dsm", "value": raw}]) == [{"name": "dsm", "value": expected}]


def test_numbers_are_typed_and_ranges_checked():
    """Ints and floats are converted; resize-to accepts -1 and 320, refuses 319 (a rule the node checks itself)."""
    typed = parse_options('[{"name": "resize-to", "value": "-1"}, {"name": "dem-resolution", "value": "2.5"}]')
    assert typed == [{"name": "dem-resolution", "value": 2.5}, {"name": "resize-to", "value": -1}]
    assert parse_options({"resize-to": "320"}) == [{"name": "resize-to", "value": 320}]
    with pytest.raises(OptionsError) as refused:
        parse_options({"resize-to": 319, "matcher-neighbors": "1.5"})
    assert [p["name"] for p in json.loads(str(refused.value))] == ["resize-to", "matcher-neighbors"]


def test_resize_rule_is_explained():
    """resize-to's rule, beyond its "integer" domain, is refused saying what is allowed."""
    with pytest.raises(OptionsError) as refused:
        parse_options({"resize-to": 0})
    assert json.loads(str(refused.value)) == [
        {"name": "resize-to", "error": "0 is not allowed: resize-to must be -1 (no resize) or at least 320"}]


@pytest.mark.parametrize("domain", ["bool", "integer: -1 (no resize) or >= 320", "integer >=1", "float > x",
                                    "positive  integer", "percent > 5", None])
def test_grammar_refuses_what_nodeodm_refuses(domain):
    """The test's grammar is NodeODM's: a domain outside it is refused, as ClusterODM refuses the task."""
    with pytest.raises(GrammarError):
        parse_domain(domain)


NUMERIC_SAMPLES = [-5, -1, 0, 0.5, 1, 2, 99, 100, 101, 319, 320, 2048]


@pytest.mark.parametrize("option", [o for o in OPTIONS if o["type"] in ("int", "float")], ids=lambda o: o["name"])
def test_node_accepts_what_its_domain_promises(option):
    """For numeric options the node accepts exactly what NodeODM's reading of the domain accepts (resize-to: also
    -1 or >= 320)."""
    in_domain = parse_domain(option["domain"])
    for value in NUMERIC_SAMPLES:
        if option["type"] == "int" and value != int(value):
            continue
        expected = in_domain(value) and (option["name"] != "resize-to" or value == -1 or value >= 320)
        try:
            accepted = parse_options({option["name"]: value}) == [{"name": option["name"], "value": value}]
        except OptionsError:
            accepted = False
        assert accepted == expected, (option["name"], value)


def test_engine_options_fill_every_default_typed():
    """options.json: the task's values over the defaults, every value of its option's type."""
    options = engine_options([{"name": "end-with", "value": "opensfm"}])
    assert list(options) == list(DEFAULTS) and options["end-with"] == "opensfm"
    assert options["dsm"] is False and options["min-num-features"] == int(DEFAULTS["min-num-features"])


def test_engine_lines():
    """@@progress and @@error lines are read apart from the console; a bad progress line stays console."""
    assert parse_line("@@progress 42.5") == ("progress", 42.5)
    assert parse_line("@@progress 250") == ("progress", 100.0)
    assert parse_line("@@progress soon") == ("console", "@@progress soon")
    assert parse_line("@@error No GPS in the photos") == ("error", "No GPS in the photos")
    assert parse_line("[dataset] Running") == ("console", "[dataset] Running")
    assert "exit code 3" in exit_message(3) and "killed by signal SIGKILL" in exit_message(-9)


def make_task(tmp_path, outputs=()):
    """A task folder with a few result files and a console line."""
    task = Task(tmp_path / "task", "u-1", "t", [], outputs=outputs)
    for name in ("odm_orthophoto/odm_orthophoto.tif", "odm_dem/dsm.tif", "cameras.json"):
        path = task.results_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode() * 50)
    task.console.append("[engine] Processing completed")
    return task


def test_results_zip_holds_results_and_console(tmp_path):
    """all.zip has every result under its asset path plus task_output.txt; no temporary file is left."""
    task = make_task(tmp_path)
    build_zip(task, "run", lambda run_id: True)
    with zipfile.ZipFile(task.zip_path) as archive:
        assert sorted(archive.namelist()) == ["cameras.json", "odm_dem/dsm.tif",
                                              "odm_orthophoto/odm_orthophoto.tif", "task_output.txt"]
        assert archive.read("task_output.txt") == b"[engine] Processing completed\n"
    assert sorted(p.name for p in task.folder.iterdir()) == ["all.zip", "console.txt", "results"]


def test_outputs_limit_the_zip(tmp_path):
    """`outputs` entries (files or folders) choose which results go in the zip."""
    task = make_task(tmp_path, outputs=["odm_dem", "cameras.json"])
    assert [name for _, name in result_files(task.results_dir, task.outputs)] == ["cameras.json",
                                                                                 "odm_dem/dsm.tif"]


def test_a_canceled_build_leaves_no_zip(tmp_path):
    """When the run stops owning the task mid-build, no all.zip appears and the partial file is removed."""
    task = make_task(tmp_path)
    with pytest.raises(BuildCanceled):
        build_zip(task, "run", lambda run_id: False)
    assert sorted(p.name for p in task.folder.iterdir()) == ["console.txt", "results"]


def test_task_state_round_trips(tmp_path):
    """task.json keeps what a node restart needs, written atomically (no temporary file left)."""
    task = make_task(tmp_path)
    task.committed, task.status, task.progress, task.processing_time = True, COMPLETED, 100.0, 1234
    task.save()
    loaded = Task.load(task.folder)
    assert loaded.info(with_output=0) == task.info(with_output=0)
    assert not (task.folder / "task.json.tmp").exists()


def test_settings_from_environment_and_flags(monkeypatch, tmp_path):
    """LOCALNODE_* variables set the defaults; command-line flags win over them."""
    from localnode.__main__ import parse_settings
    monkeypatch.setenv("LOCALNODE_PORT", "3999")
    monkeypatch.setenv("LOCALNODE_TOKEN", "tok")
    monkeypatch.setenv("LOCALNODE_DATA", str(tmp_path))
    monkeypatch.setenv("LOCALNODE_PARALLEL", "3")
    settings = parse_settings([])
    assert (settings.host, settings.port, settings.token, settings.data, settings.parallel) == \
        ("127.0.0.1", 3999, "tok", tmp_path, 3)
    settings = parse_settings(["--port", "4000", "--parallel", "2", "--token", "", "--host", "0.0.0.0"])
    assert (settings.host, settings.port, settings.token, settings.parallel) == ("0.0.0.0", 4000, "", 2)
    monkeypatch.delenv("LOCALNODE_PORT")
    assert parse_settings([]).port == 3001


def test_abandoned_uploads_are_dropped_at_start(tmp_path):
    """A task not committed nor uploaded to for over a day is deleted when a queue starts; a recent one is kept."""
    from localnode.queue import ABANDONED_UPLOAD_MS, TaskQueue
    queue = TaskQueue(tmp_path)
    old, recent = queue.create("old", []), queue.create("recent", [], date_created=1)
    long_ago = time.time() - ABANDONED_UPLOAD_MS / 1000 - 60
    for path in (old.folder / "task.json", old.images_dir):
        os.utime(path, (long_ago, long_ago))
    queue = TaskQueue(tmp_path)
    assert not old.folder.exists() and not queue.exists(old.uuid)
    assert recent.folder.is_dir() and queue.get_uploading(recent.uuid).name == "recent"
