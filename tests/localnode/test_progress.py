"""Progress and threads of a whole engine run through a real node: the task's progress moves within the stages
(not only from one stage's end to the next), the console says how far each counted step is ("N of M"), and
the engine keeps to max-concurrency threads (plus a few of its own), measured with psutil while it runs.

One run of a small synthetic survey (9 photos at 640 px, max-concurrency 1): about a minute on 2 idle cores.
"""
import re
import time

import pytest

from localnode.engine.options import STAGES
from localnode.engine.pipeline import STAGE_WEIGHTS
from tests.support.livenode import engine_processes
from tests.support.synthetic_survey import Survey, write_photos

pytestmark = pytest.mark.slow  # runs the whole engine on a real node

COMPLETED, FAILED, CANCELED = 40, 30, 50
SURVEY = Survey(along=(-12.0, 0.0, 12.0))  # 3 strips of 3 photos
OPTIONS = {"max-concurrency": 1, "resize-to": 640, "min-num-features": 2000, "matcher-neighbors": 8,
           "mesh-octree-depth": 7, "mesh-size": 20000}
# Beyond max-concurrency, the engine's own threads: the main one, a progress heartbeat or a pair counter,
# COLMAP's feature reader and writer, and the TBB worker Embree starts (it has no setting) on a 2-core machine.
OWN_THREADS = 4
# The steps counted as they go, and what they count (every photo and pair of this survey is used).
COUNTED = {"dataset": ["Images read and resized"], "opensfm": ["Features extracted, images", "Image pairs matched"],
           "odm_georeferencing": ["Stereo pairs matched"], "mvs_texturing": ["Photos checked for the faces they see"],
           "odm_orthophoto": ["Photos projected", "Orthophoto rows written"]}
# Long enough (10 s and more here) to be seen midway by a poll on any machine; the shorter stages move the same
# way (tests/localnode/engine/test_console_progress.py) but may end between two polls.
LONG_STAGES = ("opensfm", "odm_georeferencing")


@pytest.fixture(scope="module")
def watched_run(live_node, tmp_path_factory):
    """The survey processed by the node, polled every 0.25 s: (progress values seen, peak engine threads, output)."""
    shots = write_photos(SURVEY, tmp_path_factory.mktemp("survey") / "images")
    task = live_node.node.create_task([str(path) for path, _, _ in shots], OPTIONS)
    task_dir = live_node.data / "tasks" / task.uuid
    seen, peak_threads = [], 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        info = task.info()
        seen.append(info.progress)
        for engine in engine_processes(task_dir):
            try:
                peak_threads = max(peak_threads, engine.num_threads())
            except Exception:  # noqa: BLE001 - it ended between the listing and the count
                pass
        if info.status.value in (COMPLETED, FAILED, CANCELED):
            break
        time.sleep(0.25)
    assert info.status.value == COMPLETED, task.output()
    return seen, peak_threads, task.output()


def stage_spans():
    """Each stage's share of the progress, as (low, high) in percent."""
    total, before, spans = sum(STAGE_WEIGHTS.values()), 0, {}
    for stage in STAGES:
        spans[stage] = (100 * before / total, 100 * (before + STAGE_WEIGHTS[stage]) / total)
        before += STAGE_WEIGHTS[stage]
    return spans


def test_progress_moves_within_the_long_stages(watched_run):
    """Never back; many distinct values; values strictly inside each long stage's share, not only its ends."""
    seen, _, _ = watched_run
    assert seen == sorted(seen) and seen[-1] == 100
    assert len(set(seen)) >= 15, seen
    spans = stage_spans()
    for stage in LONG_STAGES:
        low, high = spans[stage]
        inside = {value for value in seen if low + 0.05 < value < high - 0.05}
        assert len(inside) >= 2, (stage, spans[stage], seen)


def test_the_console_says_how_far_each_counted_step_is(watched_run):
    """Each counted step says "N of M (P %)" as it goes and ends with its total (how often: a line per 10 % or
    20 s, checked in tests/localnode/engine/test_console_progress.py)."""
    _, _, output = watched_run
    for stage, steps in COUNTED.items():
        for step in steps:
            pattern = re.compile(rf"\[{stage}\] {re.escape(step)}: (\d+) of (\d+) \((\d+) %\)")
            counts = [tuple(map(int, m.groups())) for m in map(pattern.fullmatch, output) if m]
            assert counts, (stage, step, output)
            total = counts[-1][1]
            assert counts[-1][0] == total and counts == sorted(counts), counts
            assert all(percent == 100 * done // total for done, _, percent in counts)


def test_the_engine_keeps_to_max_concurrency(watched_run):
    """Peak threads of the engine process within max-concurrency plus its own few (it had 8 before its
    libraries were told: OpenBLAS, OpenMP and GDAL pools sized by the cores)."""
    _, peak_threads, _ = watched_run
    assert 1 <= peak_threads <= OPTIONS["max-concurrency"] + OWN_THREADS, peak_threads
