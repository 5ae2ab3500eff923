"""In a real browser: the task page follows its task and console live, and asks before removing it."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_task
from webapp import storage
from webapp.extensions import db
from webapp.models import PendingAction, Task, TaskStatus
from webapp.services import projects


def running_task(project, **fields):
    """A task as the pipeline leaves it while running on a node."""
    return add_task(project, name="Cliffs", images_count=3, uuid="node-uuid", upload_progress=1.0, **fields)


def write(task, **fields):
    """Change the stored task as the worker would (in its own transaction)."""
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    for name, value in fields.items():
        setattr(stored, name, value)
    db.session.commit()


def test_the_console_and_progress_follow_a_running_task_without_reloading(page, live_server, admin):
    project = projects.create_project(admin, "Coast")
    task = running_task(project, status=TaskStatus.RUNNING, running_progress=0.2, processing_time=4_000)
    console = storage.console_path(project.id, task.id)
    console.parent.mkdir(parents=True)
    console.write_text("[dataset] Running\n")
    log_in(page, live_server, "admin", "admin-password")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{task.id}/")
    expect(page.locator("#console")).to_have_text("[dataset] Running\n")
    page.evaluate("window.notReloaded = true")

    with console.open("a") as out:
        out.write("[opensfm] Running\n[opensfm] Matched 2 image pairs\n")
    write(task, running_progress=0.6, processing_time=9_000)
    expect(page.locator("#console")).to_contain_text("[opensfm] Matched 2 image pairs", timeout=10_000)
    expect(page.locator("#task-state [data-progress=processing]")).to_have_attribute("aria-valuenow", "60")
    assert page.evaluate("window.notReloaded") is True
    first = page.locator("#task-state .elapsed").text_content()
    page.wait_for_timeout(1_500)
    assert page.locator("#task-state .elapsed").text_content() != first, "the elapsed time ticks"

    write(task, status=TaskStatus.FAILED, last_error="Processing failed: the node ran out of memory.")
    expect(page.locator("#task-error")).to_contain_text("ran out of memory", timeout=10_000)
    expect(page.locator("#task-error")).to_contain_text("smaller resize-to")
    expect(page.locator("#task-state [data-field=status]")).to_have_text("Failed")


def test_remove_asks_first(page, live_server, admin):
    project = projects.create_project(admin, "Coast")
    task = running_task(project, status=TaskStatus.COMPLETED, processing_time=60_000, running_progress=1.0)
    log_in(page, live_server, "admin", "admin-password")
    page.goto(f"{live_server}/projects/{project.id}/tasks/{task.id}/")

    answers, questions = [False, True], []

    def answer(dialog):
        """Say no the first time, yes the second."""
        questions.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("button", name="Remove task").click()
    expect(page.get_by_role("heading", name="Cliffs")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Task, task.id).pending_action is None

    page.get_by_role("button", name="Remove task").click()
    expect(page.get_by_role("alert").filter(has_text="“Cliffs” is being removed")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Task, task.id).pending_action == PendingAction.REMOVE
    assert questions == ["Remove “Cliffs” with its photos and results? This cannot be undone."] * 2
