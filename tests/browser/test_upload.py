"""In a real browser: a new task from real photos, sent in chunks through the API; retries, resume after a reload,
the options editor, presets and the GCP file."""
import json
import re
import math

import pytest
from playwright.sync_api import expect

from localnode.engine.options import OPTIONS
from tests.support.factories import add_node
from tests.support.browser import SMALL_CHUNK, ChunkGate, drop_files, log_in, use_small_chunks
from tests.support.datasets import dataset_images
from webapp import storage
from webapp.extensions import db
from webapp.models import Preset, Task
from webapp.services import projects


@pytest.fixture
def photos():
    """Three real drone photos (about 1 MB each)."""
    return dataset_images("brighton_beach")[:3]


@pytest.fixture
def gate(app):
    """Watches (and may refuse) the chunks reaching the live server."""
    return ChunkGate(app)


@pytest.fixture
def project(admin):
    """A project of the administrator."""
    return projects.create_project(admin, "Brighton beach")


def all_chunks(paths):
    """Every (file name, chunk index) of the files in SMALL_CHUNK pieces."""
    return sorted((p.name, i) for p in paths for i in range(math.ceil(p.stat().st_size / SMALL_CHUNK)))


def the_only_task():
    """The one task in the database, read afresh (the live server wrote it in another session)."""
    db.session.expire_all()
    return Task.query.one()


def assert_images_stored(task, paths):
    """The task's images on disk are exactly the photos."""
    folder = storage.images_dir(task.project_id, task.id)
    assert sorted(f.name for f in folder.iterdir()) == sorted(p.name for p in paths)
    for path in paths:
        assert (folder / path.name).read_bytes() == path.read_bytes(), path.name


def open_new_task(page, live_server, project):
    """Log in and open the project's new-task page from the dashboard."""
    log_in(page, live_server, "admin", "admin-password")
    page.get_by_role("link", name=f"New task in {project.name}").click()
    expect(page.get_by_role("heading", name=f"New task in “{project.name}”")).to_be_visible()


def test_dropped_photos_are_sent_in_chunks_once_and_processing_starts(page, live_server, gate, project, photos):
    open_new_task(page, live_server, project)
    expect(page.locator("#no-node")).to_contain_text("No processing node yet")
    use_small_chunks(page)
    drop_files(page, photos)
    expect(page.locator("#file-list .file-item")).to_have_count(3)
    expect(page.locator("#file-summary")).to_contain_text("3 images")
    page.get_by_label("Task name").fill("Beach north")
    page.get_by_role("button", name="Upload and start processing").click()

    expect(page.get_by_role("heading", name="Beach north")).to_be_visible(timeout=30_000)
    assert sorted(gate.sent()) == all_chunks(photos)
    task = the_only_task()
    assert (task.name, task.partial, task.images_count, task.auto_processing_node) == ("Beach north", False, 3, True)
    assert_images_stored(task, photos)
    expect(page.locator("#task-details")).to_contain_text("3 images")
    expect(page.locator("[data-field=status]")).to_have_text("Waiting for a node")
    assert page.evaluate("localStorage.length") == 0, "the finished upload is forgotten"


def test_a_lost_connection_is_retried_and_no_chunk_is_sent_twice(page, live_server, gate, project, photos):
    open_new_task(page, live_server, project)
    use_small_chunks(page, retry_delay_ms=300)
    connection = {"up": True, "passed": 0, "dropped": 0}

    def drop_after_three(route):
        """Three chunks get through, then the connection is down until the test brings it back."""
        if connection["passed"] >= 3 and not connection["up"]:
            connection["dropped"] += 1
            route.abort("internetdisconnected")
        else:
            connection["passed"] += 1
            if connection["passed"] == 3:
                connection["up"] = False
            route.continue_()

    page.route("**/upload/", drop_after_three)
    drop_files(page, photos)
    page.get_by_role("button", name="Upload and start processing").click()
    expect(page.locator("#upload-status")).to_contain_text("retrying", timeout=15_000)
    expect(page.locator("#upload-error")).to_be_hidden()
    assert len(gate.sent()) == 3
    connection["up"] = True
    page.get_by_role("button", name="Retry now").click()

    expect(page.get_by_role("heading", name="Task #")).to_be_visible(timeout=30_000)
    assert connection["dropped"] >= 2, "both files waiting were refused at least once"
    assert sorted(gate.sent()) == all_chunks(photos), "every chunk reached the server exactly once"
    assert_images_stored(the_only_task(), photos)


def test_after_a_reload_the_upload_resumes_without_sending_finished_files_again(page, live_server, gate, project,
                                                                              photos):
    first, second, third = photos
    open_new_task(page, live_server, project)
    use_small_chunks(page)
    # The server takes the first photo and two chunks of the second, then refuses everything.
    gate.refuse = lambda name, index: not (name == first.name or (name == second.name and index < 2))
    drop_files(page, photos)
    page.get_by_label("Task name").fill("Interrupted")
    page.get_by_role("button", name="Upload and start processing").click()
    page.wait_for_function("""([key, first, second]) => {
        const state = JSON.parse(localStorage.getItem(key) || "null");
        const entries = state ? Object.values(state.files) : [];
        return entries.some((e) => e.name === first && e.done) &&
            entries.some((e) => e.name === second && e.received.length === 2);
    }""", arg=[f"aerie-upload-project-{project.id}", first.name, second.name], timeout=30_000)
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page while uploading?"
    page.reload()
    gate.refuse = lambda name, index: False
    reloaded_at = len(gate.attempts)

    expect(page.locator("#resume-banner")).to_contain_text(
        "“Interrupted” was interrupted: 1 file complete on the server, 1 partly sent")
    drop_files(page, photos)
    expect(page.locator("#file-list .file-item[data-state=done]")).to_contain_text("already on the server")
    page.get_by_role("button", name="Resume the upload").click()

    expect(page.get_by_role("heading", name="Interrupted")).to_be_visible(timeout=30_000)
    after = gate.sent(reloaded_at)
    assert first.name not in {name for name, _ in after}, "a finished file was sent again"
    assert sorted(index for name, index in after if name == second.name) == \
        list(range(2, math.ceil(second.stat().st_size / SMALL_CHUNK))), "the half-sent photo went on where it stopped"
    assert gate.taken() == all_chunks(photos), "each chunk was taken once"
    task = the_only_task()
    assert (task.name, task.partial, task.images_count) == ("Interrupted", False, 3)
    assert_images_stored(task, photos)


@pytest.fixture
def node(app):
    """A processing node record offering the built-in engine's options (its server is not needed here)."""
    return add_node(hostname="127.0.0.1", port=1, label="Built-in", available_options=OPTIONS, online=True)


def test_options_from_the_node_are_checked_saved_as_a_preset_and_sent(page, live_server, project, photos, node,
                                                                       tmp_path):
    gcp = tmp_path / "gcp_list.txt"
    gcp.write_text("EPSG:4326\n-0.14 50.82 10.0 100 200 DJI_0018.JPG\n")
    open_new_task(page, live_server, project)
    expect(page.locator("#no-node")).to_have_count(0)
    page.get_by_label("Processing node").select_option(label="Built-in (0 in queue)")
    page.get_by_label("Preset", exact=True).select_option(label="Fast Orthophoto")
    page.locator("#options-panel summary").click()
    expect(page.get_by_label("fast-orthophoto", exact=True)).to_be_checked()
    page.get_by_label("orthophoto-resolution", exact=True).fill("-1")
    page.get_by_label("Images").set_input_files([str(p) for p in photos])
    page.get_by_label("Ground control points").set_input_files(str(gcp))
    expect(page.locator("#file-summary")).to_contain_text("3 images and a GCP file")
    api_posts = []
    page.on("request", lambda r: r.method == "POST" and "/api/" in r.url and api_posts.append(r.url))
    page.get_by_role("button", name="Upload and start processing").click()

    expect(page.locator("#upload-error")).to_contain_text("An option has a value the node would refuse")
    expect(page.locator("#option-orthophoto-resolution-error")).to_have_text("Out of range (float > 0).")
    assert api_posts == [] and Task.query.count() == 0

    page.get_by_label("orthophoto-resolution", exact=True).fill("2.5")
    page.get_by_label("Save as preset").fill("Sharp and fast")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#preset-message")).to_have_text("Preset “Sharp and fast” saved.")
    db.session.expire_all()
    saved = Preset.query.filter_by(name="Sharp and fast").one()
    expected_options = [{"name": "fast-orthophoto", "value": True}, {"name": "orthophoto-resolution", "value": 2.5}]
    assert saved.options == expected_options and not saved.system
    expect(page.get_by_label("Preset", exact=True)).to_have_value(str(saved.id))

    page.get_by_role("button", name="Upload and start processing").click()
    expect(page.get_by_role("heading", name="Task #")).to_be_visible(timeout=30_000)
    task = the_only_task()
    assert task.options == expected_options
    assert (task.processing_node_id, task.auto_processing_node) == (node.id, False)
    assert task.ground_control_points == "gcp_list.txt"
    assert_images_stored(task, photos + [gcp])
    expect(page.locator("#task-options")).to_contain_text("orthophoto-resolution: 2.5")
    assert json.loads(page.locator("#task-data").text_content())["images_count"] == 3


def test_a_file_that_is_not_an_image_is_refused_and_the_rest_goes_on(page, live_server, gate, project, photos,
                                                                     tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_bytes(b"these are field notes, not a photo\n" * 100)
    open_new_task(page, live_server, project)
    drop_files(page, photos + [fake])
    page.get_by_role("button", name="Upload and start processing").click()

    refused = page.locator("#file-list .file-item[data-state=failed]")
    expect(refused).to_contain_text("refused: Not an image: notes.jpg.", timeout=30_000)
    expect(page.locator("#upload-error")).to_contain_text("notes.jpg was refused")
    expect(page.locator("#file-list .file-item[data-state=done]")).to_have_count(3)
    before = len(gate.attempts)
    page.get_by_role("button", name="Remove notes.jpg").click()
    page.get_by_role("button", name="Resume the upload").click()

    expect(page.get_by_role("heading", name="Task #")).to_be_visible(timeout=30_000)
    assert gate.sent(before) == [], "nothing was sent again"
    task = the_only_task()
    assert (task.partial, task.images_count) == (False, 3)
    assert_images_stored(task, photos)


def test_an_interrupted_upload_can_be_discarded(page, live_server, gate, project, photos):
    open_new_task(page, live_server, project)
    gate.refuse = lambda name, index: name == photos[1].name
    drop_files(page, photos[:2])
    page.get_by_role("button", name="Upload and start processing").click()
    expect(page.locator("#upload-status")).to_contain_text("retrying", timeout=15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()

    expect(page.locator("#resume-banner")).to_contain_text("1 file complete on the server.")
    page.get_by_role("button", name="Discard the interrupted upload").click()
    expect(page.locator("#resume-banner")).to_be_hidden()
    expect(page.get_by_role("button", name="Upload and start processing")).to_be_enabled()
    assert page.evaluate("localStorage.length") == 0
    db.session.expire_all()
    assert Task.query.count() == 0


def fresh_page(browser, errors):
    """A page in a browser context of its own (own cookies, empty localStorage), its JavaScript errors collected."""
    context = browser.new_context()
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    return new_page


def test_an_interrupted_upload_resumes_from_another_browser_sending_only_what_the_server_lacks(
        browser, live_server, gate, project, photos):
    first, second, third = photos
    errors = []
    before = fresh_page(browser, errors)
    open_new_task(before, live_server, project)
    use_small_chunks(before)
    # The server takes the first photo and two chunks of the second, then refuses everything.
    gate.refuse = lambda name, index: not (name == first.name or (name == second.name and index < 2))
    drop_files(before, photos)
    before.get_by_label("Task name").fill("Bad connection")
    before.get_by_role("button", name="Upload and start processing").click()
    expect(before.locator("#upload-status")).to_contain_text("retrying", timeout=30_000)
    before.wait_for_function("""(key) => {
        const files = Object.values(JSON.parse(localStorage.getItem(key) || "null")?.files || {});
        return files.filter((e) => e.done).length === 1 && files.some((e) => e.received.length === 2);
    }""", arg=f"aerie-upload-project-{project.id}", timeout=30_000)
    before.context.close()  # the first computer is gone, and its localStorage with it
    assert gate.taken() == [(first.name, i) for i in range(math.ceil(first.stat().st_size / SMALL_CHUNK))] + \
        [(second.name, 0), (second.name, 1)]
    gate.refuse = lambda name, index: False
    resumed_at = len(gate.attempts)

    after = fresh_page(browser, errors)
    log_in(after, live_server, "admin", "admin-password")
    assert after.evaluate("localStorage.length") == 0
    after.get_by_role("link", name="Upload interrupted — resume Bad connection").click()
    expect(after.locator("#resume-banner")).to_contain_text(
        "“Bad connection” was interrupted: 1 file complete on the server, 1 partly sent")
    expect(after.get_by_label("Task name")).to_have_value("Bad connection")
    posts = []
    after.on("request", lambda r: r.method == "POST" and "/upload/" in r.url and posts.append(r.url))
    drop_files(after, photos)  # the page's own chunk size (2 MB): the half photo keeps the size it began with
    expect(after.locator("#file-list .file-item[data-state=done]")).to_have_text(re.compile("already on the server"))
    after.get_by_role("button", name="Resume the upload").click()

    expect(after.get_by_role("heading", name="Bad connection")).to_be_visible(timeout=30_000)
    sent = gate.sent(resumed_at)
    missing_of_second = [(second.name, i) for i in range(2, math.ceil(second.stat().st_size / SMALL_CHUNK))]
    assert sorted(sent) == sorted(missing_of_second + [(third.name, 0)]), "only what the server lacked was sent"
    assert len(posts) == len(sent), "each missing chunk was sent once"
    task = the_only_task()
    assert (task.name, task.partial, task.images_count) == ("Bad connection", False, 3)
    assert_images_stored(task, photos)
    after.context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"
