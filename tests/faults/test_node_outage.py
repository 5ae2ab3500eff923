"""The processing node stops while a task runs: an outage shorter than NODE_GRACE_SECONDS is ridden out (the node,
restarted, finishes the task); a longer one fails the task with a message saying what happened."""
import time

import pytest

from tests.support.faults import COMPLETED, FAILED, FULL, RUNNING, wait_row

pytestmark = pytest.mark.slow  # a whole stack of processes

RETRY_SECONDS = 2.0  # the pipeline's wait between two attempts after a node fault (webapp.services.pipeline)


def run_until_running(stack, photos, grace):
    """Restart the worker with this grace period, create a task and wait until it runs on the node."""
    stack.restart("worker1", NODE_GRACE_SECONDS=grace)
    project = stack.new_project()
    task_id = stack.create_task(project, photos, FULL)
    wait_row(stack, task_id, lambda r: r["status"] == RUNNING, what="the task to run on the node")
    return project, task_id


def test_a_node_outage_shorter_than_the_grace_period_is_ridden_out(healthy, photos):
    stack = healthy
    project, task_id = run_until_running(stack, photos, grace=40)
    stack.kill("node")
    outage_started = time.monotonic()
    task = stack.wait_task(project, task_id, lambda t: "not answering" in (t["last_error"] or ""), timeout=20,
                           what="the task to say that the node does not answer")
    assert task["status"] == RUNNING
    time.sleep(max(0.0, 4 * RETRY_SECONDS - (time.monotonic() - outage_started)))  # several failed polls
    assert stack.task(project, task_id)["status"] == RUNNING
    stack.start_process("node")  # the node keeps its tasks on disk and takes the running one up again
    task = stack.wait_finished(project, task_id, timeout=90)
    assert task["status"] == COMPLETED and task["last_error"] is None, task
    assert stack.node_tasks().count(task["uuid"]) == 1
    stack.restart("worker1", NODE_GRACE_SECONDS=600)


def test_a_node_outage_longer_than_the_grace_period_fails_the_task_with_a_message(healthy, photos):
    stack = healthy
    project, task_id = run_until_running(stack, photos, grace=5)
    stack.kill("node")
    task = stack.wait_finished(project, task_id, timeout=40)
    assert task["status"] == FAILED
    assert "did not answer for" in task["last_error"] and "restart the task" in task["last_error"], task
    stack.start_process("node")
    stack._wait_ready("node")
    stack.restart("worker1", NODE_GRACE_SECONDS=600)
    # The user restarts it once the node is back: it completes on the same node, without a second copy there.
    assert stack.user.post(stack.task_url(project, task_id) + "restart/").json() == {"success": True}
    task = stack.wait_task(project, task_id, lambda t: t["status"] == COMPLETED and t["pending_action"] is None,
                           timeout=90, what="completion after the restart")
    assert stack.node_tasks().count(task["uuid"]) == 1
