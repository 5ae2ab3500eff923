"""The engine against the truth: a survey rendered from a known world (tests/support/synthetic_survey.py).

Another camera (focal from FocalPlaneXResolution, 4:3 frame), another hemisphere (UTM 34S), strips flown in
both directions, GPS good to a few centimetres: the cameras, the surface and the orthophoto must land where the
world has them. Measured over three worlds: cameras within 3 cm; the dense points 0 to 20 cm low (the radial
distortion that bundle adjustment fits to a distortion-free camera, -0.002, deepens the model by up to 0.5 %)
with a 5 cm scatter; the markers within 15 cm. The bounds below leave room for that and for run-to-run
variation.
"""
import json

import numpy as np
import pycolmap
import pytest
import rasterio

from tests.support.enginerun import run_engine, write_options
from tests.support.synthetic_survey import Survey, write_photos

pytestmark = pytest.mark.slow  # runs the engine

SURVEY = Survey()


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """The rendered photos processed with a DSM and a DTM: (task folder, the engine run, the true camera centres)."""
    folder = tmp_path_factory.mktemp("synthetic") / "task"
    shots = write_photos(SURVEY, folder / "images")
    write_options(folder, {"dsm": True, "dtm": True})
    return folder, run_engine(folder), {path.name: center for path, center, _ in shots}


def test_every_photo_is_placed_where_it_was_taken(task):
    """All registered, the focal found from FocalPlaneXResolution, the cameras within decimetres of the truth."""
    folder, run, truth = task
    assert run.code == 0, run.text()
    assert any("focal 700 px from sensor width 6.40 mm (FocalPlaneXResolution)" in line for line in run.console)
    rec = pycolmap.Reconstruction(folder / "work" / "sfm" / "model")
    assert rec.num_reg_images() == len(truth)
    frame_origin = np.array(json.loads((folder / "work" / "dataset.json").read_text())["frame"]["origin"])
    world_origin = np.array([*SURVEY.origin_utm, SURVEY.base_altitude])
    errors = np.array([rec.image(i).projection_center() + frame_origin - world_origin - truth[rec.image(i).name]
                       for i in rec.reg_image_ids()])
    horizontal, vertical = np.sqrt(np.mean(np.sum(errors[:, :2] ** 2, axis=1))), np.sqrt(np.mean(errors[:, 2] ** 2))
    assert horizontal < 0.1 and vertical < 0.1, errors


def test_the_surface_model_has_the_hill_at_its_height(task):
    """The DSM in the southern UTM zone, the flat ground at the base altitude and the hill top at its height."""
    folder, run, _ = task
    assert run.code == 0, run.text()
    with rasterio.open(folder / "results" / "odm_dem" / "dsm.tif") as dsm:
        assert dsm.crs.to_epsg() == SURVEY.epsg
        flat, top = (v[0] for v in dsm.sample([SURVEY.utm(-30.0, 25.0), SURVEY.utm(*SURVEY.hill_center)]))
    assert abs(flat - SURVEY.base_altitude) < 0.4, flat
    assert abs(top - (SURVEY.base_altitude + SURVEY.hill_height)) < 0.4, top


def test_the_terrain_model_keeps_the_hill_and_removes_the_building(task):
    """The DSM has the building's roof, the DTM the ground under it, and the broad hill at full height."""
    folder, run, _ = task
    assert run.code == 0, run.text()
    building, hill = SURVEY.utm(*SURVEY.building_center), SURVEY.utm(*SURVEY.hill_center)
    ground = SURVEY.base_altitude + SURVEY.terrain_height(*SURVEY.building_center)
    with rasterio.open(folder / "results" / "odm_dem" / "dsm.tif") as dsm:
        roof = next(dsm.sample([building]))[0]
    with rasterio.open(folder / "results" / "odm_dem" / "dtm.tif") as dtm:
        assert dtm.crs.to_epsg() == SURVEY.epsg and dtm.nodata == -9999
        under_building, hill_top = (v[0] for v in dtm.sample([building, hill]))
    assert abs(roof - (ground + SURVEY.building_height)) < 0.5, roof
    assert abs(under_building - ground) < 0.5, under_building
    assert abs(hill_top - (SURVEY.base_altitude + SURVEY.hill_height)) < 0.4, hill_top


@pytest.mark.parametrize("marker", SURVEY.markers, ids=["red", "blue"])
def test_the_orthophoto_puts_each_marker_at_its_place(task, marker):
    """A coloured marker in the orthophoto has its size, and its centroid lies within 35 cm of its place."""
    folder, run, _ = task
    assert run.code == 0, run.text()
    (x, y), colour = marker
    east, north = SURVEY.utm(x, y)
    with rasterio.open(folder / "results" / "odm_orthophoto" / "odm_orthophoto.tif") as ortho:
        assert ortho.crs.to_epsg() == SURVEY.epsg
        window = rasterio.windows.from_bounds(east - 3, north - 3, east + 3, north + 3, ortho.transform)
        window = window.round_offsets().round_lengths()
        pixels = ortho.read(window=window).astype(int)
        transform = ortho.window_transform(window)
    wanted = np.array(colour)[:, None, None]
    mask = (np.abs(pixels[:3] - wanted).max(axis=0) < 60) & (pixels[3] == 255)
    rows, cols = np.nonzero(mask)
    area = mask.sum() * transform.a ** 2
    assert area == pytest.approx(np.pi * SURVEY.marker_radius ** 2, rel=0.3), area
    found_east, found_north = transform * (cols.mean() + 0.5, rows.mean() + 0.5)
    assert np.hypot(found_east - east, found_north - north) < 0.35, (found_east - east, found_north - north)


def test_the_report_gives_the_camera_positions_in_wgs84(task):
    """shots.geojson: one point per photo, in the southern hemisphere."""
    folder, _, truth = task
    shots = json.loads((folder / "results" / "odm_report" / "shots.geojson").read_text())
    assert len(shots["features"]) == len(truth)
    assert all(f["geometry"]["coordinates"][1] < 0 for f in shots["features"])
