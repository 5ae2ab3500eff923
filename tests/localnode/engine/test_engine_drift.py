"""The engine on surveys whose GPS altitude drifts (tests/support/synthetic_survey.py): a 100 m climb from the
first photo to the last, in a flight flown at one height over a 110 m wide world.

Fitted to such altitudes the model came out tilted 49 % east and 65 % north. Now it is levelled by the cameras'
viewing direction and placed on GPS horizontally: measured, the ground is level within 0.05 % and the camera
positions within 5 cm of the truth horizontally. The prior is on the cameras, not on the ground: a hillside flown
following the terrain (the camera path itself sloped) keeps its slope. Each engine run (15 photos of 800x600, up
to the DSM, no 3D model) costs about 45 s of CPU, rendering included (8 minutes on the machine at a load of 30).
"""
import json

import numpy as np
import pycolmap
import pytest
import rasterio

from tests.support.enginerun import run_engine, write_options
from tests.support.synthetic_survey import Survey, dsm_tilt, write_photos

pytestmark = pytest.mark.slow  # runs the engine

DRIFT_M = 100.0
LEVEL_PERCENT = 0.5   # the most the ground may lean, in per cent of the survey's width
FLAT = Survey(altitude_drift=DRIFT_M)
HILLSIDE = Survey(altitude_drift=DRIFT_M, ground_slope=(0.12, -0.06), terrain_following=True)
OPTIONS = {"dsm": True, "end-with": "odm_dem", "skip-3dmodel": True}


def processed(folder, survey):
    """The survey's photos rendered into a task folder and processed up to the DSM: (folder, run, true centres)."""
    shots = write_photos(survey, folder / "images")
    write_options(folder, OPTIONS)
    return folder, run_engine(folder, timeout=900), {path.name: center for path, center, _ in shots}


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """The level world under a drifting GPS altitude, processed."""
    return processed(tmp_path_factory.mktemp("drift") / "task", FLAT)


@pytest.fixture(scope="module")
def hillside(tmp_path_factory):
    """A hillside flown following the terrain, under a drifting GPS altitude, processed."""
    return processed(tmp_path_factory.mktemp("hillside") / "task", HILLSIDE)


def test_a_drifting_altitude_leaves_the_ground_level(flat):
    """The DSM leans less than 0.5 % against the truth, and the console says why GPS altitude was overruled."""
    folder, run, _ = flat
    assert run.code == 0, run.text()
    east, north = dsm_tilt(FLAT, folder / "results" / "odm_dem" / "dsm.tif")
    assert np.hypot(east, north) < LEVEL_PERCENT, (east, north)
    warning = [line for line in run.console if "levelled by the cameras' viewing direction" in line]
    assert len(warning) == 1 and "drifts +100 m along the flight" in warning[0], run.text()


def test_the_cameras_keep_their_gps_places_and_the_median_altitude(flat):
    """Horizontally each camera is where it was (GPS is still trusted there); vertically the model sits at the
    median of the GPS altitudes, which is all they say (half the drift above the truth)."""
    folder, run, truth = flat
    assert run.code == 0, run.text()
    rec = pycolmap.Reconstruction(folder / "work" / "sfm" / "model")
    origin = np.array(json.loads((folder / "work" / "dataset.json").read_text())["frame"]["origin"])
    world = np.array([*FLAT.origin_utm, FLAT.base_altitude])
    errors = np.array([rec.image(i).projection_center() + origin - world - truth[rec.image(i).name]
                       for i in rec.reg_image_ids()])
    assert len(errors) == len(truth)
    assert np.sqrt(np.mean(np.sum(errors[:, :2] ** 2, axis=1))) < 0.2, errors
    assert np.abs(errors[:, 2] - DRIFT_M / 2).max() < 1.0, errors
    with rasterio.open(folder / "results" / "odm_dem" / "dsm.tif") as dsm:
        flat_ground = next(dsm.sample([FLAT.utm(-30.0, 25.0)]))[0]
    assert abs(flat_ground - (FLAT.base_altitude + DRIFT_M / 2)) < 1.0, flat_ground


def test_a_hillside_flown_following_the_terrain_keeps_its_slope(hillside):
    """The prior is on where the cameras look, not on the ground nor on the camera path's shape: the DSM has
    the hillside's 12 % and -6 % within 0.5 %."""
    folder, run, _ = hillside
    assert run.code == 0, run.text()
    assert any("levelled by the cameras' viewing direction" in line for line in run.console), run.text()
    east, north = dsm_tilt(HILLSIDE, folder / "results" / "odm_dem" / "dsm.tif")
    assert np.hypot(east, north) < LEVEL_PERCENT, (east, north)
