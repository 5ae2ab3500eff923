"""The engine on the few-photo sets users try first (640 px): every photo placed, cameras above the ground at
about the drone's height, and an orthophoto that covers the photos' GPS positions."""
import json

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import rowcol

from localnode.engine.metadata import read_metadata
from tests.support.enginerun import make_task, run_engine
from tests.support.datasets import dataset_images

pytestmark = pytest.mark.slow  # runs the engine

CASES = [  # (dataset, first photo, number of photos, fast-orthophoto)
    ("brighton_beach", 0, 3, True),
    ("brighton_beach", 1, 3, True),     # distortion refined freely put these cameras 61 m up, not 40
    ("brighton_beach", 3, 3, False),    # registered only with guided matching
    ("brighton_beach", 0, 5, True),
    ("brighton_beach", 6, 4, False),    # across the turn between two strips
    ("brighton_beach", 10, 8, True),
    ("caliterra_subset", 0, 3, False),  # a consumer camera, no DJI relative altitude
]


@pytest.mark.parametrize("dataset, first, count, fast", CASES,
                         ids=[f"{d.split('_')[0]}-{f}+{n}-{'fast' if fast else 'dsm'}" for d, f, n, fast in CASES])
def test_small_set_completes_with_a_placed_orthophoto(tmp_path, dataset, first, count, fast):
    """All photos registered; the cameras at the drone's relative altitude above the ground; the orthophoto
    covers the ground under every photo's GPS position."""
    photos = dataset_images(dataset)[first:first + count]
    task = make_task(tmp_path / "task", photos, {"resize-to": 640, "fast-orthophoto": fast})
    run = run_engine(task)
    assert run.code == 0, run.text()
    stats = json.loads((task / "work" / "sfm" / "stats.json").read_text())
    assert stats["registered"] == count, run.text()
    assert stats["camera_height_m"] > 0, run.text()
    if "relative_altitude_m" in stats:
        assert abs(stats["camera_height_m"] / stats["relative_altitude_m"] - 1) < 0.25, run.text()
    meta = [read_metadata(p) for p in photos]
    with rasterio.open(task / "results" / "odm_orthophoto" / "odm_orthophoto.tif") as ortho:
        alpha, transform, crs = ortho.read(4), ortho.transform, ortho.crs
    east, north = Transformer.from_crs(4326, crs, always_xy=True).transform([m["lon"] for m in meta],
                                                                             [m["lat"] for m in meta])
    rows, cols = rowcol(transform, east, north)
    rows, cols = np.array(rows), np.array(cols)
    assert ((rows >= 0) & (rows < alpha.shape[0]) & (cols >= 0) & (cols < alpha.shape[1])).all(), run.text()
    assert (alpha[rows, cols] == 255).all(), run.text()
