"""Real photos through a real worker process and the built-in node: complete, cancel, restart and remove."""
import pytest

from webapp import storage
from webapp.extensions import db
from webapp.models import PendingAction, TaskStatus
from webapp.nodeclient import NodeClient, NodeRejected
from webapp.services import nodes, rasters, ticks
from tests.jobs.conftest import make_task, reload, wait_for
from tests.support.datasets import dataset_images

pytestmark = pytest.mark.slow  # real worker processes and the built-in node running the engine

FAST = [{"name": "resize-to", "value": 640}, {"name": "fast-orthophoto", "value": True}]
QUICK = FAST + [{"name": "end-with", "value": "dataset"}]  # for the tests about the lifecycle, not the results


@pytest.fixture
def photos():
    """Four overlapping photos of the Brighton Beach survey (the fewest the engine reconstructs at 640 px)."""
    return dataset_images("brighton_beach")[:4]


@pytest.fixture
def node(app, localnode):
    """The live localnode, registered and refreshed."""
    return nodes.add_node("127.0.0.1", localnode)


def ask(task_id, action):
    """Set a pending action and queue the tick, as the API does."""
    task = reload(task_id)
    task.pending_action = action
    db.session.commit()
    ticks.enqueue_tick(task_id)


def status_is(status):
    return lambda task: task is not None and task.status == status and task.pending_action is None


def test_a_task_completes_restarts_from_a_stage_and_is_removed(app, project, node, photos, processes, localnode):
    processes("worker")
    task_id = make_task(project, photos, options=FAST, ground_control_points="gcp_list.txt")
    # A GCP file travels with the photos; its one point, seen in one photo, cannot be placed (the console says so).
    gcp_file = storage.images_dir(project.id, task_id) / "gcp_list.txt"
    gcp_file.write_text(f"EPSG:32615\n576700 5188160 160 1000 560 {photos[0].name} marker\n")
    ticks.enqueue_tick(task_id)
    task = wait_for(task_id, status_is(TaskStatus.COMPLETED), timeout=120, what="completion")
    assert task.processing_node_id == node.id and task.last_error is None and task.processing_time > 0
    assert {"orthophoto.tif", "all.zip"} <= set(task.available_assets)
    orthophoto = storage.assets_dir(project.id, task_id) / "odm_orthophoto" / "odm_orthophoto.tif"
    assert rasters.is_cog(orthophoto) and task.extent is not None
    console = storage.console_path(project.id, task_id).read_text().splitlines()
    assert len(console) == task.console_lines > 5 and console[-1] == "[engine] Processing completed"
    assert "[dataset] gcp_list.txt: 1 ground control point in 1 sighting" in console
    assert any("Control point marker is seen in fewer than 2 placed photos" in line for line in console)
    first_uuid = task.uuid

    task.options = FAST + [{"name": "rerun-from", "value": "odm_orthophoto"}]
    db.session.commit()
    ask(task_id, PendingAction.RESTART)
    task = wait_for(task_id, status_is(TaskStatus.COMPLETED), timeout=120, what="completion after restart")
    assert task.uuid == first_uuid and "orthophoto.tif" in task.available_assets
    console = storage.console_path(project.id, task_id).read_text()
    assert "[dataset]" not in console and "[odm_orthophoto]" in console  # only the stages from rerun-from ran

    ask(task_id, PendingAction.REMOVE)
    wait_for(task_id, lambda t: t is None, timeout=30, what="removal")
    assert not storage.task_dir(project.id, task_id).exists()
    assert first_uuid not in NodeClient("127.0.0.1", localnode).task_uuids()


def test_a_running_task_is_canceled_on_the_node_then_restarted(app, project, node, photos, processes, localnode):
    processes("worker")
    task_id = make_task(project, photos, options=QUICK)
    ticks.enqueue_tick(task_id)
    uuid = wait_for(task_id, lambda t: t.status == TaskStatus.RUNNING, timeout=60, what="running").uuid
    ask(task_id, PendingAction.CANCEL)
    task = wait_for(task_id, status_is(TaskStatus.CANCELED), timeout=30, what="cancel")
    client = NodeClient("127.0.0.1", localnode)
    assert client.task_info(uuid)["status"] == TaskStatus.CANCELED and task.available_assets == []

    ask(task_id, PendingAction.RESTART)
    task = wait_for(task_id, status_is(TaskStatus.COMPLETED), timeout=120, what="completion after restart")
    assert task.uuid == uuid and task.available_assets == ["all.zip"]


def test_a_task_restarted_after_the_node_forgot_it_is_sent_again(app, project, node, photos, processes, localnode):
    processes("worker")
    task_id = make_task(project, photos, options=QUICK)
    ticks.enqueue_tick(task_id)
    uuid = wait_for(task_id, status_is(TaskStatus.COMPLETED), timeout=60, what="completion").uuid
    client = NodeClient("127.0.0.1", localnode)
    client.remove(uuid)
    with pytest.raises(NodeRejected):
        client.task_info(uuid)
    ask(task_id, PendingAction.RESTART)
    task = wait_for(task_id, status_is(TaskStatus.COMPLETED), timeout=60, what="completion after restart")
    assert task.uuid != uuid and task.uuid in client.task_uuids()


def test_a_queued_task_is_canceled_and_removed_before_reaching_a_node(app, project, photos, processes):
    task_id = make_task(project, photos)  # no node registered: it waits
    processes("worker")
    ticks.enqueue_tick(task_id)
    wait_for(task_id, lambda t: t.last_error and "Waiting for a processing node" in t.last_error, timeout=30)
    ask(task_id, PendingAction.CANCEL)
    task = wait_for(task_id, status_is(TaskStatus.CANCELED), timeout=30, what="cancel")
    assert task.uuid == "" and task.processing_node_id is None
    ask(task_id, PendingAction.REMOVE)
    wait_for(task_id, lambda t: t is None, timeout=30, what="removal")
    assert not storage.task_dir(project.id, task_id).exists()
