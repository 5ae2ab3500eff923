"""Fixtures of the fault tests: one real stack (separate processes) for all of them, its media folder on a small
file system of its own (a tmpfs, so that a test can make the disk full), photos, and the invariant checks."""
import subprocess

import pytest

from tests.support.datasets import dataset_images
from tests.support.stack import Stack

MEDIA_MB = 256  # the media file system's size; the disk-full test shrinks it to just above what is used


def mount_tmpfs(folder, size_mb):
    """Mount a tmpfs of size_mb on folder; the reason when it cannot be done here (None when mounted)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stderr.strip() or f"mount exited {done.returncode}")


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """The media folder: a tmpfs of MEDIA_MB when mounting works here (root), else a plain folder; (path, why not)."""
    folder = tmp_path_factory.mktemp("faults") / "media"
    why_not = mount_tmpfs(folder, MEDIA_MB)
    yield folder, why_not
    if why_not is None:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, media):
    """The whole Aerie as separate processes: Redis, localnode, gunicorn, one worker, the scheduler."""
    folder, _ = media
    running = Stack(tmp_path_factory.mktemp("stack"), media_root=folder).start()
    yield running
    running.close()


@pytest.fixture
def healthy(stack):
    """The stack as each test expects to find it: every process running, the node reached at full speed.

    After the test, the invariants of a stack at rest are checked (every task ended, one node copy per task,
    no orphaned folders), and a process a test left stopped is started again for the next one.
    """
    stack.link.rate = None
    for name in stack.commands:
        if not stack.alive(name):
            stack.start_process(name)
    yield stack
    stack.link.rate = None
    stack.check_invariants()


@pytest.fixture(scope="session")
def photos():
    """Eight photos of the Brighton Beach survey, as the end-to-end API test uses."""
    return dataset_images("brighton_beach")[:8]
