"""In a real browser: the dashboard's task rows follow their tasks live, and the elapsed time survives a reload."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_task
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import projects, tasks


def test_task_rows_follow_their_tasks_without_reloading(page, live_server, admin):
    project = projects.create_project(admin, "Coast")
    task = add_task(project, name="Cliffs", images_count=3, status=TaskStatus.QUEUED)
    add_task(project, name="Old run", images_count=5, status=TaskStatus.COMPLETED, processing_time=61_000,
             running_progress=1.0, upload_progress=1.0)
    log_in(page, live_server, "admin", "admin-password")
    row = page.locator(".task-row").filter(has_text="Cliffs")
    expect(row.locator("[data-field=status]")).to_have_text("Waiting for a node")
    expect(page.locator(".task-row").filter(has_text="Old run")).to_contain_text("1m 01s")
    page.evaluate("window.notReloaded = true")

    tasks.cancel_task(task)
    expect(row.locator("[data-field=status]")).to_have_text("Canceling…", timeout=10_000)
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    stored.pending_action, stored.status, stored.uuid = None, TaskStatus.RUNNING, "node-uuid"
    stored.upload_progress, stored.running_progress, stored.processing_time = 1.0, 0.5, 120_000
    db.session.commit()
    expect(row.locator("[data-field=status]")).to_have_text("Running", timeout=10_000)
    expect(row.locator("[data-progress=processing]")).to_have_attribute("aria-valuenow", "50")
    expect(row.locator("[data-progress=node]")).to_have_attribute("aria-valuenow", "100")
    expect(row.locator(".elapsed")).to_contain_text("2m 0")
    assert page.evaluate("window.notReloaded") is True

    shown = int(row.locator(".elapsed").get_attribute("data-elapsed-ms"))
    page.reload()
    after_reload = int(row.locator(".elapsed").get_attribute("data-elapsed-ms"))
    assert shown <= after_reload < shown + 15_000, "a reload shows the time the page was counting"
