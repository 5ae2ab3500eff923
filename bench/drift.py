"""How level the built-in engine's surface model is: the DSM's tilt, and how the model was placed on GPS.

Usage: .venv/bin/python bench/drift.py [--dataset NAME] [--drift METRES] [--slope EAST NORTH] [--keep]
Runs the engine up to the DSM (no 3D model) on a real dataset's photos (default caliterra_subset, whose GPS
altitude drifts), or with `--dataset synthetic` on the survey of tests/support/synthetic_survey.py with its GPS
altitude climbing `--drift` metres along the flight (default 100) over a ground sloping `--slope` (rise per metre).
Prints `name value unit` lines: the slope east and north of a plane fitted to the DSM (for the synthetic survey:
to its difference from the true surface, so 0 is right), the relief around that plane, the GPS residuals, and
the levelling figures of the opensfm stage.
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.localnode import DATASETS, SYNTHETIC, figure, run_engine  # noqa: E402
from tests.support.synthetic_survey import Survey, dsm_tilt, write_photos  # noqa: E402

OPTIONS = {"dsm": True, "end-with": "odm_dem", "skip-3dmodel": True}


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="caliterra_subset", help="folder under the datasets folder, or "
                                                                      "'synthetic'")
    parser.add_argument("--drift", type=float, default=100.0, help="synthetic: metres the GPS altitude climbs")
    parser.add_argument("--slope", type=float, nargs=2, default=(0.0, 0.0), metavar=("EAST", "NORTH"),
                        help="synthetic: rise per metre of the ground (flown following the terrain)")
    parser.add_argument("--keep", action="store_true", help="keep the task folder and print its path")
    return parser.parse_args()


def make_task(args):
    """A temporary task folder with the photos and the options; the synthetic survey, if that one."""
    task = Path(tempfile.mkdtemp(prefix="aerie-drift-"))
    survey = None
    if args.dataset == SYNTHETIC:
        survey = Survey(altitude_drift=args.drift, ground_slope=tuple(args.slope), terrain_following=True)
        write_photos(survey, task / "images")
    else:
        (task / "images").mkdir()
        for photo in sorted((DATASETS / args.dataset / "images").iterdir()):
            shutil.copyfile(photo, task / "images" / photo.name)
    (task / "options.json").write_text(json.dumps(OPTIONS))
    return task, survey


def dsm_plane(path):
    """Slope east and north (per cent) of the plane fitted to a DSM, and the relief around it (m, std)."""
    with rasterio.open(path) as dsm:
        heights = dsm.read(1, masked=True)
        transform = dsm.transform
    rows, cols = np.nonzero(~np.ma.getmaskarray(heights))
    x, y = transform * (cols + 0.5, rows + 0.5)
    z = heights.data[rows, cols]
    design = np.c_[x - x.mean(), y - y.mean(), np.ones_like(x)]
    coef, *_ = np.linalg.lstsq(design, z, rcond=None)
    return 100 * coef[0], 100 * coef[1], float((z - design @ coef).std())


def report(task, survey, seconds):
    """Print the figures of a finished run."""
    dsm = task / "results" / "odm_dem" / "dsm.tif"
    east, north, relief = dsm_plane(dsm)
    figure("dsm_slope_east", east, "%")
    figure("dsm_slope_north", north, "%")
    figure("dsm_relief_around_plane", relief, "m")
    if survey is not None:
        east, north = dsm_tilt(survey, dsm)
        figure("dsm_tilt_against_truth_east", east, "%")
        figure("dsm_tilt_against_truth_north", north, "%")
    sfm = json.loads((task / "work" / "opensfm.done.json").read_text())
    for axis in "enu":
        figure(f"gps_residual_rms_{axis}", sfm[f"gps_residual_rms_{axis}_m"], "m")
    figure("gps_altitude_tilt", sfm.get("gps_altitude_tilt_deg", float("nan")), "deg")
    figure("levelled_by_viewing_direction", int(bool(sfm.get("levelled_by_viewing_direction"))), "bool")
    if sfm.get("levelled_by_viewing_direction"):
        figure("gps_altitude_drift", sfm["gps_altitude_drift_m"], "m")
    if sfm.get("camera_lean_deg"):
        figure("camera_lean_back", sfm["camera_lean_deg"][0], "deg")
        figure("camera_lean_left", sfm["camera_lean_deg"][1], "deg")
    figure("camera_height_above_ground", sfm["camera_height_m"], "m")
    figure("time_total", seconds, "s")


def main():
    """Run the benchmark."""
    args = parse_args()
    if args.dataset != SYNTHETIC and not (DATASETS / args.dataset / "images").is_dir():
        sys.exit(f"dataset {args.dataset!r} not found in {DATASETS} (set AERIE_DATASETS)")
    task, survey = make_task(args)
    code, seconds, _, lines = run_engine(task)
    if code != 0:
        print("\n".join(lines[-30:]), file=sys.stderr)
        sys.exit(f"engine failed with exit code {code}; task folder kept: {task}")
    report(task, survey, seconds)
    if args.keep:
        print(f"# task folder: {task}", file=sys.stderr)
    else:
        shutil.rmtree(task, ignore_errors=True)


if __name__ == "__main__":
    main()
