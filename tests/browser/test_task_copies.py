"""In a real browser: from a task's page, duplicate it (the copy opens, with its photos), then move the copy into
another project; a project one may only view is not offered, and a running task offers neither action."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_task, add_user, share
from webapp import storage
from webapp.models import TaskStatus
from webapp.services import projects


def test_duplicate_a_task_then_move_the_copy(page, live_server):
    olga, bob = add_user("olga"), add_user("bob")
    quarry, archive = projects.create_project(olga, "Quarry"), projects.create_project(olga, "Archive")
    share(projects.create_project(bob, "Bob's farm"), olga)  # olga may only view it
    task = add_task(quarry, name="Cliffs", fake_images=2, status=TaskStatus.COMPLETED)
    running = add_task(quarry, name="Busy", status=TaskStatus.RUNNING)
    log_in(page, live_server, "olga")

    page.goto(f"{live_server}/projects/{quarry.id}/tasks/{running.id}/")
    expect(page.get_by_role("button", name="Duplicate task")).to_have_count(0)
    expect(page.get_by_label("Move to")).to_have_count(0)

    page.goto(f"{live_server}/projects/{quarry.id}/tasks/{task.id}/")
    page.get_by_role("button", name="Duplicate task").click()
    expect(page.get_by_role("alert").filter(has_text="This is a copy of “Cliffs”.")).to_be_visible()
    expect(page.get_by_role("heading", name="Cliffs (copy)")).to_be_visible()
    copy_id = int(page.url.rstrip("/").split("/")[-1])
    assert copy_id != task.id and (storage.images_dir(quarry.id, copy_id) / "IMG_0.JPG").exists()

    expect(page.get_by_label("Move to").locator("option")).to_have_text(["Archive"])
    page.get_by_label("Move to").select_option(label="Archive")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Task moved to “Archive”.")).to_be_visible()
    expect(page.get_by_label("breadcrumb")).to_contain_text("Archive")
    assert page.url.endswith(f"/projects/{archive.id}/tasks/{copy_id}/")
    assert (storage.images_dir(archive.id, copy_id) / "IMG_0.JPG").exists()
    page.screenshot(path="/tmp/aerie-task-moved.png", full_page=True)
