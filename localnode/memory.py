"""Memory admission: how much memory a task will need, and whether the machine has it for one more task.

The engine's peak grows with the pixels it works on: measured with bench/localnode.py on 2 cores (issue 17),
0.7 GB for 18 photos, 1.0 GB for 20 and 2.0 GB for 75 photos of 12 MP resized to 2048 px, about
BASE_BYTES + BYTES_PER_PIXEL x the working pixels of all the photos (an over-estimate for the smaller sets).
Change the two figures when the engine's memory changes.
"""
import logging

import psutil
from PIL import Image

log = logging.getLogger(__name__)
GB = 1024 ** 3
BASE_BYTES = int(0.65 * GB)   # the engine's libraries and a task of a few photos
BYTES_PER_PIXEL = 6.0         # per working pixel (after resize-to) of every photo
DEFAULT_RESIZE = 2048         # the engine's resize-to default (localnode/engine/options.py)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def working_pixels(size, resize_to):
    """The pixels of a photo of this (width, height) once the engine has resized it (never enlarged)."""
    width, height = size
    longest = max(width, height)
    scale = 1.0 if resize_to <= 0 or longest <= resize_to else resize_to / longest
    return width * scale * height * scale


def task_need(images_dir, options):
    """(bytes the engine will need at its peak, photos counted, their megapixels as processed) of a task."""
    return photos_need(sorted(images_dir.iterdir()), options)


def photos_need(paths, options):
    """task_need for these photo files and task options ([{"name", "value"}] as the client set them)."""
    resize_to = next((o["value"] for o in options if o["name"] == "resize-to"), DEFAULT_RESIZE)
    pixels, count = 0.0, 0
    for path in paths:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            with Image.open(path) as image:  # reads the header only
                pixels += working_pixels(image.size, resize_to)
                count += 1
        except Exception:  # noqa: BLE001 - a photo that cannot be read is left out by the engine too
            continue
    return int(BASE_BYTES + BYTES_PER_PIXEL * pixels), count, pixels / 1e6


def rss(pid):
    """The resident memory of a process and its children (bytes), 0 when it is gone."""
    try:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process] + process.children(recursive=True))
    except psutil.Error:
        return 0


def gigabytes(count):
    """'1.4 GB'."""
    return f"{count / GB:.1f} GB"


class MemoryBudget:
    """The memory the node's tasks may use: the machine's (or LOCALNODE_MEMORY_LIMIT), minus what running
    tasks need, and never more than the machine has available now (other programs use it too)."""

    def __init__(self, limit_bytes=None):
        """limit_bytes: the most the node's tasks may use together; None for the machine's total memory."""
        self.limit = int(limit_bytes) if limit_bytes else psutil.virtual_memory().total

    def free(self, running):
        """Bytes a new task may use now; running: (need, engine pid) of each running task."""
        reserved = sum(need for need, _ in running)
        # What the running engines have not taken yet is still theirs, though the machine shows it available.
        still_to_grow = sum(max(0, need - rss(pid)) if pid else need for need, pid in running)
        return min(self.limit - reserved, psutil.virtual_memory().available - still_to_grow)
