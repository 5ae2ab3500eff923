"""In a real browser, with a real worker and the built-in node: a failed task's node and options are edited on its
page ("Edit and restart", the new-task page's options editor) and it is processed again with them; a bad value is
refused on the page and saves nothing."""
import re

from playwright.sync_api import expect

from tests.jobs.conftest import processes  # noqa: F401  (the fixture starting real `flask worker` processes)
from tests.support.browser import log_in
from tests.support.datasets import dataset_images
from tests.support.factories import add_node, add_task, add_user
from tests.support.livenode import LiveNode
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import nodes, projects

RESULTS_SECONDS = 120


def stored(task_id):
    """The task as the database has it now."""
    db.session.expire_all()
    return db.session.get(Task, task_id)


def test_edit_the_node_and_options_of_a_failed_task_then_it_runs_with_them(page, live_server, processes, tmp_path):
    olga = add_user("olga")
    project = projects.create_project(olga, "Coast")
    node = LiveNode(tmp_path / "node")
    try:
        built_in = nodes.add_node("127.0.0.1", node.port, label="Built-in")
        # The node the task failed on: offline now, with the options it offered.
        gone = add_node(hostname="gone.example", label="Old node", available_options=built_in.available_options)
        task = add_task(project, name="Dunes", images=dataset_images("brighton_beach")[:3], status=TaskStatus.FAILED,
                        processing_node_id=gone.id, auto_processing_node=False, last_error="The node went away.",
                        options=[{"name": "dsm", "value": True}])
        log_in(page, live_server, "olga")
        page.goto(f"{live_server}/projects/{project.id}/tasks/{task.id}/")
        page.get_by_text("Edit and restart").click()
        panel = page.locator("#edit-restart")
        expect(panel.get_by_label("Processing node")).to_have_value(str(gone.id))
        expect(panel.get_by_label("dsm", exact=True)).to_be_checked()  # the task's own options fill the editor
        expect(panel.locator("#options-count")).to_have_text("1 changed")

        panel.get_by_label("Processing node").select_option(str(built_in.id))
        panel.get_by_label("resize-to").fill("small")
        panel.get_by_role("button", name="Save and restart").click()
        expect(panel.locator("#option-resize-to-error")).to_have_text("Enter a number.")
        assert stored(task.id).processing_node_id == gone.id and stored(task.id).pending_action is None

        panel.get_by_label("resize-to").fill("640")
        panel.get_by_label("dsm", exact=True).uncheck()
        panel.get_by_label("end-with").select_option("dataset")
        page.screenshot(path="/tmp/aerie-task-edit-restart.png", full_page=True)
        panel.get_by_role("button", name="Save and restart").click()
        status = page.locator("#task-state [data-field=status]")
        expect(status).not_to_have_text("Failed")  # the page reloaded on the restarted task
        task = stored(task.id)
        assert task.processing_node_id == built_in.id and task.auto_processing_node is False
        assert {o["name"]: o["value"] for o in task.options} == {"end-with": "dataset", "resize-to": 640}

        processes("worker")
        expect(status).to_have_text(re.compile("Completed|Failed"), timeout=RESULTS_SECONDS * 1000)
        console = page.locator("#console")
        assert status.text_content() == "Completed", console.text_content()
        expect(console).to_contain_text("end-with=dataset")  # the engine ran with the new options
        expect(console).to_contain_text("resize-to=640")
        expect(console).to_contain_text("dsm=False")
        expect(page.locator("#task-details")).to_contain_text("Built-in")
    finally:
        node.stop()



def test_a_node_that_lists_no_options_keeps_the_tasks_own(page, live_server):
    olga = add_user("olga")
    project = projects.create_project(olga, "Coast")
    unknown = add_node(hostname="never.example", label="Never reached")  # no options known yet
    task = add_task(project, name="Dunes", fake_images=2, status=TaskStatus.CANCELED, processing_node_id=unknown.id,
                    auto_processing_node=False, options=[{"name": "dsm", "value": True}])
    log_in(page, live_server, "olga")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{task.id}/")
    page.get_by_text("Edit and restart").click()
    panel = page.locator("#edit-restart")
    expect(panel.locator("[data-option]")).to_have_count(0)
    panel.get_by_label("Restart from").select_option("odm_orthophoto")
    panel.get_by_role("button", name="Save and restart").click()
    expect(page.locator("#task-state [data-field=status]")).not_to_have_text("Canceled")
    task = stored(task.id)
    assert task.pending_action is not None and task.processing_node_id == unknown.id
    assert task.options == [{"name": "dsm", "value": True}, {"name": "rerun-from", "value": "odm_orthophoto"}]
