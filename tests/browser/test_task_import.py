"""In a real browser: a project's "Import" takes a results zip, sends it in chunks with a progress bar and opens the
completed task; a file that is not a results zip, a private address and an empty form are refused with their
message, and create nothing."""
import os

from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_user
from tests.support.images import results_zip
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import projects

CHUNK = 64 * 1024


def tasks_in_database():
    """How many tasks are stored."""
    db.session.expire_all()
    return Task.query.count()


def test_import_a_results_zip_with_progress_then_bad_input(page, live_server, tmp_path):
    project = projects.create_project(add_user("olga"), "Coast")
    archive = tmp_path / "all.zip"  # incompressible content: the zip is as big as it says, 5 chunks
    archive.write_bytes(results_zip({"odm_orthophoto/odm_orthophoto.tif": b"II*\0" + os.urandom(300_000),
                                     "cameras.json": b"{}"}))
    progress = []  # the bar's values as the page sets them (the page is gone once the task opens)
    page.expose_function("recordProgress", lambda value: progress.append(value))
    log_in(page, live_server, "olga")
    page.get_by_role("link", name="Import a task into Coast").click()
    expect(page.get_by_role("heading", name="Import a task into “Coast”")).to_be_visible()
    page.wait_for_selector("#import-form[data-ready]", state="attached")
    page.evaluate("""(chunk) => {
        document.getElementById("import-form").dataset.chunkSize = String(chunk);
        const bar = document.getElementById("import-bar");
        new MutationObserver(() => window.recordProgress(Number(bar.getAttribute("aria-valuenow"))))
            .observe(bar, {attributes: true, attributeFilter: ["aria-valuenow"]});
    }""", CHUNK)

    page.get_by_role("button", name="Import").click()  # nothing chosen
    expect(page.get_by_role("alert")).to_have_text("Choose a results zip, or give its address.")

    page.get_by_label("Or the address of a results zip").fill("http://127.0.0.1/all.zip")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("private, loopback or local network addresses are not allowed")

    not_a_zip = tmp_path / "notes.zip"
    not_a_zip.write_bytes(b"these are notes, not a zip" * 100)
    page.get_by_label("Or the address of a results zip").fill("")
    page.get_by_label("Results zip (all.zip)").set_input_files(str(not_a_zip))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid zip file")
    page.screenshot(path="/tmp/aerie-task-import-refused.png", full_page=True)
    assert tasks_in_database() == 0

    page.get_by_label("Results zip (all.zip)").set_input_files(str(archive))
    page.get_by_label("Task name").fill("Survey from elsewhere")
    progress.clear()
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Survey from elsewhere")).to_be_visible(timeout=30_000)
    expect(page.locator("#task-state [data-field=status]")).to_have_text("Completed")
    expect(page.get_by_role("link", name="orthophoto.tif", exact=True)).to_be_visible()
    task = Task.query.one()
    assert task.status == TaskStatus.COMPLETED and task.name == "Survey from elsewhere"
    assert (task.size * 1024 * 1024) > 300_000
    assert progress == sorted(progress) and progress[-1] == 100 and len(set(progress)) >= 5, progress
