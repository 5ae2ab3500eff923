"""In a real browser, with a real worker and the built-in node: first run, a project, three real photos dropped on
the page, cancel, restart, processing to the end, the live console and the downloads."""
import re
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from tests.support.browser import drop_files
from tests.jobs.conftest import processes  # noqa: F401  (the fixture starting real `flask worker` processes)
from tests.support.livenode import LiveNode
from tests.support.datasets import dataset_images
from webapp.services import nodes

RESULTS_SECONDS = 240
# README's pictures of a first task (docs/first-task-*.png) are these screenshots.
SCREENSHOTS = "/tmp/aerie-first-task-{}.png"


def test_from_first_run_to_downloaded_results_with_a_cancel_and_a_restart(page, live_server, processes, tmp_path):
    photos = dataset_images("brighton_beach")[:3]
    node = LiveNode(tmp_path / "node")
    try:
        nodes.add_node("127.0.0.1", node.port, label="Built-in")  # as `make run` registers its built-in node
        page.goto(live_server + "/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password", exact=True).fill("long-password")
        page.get_by_label("Repeat password").fill("long-password")
        page.get_by_role("button", name="Create administrator").click()
        expect(page.get_by_text("No project yet")).to_be_visible()
        page.get_by_label("Name").fill("Brighton beach")
        page.get_by_role("button", name="Create project").click()
        page.get_by_role("link", name="New task in Brighton beach").click()

        drop_files(page, photos)
        page.get_by_label("Task name").fill("Beach")
        page.get_by_label("Preset", exact=True).select_option(label="Fast Orthophoto")
        page.screenshot(path=SCREENSHOTS.format("upload"), full_page=True)
        page.get_by_role("button", name="Upload and start processing").click()
        status = page.locator("#task-state [data-field=status]")
        expect(page.get_by_role("heading", name="Beach")).to_be_visible(timeout=30_000)
        expect(status).to_have_text("Waiting for a node")

        # No worker runs yet, so the task is surely still queued when it is canceled.
        page.get_by_role("button", name="Cancel processing").click()
        expect(page.get_by_role("alert").filter(has_text="Canceling the task")).to_be_visible()
        expect(status).to_have_text("Canceling…")
        processes("worker")
        expect(status).to_have_text("Canceled", timeout=60_000)

        page.get_by_role("button", name="Restart").click()
        expect(status).to_have_text(re.compile("Completed|Failed"), timeout=RESULTS_SECONDS * 1000)
        failure = page.locator("#task-error").all_text_contents() + [page.locator("#console").text_content()]
        assert status.text_content() == "Completed", "\n".join(failure)
        expect(page.locator("#console")).to_contain_text("Processing completed")
        expect(page.locator("#task-options")).to_contain_text("fast-orthophoto: true")
        page.screenshot(path=SCREENSHOTS.format("results"), full_page=True)

        with page.expect_download() as everything:
            page.get_by_role("link", name="All assets (all.zip)").click()
        with zipfile.ZipFile(everything.value.path()) as archive:
            assert "odm_orthophoto/odm_orthophoto.tif" in archive.namelist()
        with page.expect_download() as orthophoto:
            page.get_by_role("link", name="orthophoto.tif", exact=True).click()
        assert Path(orthophoto.value.path()).read_bytes()[:4] in (b"II*\0", b"MM\0*")
        with page.expect_download() as report:  # the engine's quality report
            page.get_by_role("link", name="Quality report (PDF)").click()
        assert Path(report.value.path()).read_bytes().startswith(b"%PDF-")

        page.get_by_role("link", name="Dashboard").first.click()
        row = page.locator(".task-row").filter(has_text="Beach")
        expect(row.locator("[data-field=status]")).to_have_text("Completed")
        expect(row.locator("[data-progress=processing]")).to_have_attribute("aria-valuenow", "100")
        page.screenshot(path=SCREENSHOTS.format("dashboard"), full_page=True)
    finally:
        node.stop()
