"""The media disk fills up during a chunked upload: the server says so in a clear JSON error, loses nothing it had
stored, and the upload resumes where it stopped once space is freed."""
import shutil
import subprocess

import pytest

from tests.faults.conftest import MEDIA_MB
from tests.support.faults import COMPLETED, FULL, chunks_of, send_chunk

pytestmark = pytest.mark.slow  # a whole stack of processes

MB = 1024 * 1024


def resize(folder, size_mb):
    """Change the size of the media tmpfs (it cannot shrink below what it holds)."""
    subprocess.run(["mount", "-o", f"remount,size={size_mb}m", str(folder)], check=True, capture_output=True)


def test_a_full_disk_during_an_upload_gives_a_clear_error_and_the_upload_resumes(healthy, media, photos):
    folder, why_not = media
    if why_not is not None:
        pytest.skip(f"no small file system for the media folder here (mount needs root): {why_not}")
    stack = healthy
    project = stack.new_project()
    created = stack.user.post(f"{stack.base}/api/projects/{project}/tasks/", data={"partial": "true",
                                                                                    "options": FULL})
    task_id = created.json()["id"]
    upload_url = stack.task_url(project, task_id) + "upload/"
    pending = [(path.name, fields, block) for path in photos for fields, block in chunks_of(path, 256 * 1024)]

    used_mb = shutil.disk_usage(folder).used / MB
    resize(folder, int(used_mb) + 4)  # room for about half of the photos
    refused = None
    try:
        while pending:
            name, fields, block = pending[0]
            answer = send_chunk(stack.user, upload_url, name, fields, block)
            if answer.status_code != 200:
                refused = answer
                break
            pending.pop(0)
    finally:
        resize(folder, MEDIA_MB)
    assert refused is not None, "the disk never filled up"
    assert refused.status_code == 507 and refused.headers["Content-Type"] == "application/json", refused.text
    assert "disk" in refused.json()["detail"].lower() and "Traceback" not in refused.text
    assert stack.task(project, task_id)["partial"] is True  # the task is still receiving images

    for name, fields, block in pending:  # the client sends again the chunk that failed, then the rest
        answer = send_chunk(stack.user, upload_url, name, fields, block)
        assert answer.status_code == 200, answer.text
    committed = stack.user.post(stack.task_url(project, task_id) + "commit/")
    assert committed.status_code == 200, committed.text
    images = folder / "project" / str(project) / "task" / str(task_id) / "images"
    for path in photos:
        assert (images / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs"
    task = stack.wait_finished(project, task_id)
    assert task["status"] == COMPLETED, task["last_error"]
