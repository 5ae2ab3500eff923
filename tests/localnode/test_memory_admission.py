"""Memory admission on a real node with a small LOCALNODE_MEMORY_LIMIT: a task that does not fit beside the
running one waits (and says so in its output), one that can never fit fails at once, saying why."""
import re
from pathlib import Path

import pytest

from localnode.__main__ import parse_settings
from localnode.memory import GB, photos_need, task_need, working_pixels
from tests.localnode.conftest import QUICK
from tests.support.livenode import LiveNode, wait_for_status

QUEUED, RUNNING, FAILED, COMPLETED, CANCELED = 10, 20, 30, 40, 50
WAITING = re.compile(r"Waiting for memory: needs ~(\d+\.\d) GB, (\d+\.\d) GB free \(1 task running\)")


def need_of(photos):
    """The node's estimate for these photos with the default options (bytes)."""
    return photos_need([Path(photo) for photo in photos], [])[0]


@pytest.mark.slow  # runs tasks through the engine on a real node
def test_tasks_wait_for_memory_and_one_too_big_is_refused(tmp_path, photos, few_photos):
    """With room for one small task: a second one waits until the first ends, and all 18 photos are refused."""
    small, large = need_of(few_photos), need_of(photos)
    assert 2 * small > large > small  # the limit below sits between them
    limit = (small + large) / 2
    node = LiveNode(tmp_path / "data", parallel=2, env={"LOCALNODE_MEMORY_LIMIT": f"{limit / GB:.4f}"})
    try:
        too_big = node.node.create_task(photos, QUICK)
        info = wait_for_status(too_big, [FAILED], timeout=20)
        assert info.last_error == (f"Not enough memory: this task needs about {large / GB:.1f} GB (18 photos, "
                                   f"{18 * 2000 * 1125 / 1e6:.0f} megapixels as processed), more than the "
                                   f"{limit / GB:.1f} GB this node may use. Lower resize-to, or process the "
                                   f"photos in smaller parts.")

        first = node.node.create_task(few_photos, {"end-with": "opensfm"})
        wait_for_status(first, [RUNNING])
        second = node.node.create_task(few_photos, QUICK)
        assert second.info().status.value == QUEUED
        said = [m for m in map(WAITING.fullmatch, second.output()) if m]
        assert len(said) == 1 and float(said[0].group(1)) == round(small / GB, 1)
        assert float(said[0].group(2)) == pytest.approx((limit - small) / GB, abs=0.051)
        assert node.get("/info").json()["maxParallelTasks"] == 2  # a free slot, but not the memory

        assert first.cancel()
        wait_for_status(second, [COMPLETED])
        output = second.output()
        assert sum(1 for line in output if line.startswith("Waiting for memory")) == 1
        assert output.index(said[0].group(0)) < output.index("[dataset] Running")
    finally:
        node.stop()


def test_estimate_follows_the_processed_pixels(photos):
    """resize-to shrinks the pixels counted (never enlarges); -1 keeps them."""
    assert working_pixels((4000, 3000), 2048) == pytest.approx(2048 * 1536)
    assert working_pixels((1000, 500), 2048) == 1000 * 500
    assert working_pixels((4000, 3000), -1) == 4000 * 3000
    folder = Path(photos[0]).parent
    full, count, megapixels = task_need(folder, [{"name": "resize-to", "value": -1}])
    halved, _, _ = task_need(folder, [{"name": "resize-to", "value": 1000}])
    assert count == 18 and megapixels == pytest.approx(18 * 2000 * 1125 / 1e6)
    assert halved < full and (full - halved) == pytest.approx(18 * 6 * (2000 * 1125 - 1000 * 562.5), rel=1e-3)


@pytest.mark.parametrize("argument, environment, message", [
    (["--memory-limit", "0"], {}, "--memory-limit must be a positive number of GB"),
    ([], {"LOCALNODE_MEMORY_LIMIT": "lots"}, "LOCALNODE_MEMORY_LIMIT='lots' is not a number"),
])
def test_a_bad_memory_limit_stops_the_node_with_a_clear_message(monkeypatch, capsys, argument, environment,
                                                                message):
    """The node does not start on a limit it cannot use, and says why."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        parse_settings(argument)
    assert stopped.value.code != 0 and message in f"{stopped.value.code} {capsys.readouterr().err}"
