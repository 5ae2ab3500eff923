"""The engine on bad input: it exits with code 1 and one `@@error` line a user can act on."""
import json

import pytest

import numpy as np
from PIL import Image

from tests.support.enginerun import make_task, run_engine
from tests.support.datasets import dataset_images

pytestmark = pytest.mark.slow  # runs the engine

QUICK = {"resize-to": 640}


def textured_jpeg(path, seed):
    """A JPEG of random texture with no EXIF at all (so no GPS)."""
    pixels = np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG")
    return path


def assert_failed(run, *words):
    """Exit code 1, a single @@error line containing the words, no traceback."""
    assert run.code == 1, run.text()
    assert len(run.errors) == 1, run.text()
    for word in words:
        assert word.lower() in run.errors[0].lower(), run.errors[0]
    assert "Traceback" not in run.stderr


def test_images_without_gps(tmp_path):
    """Photos without GPS: the error says how many have GPS and what to do."""
    photos = [textured_jpeg(tmp_path / f"nogps_{i}.jpg", i) for i in range(3)]
    run = run_engine(make_task(tmp_path / "task", photos, QUICK))
    assert_failed(run, "None of the 3 images has GPS", "at least 2")


def test_geo_txt_supplies_missing_gps(tmp_path):
    """The same photos pass the dataset stage when a geo.txt gives their positions."""
    photos = [textured_jpeg(tmp_path / f"nogps_{i}.jpg", i) for i in range(3)]
    task = make_task(tmp_path / "task", photos, {**QUICK, "end-with": "dataset"})
    lines = ["EPSG:4326"] + [f"nogps_{i}.jpg {-91.99 + i * 1e-4} 46.84 200" for i in range(3)]
    (task / "images" / "geo.txt").write_text("\n".join(lines) + "\n")
    run = run_engine(task)
    assert run.code == 0, run.text()
    dataset = json.loads((task / "work" / "dataset.json").read_text())
    assert [round(i["lon"], 4) for i in dataset["images"]] == [-91.99, -91.9899, -91.9898]
    assert dataset["frame"]["epsg"] == 32615


def test_single_image(tmp_path):
    """One photo is not enough."""
    run = run_engine(make_task(tmp_path / "task", dataset_images("brighton_beach")[:1], QUICK))
    assert_failed(run, "1 image uploaded", "at least 2")


def test_corrupt_jpeg_is_skipped_when_the_rest_suffice(tmp_path):
    """A truncated JPEG among good photos: a console warning names it, and processing goes on without it."""
    photos = dataset_images("brighton_beach")[:3]
    task = make_task(tmp_path / "task", photos, {**QUICK, "end-with": "dataset"})
    data = photos[0].read_bytes()
    (task / "images" / "BROKEN.JPG").write_bytes(data[:len(data) // 3])
    run = run_engine(task)
    assert run.code == 0, run.text()
    assert any("WARNING" in line and "BROKEN.JPG" in line for line in run.console), run.text()
    dataset = json.loads((task / "work" / "dataset.json").read_text())
    assert sorted(i["name"] for i in dataset["images"]) == sorted(p.name for p in photos)
    assert dataset["skipped"] == ["BROKEN.JPG"]


def test_corrupt_jpegs_leaving_one_image(tmp_path):
    """When corrupt files leave fewer than 2 readable photos, the error names them."""
    photos = dataset_images("brighton_beach")[:1]
    task = make_task(tmp_path / "task", photos, QUICK)
    (task / "images" / "NOT_A_PHOTO.JPG").write_bytes(b"this is not a jpeg at all")
    run = run_engine(task)
    assert_failed(run, "Only 1 image of 2 could be read", "NOT_A_PHOTO.JPG")


def test_photos_that_do_not_overlap(tmp_path):
    """Photos of one flight taken too far apart to overlap: the error lists them and mentions overlap.

    Five shots apart along one strip: 68 m between them, while a photo covers 38 m along the flight.
    """
    photos = [p for p in dataset_images("brighton_beach") if p.name in ("DJI_0018.JPG", "DJI_0023.JPG")]
    run = run_engine(make_task(tmp_path / "task", photos, QUICK))
    assert_failed(run, "overlap", "DJI_0018.JPG")


def test_end_with_stops_after_the_stage(tmp_path):
    """end-with opensfm: exit 0 after the model is built, with no results written."""
    photos = dataset_images("brighton_beach")[:4]
    task = make_task(tmp_path / "task", photos, {**QUICK, "end-with": "opensfm"})
    run = run_engine(task)
    assert run.code == 0, run.text()
    assert (task / "work" / "sfm" / "model").is_dir()
    assert not (task / "results" / "odm_orthophoto").exists()
    assert run.progress[-1] == 100.0


def test_unexpected_failure_gives_a_traceback_and_an_error_line(tmp_path):
    """An unforeseen exception (here an options.json that is not JSON): traceback on stderr, @@error, exit 1."""
    task = make_task(tmp_path / "task", dataset_images("brighton_beach")[:2])
    (task / "options.json").write_text("{not json")
    run = run_engine(task)
    assert run.code == 1
    assert "Traceback" in run.stderr and "JSONDecodeError" in run.stderr
    assert len(run.errors) == 1 and "JSONDecodeError" in run.errors[0]
