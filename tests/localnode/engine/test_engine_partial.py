"""A survey the engine can only partly make: it finishes with what it can and says what it left out, and why.

The synthetic survey (tests/support/synthetic_survey.py) flown with a gap: three strips of five photos, the
first three of each 45 m from the last two, while a photo covers 39 m along the strip, so the flight falls into
two parts that do not overlap. One photo of the larger part lost its GPS position, and the upload also holds a
truncated photo, a text file named as a photo and a PDF. One engine run (14 photos of 640x480, fast
orthophoto, no 3D model) costs about 20 s of CPU.
"""
import json

import pytest
from PIL import Image

from tests.support.enginerun import run_engine, write_options
from tests.support.synthetic_survey import GPS_IFD, Survey, write_photos

pytestmark = pytest.mark.slow  # runs the engine

SURVEY = Survey(ground_size=(110.0, 140.0), image_size=(640, 480), focal_px=560.0,
                along=(-45.0, -33.0, -21.0, 24.0, 36.0))
NO_GPS = "SYN_0002.JPG"   # in the first strip's southern part
SOUTH = {"SYN_0001.JPG", "SYN_0002.JPG", "SYN_0003.JPG", "SYN_0008.JPG", "SYN_0009.JPG", "SYN_0010.JPG",
         "SYN_0011.JPG", "SYN_0012.JPG", "SYN_0013.JPG"}   # strips alternate direction
NORTH = {"SYN_0004.JPG", "SYN_0005.JPG", "SYN_0006.JPG", "SYN_0007.JPG", "SYN_0014.JPG", "SYN_0015.JPG"}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """The survey with its gap and its bad files, processed: (task folder, the engine run)."""
    folder = tmp_path_factory.mktemp("partial") / "task"
    images = folder / "images"
    shots = write_photos(SURVEY, images)
    assert {path.name for path, _, _ in shots} == SOUTH | NORTH
    with Image.open(images / NO_GPS) as photo:
        exif = photo.getexif()
        del exif[GPS_IFD]
        photo.save(images / NO_GPS, "JPEG", quality=92, exif=exif)
    data = (images / "SYN_0005.JPG").read_bytes()
    (images / "TRUNCATED.JPG").write_bytes(data[:len(data) // 3])
    (images / "NOT_A_PHOTO.JPG").write_text("a flight log, not a photo")
    (images / "flight-plan.pdf").write_bytes(b"%PDF-1.4 not a photo")
    write_options(folder, {"fast-orthophoto": True, "skip-3dmodel": True})
    return folder, run_engine(folder)


def warnings_naming(run, *words):
    """The console warnings that contain every word."""
    return [line for line in run.console if "WARNING" in line and all(w in line for w in words)]


def test_the_larger_part_is_made(task):
    """The run completes with an orthophoto of the southern part: its 8 photos with GPS, and no other."""
    folder, run = task
    assert run.code == 0, run.text()
    assert (folder / "results" / "odm_orthophoto" / "odm_orthophoto.tif").is_file()
    images = json.loads((folder / "results" / "images.json").read_text())
    placed = {i["filename"] for i in images if i["registered"]}
    assert placed == SOUTH - {NO_GPS}, images


def test_the_console_says_what_was_left_out_and_why(task):
    """One warning per cause, each naming the files: unreadable, not a photo, no GPS, the other part."""
    _, run = task
    assert warnings_naming(run, "TRUNCATED.JPG", "cannot be read"), run.text()
    assert warnings_naming(run, "NOT_A_PHOTO.JPG", "cannot be read"), run.text()
    assert warnings_naming(run, "flight-plan.pdf", "not a photo"), run.text()
    assert warnings_naming(run, NO_GPS, "without GPS"), run.text()
    (gap,) = warnings_naming(run, "6 of 14 images", "gap in the flight", "left out")
    assert all(name in gap for name in sorted(NORTH)[:5]), gap
    assert "8 images, is processed" in gap, gap
