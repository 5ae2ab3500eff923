"""Benchmark of the built-in engine: runs it on a real dataset as the node server would, prints figures.

Usage: .venv/bin/python bench/localnode.py [--dataset NAME] [--quick] [--runs N] [--option NAME=VALUE ...] [--keep]
Prints one figure per line: `name value unit` (per-stage wall time, peak memory of the engine's process tree,
registered images, reprojection error, GPS residuals, the share of the DSM with a measured height, orthophoto
resolution and bounds, and for brighton_beach
the distance of the point cloud to ODM's reference cloud). The textured model: its cost alone (a second run
from odm_meshing to mvs_texturing: time and peak memory), the median distance of its vertices to the dense cloud,
and the texture rendered from every camera against the photos (localnode/engine/quality.py). `--dataset
synthetic` renders the survey of tests/support/synthetic_survey.py instead, and adds the share of the mesh's area
within 0.2 m of the true surface.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import laspy
import numpy as np
import psutil
import rasterio
from pyproj import Transformer
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from localnode.engine.options import STAGES  # noqa: E402
from localnode.engine.quality import load_textured_model, texture_figures  # noqa: E402
from tests.support.synthetic_survey import (Survey, area_share_near_surface, vertical_bias,  # noqa: E402
                                           write_photos)

DATASETS = Path(os.environ.get("AERIE_DATASETS", ROOT.parent / "shared" / "datasets"))
SYNTHETIC = "synthetic"
QUICK_OPTIONS = {"resize-to": 1024, "min-num-features": 4096, "orthophoto-resolution": 10}


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="brighton_beach", help="folder name under the datasets folder")
    parser.add_argument("--quick", action="store_true", help="smaller images and features: under a minute")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median total time")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an engine option (JSON value), e.g. --option dsm=true")
    parser.add_argument("--keep", action="store_true", help="keep the task folder and print its path")
    return parser.parse_args()


def make_task(dataset, options):
    """A temporary task folder with the dataset's photos and the options."""
    task = Path(tempfile.mkdtemp(prefix="aerie-bench-"))
    (task / "images").mkdir()
    if dataset == SYNTHETIC:
        write_photos(Survey(), task / "images")
    else:
        for photo in sorted((DATASETS / dataset / "images").iterdir()):
            shutil.copyfile(photo, task / "images" / photo.name)
    (task / "options.json").write_text(json.dumps(options))
    return task


def run_engine(task):
    """Run the engine; return (exit code, wall seconds, peak RSS bytes of its process tree, output lines)."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "localnode.engine", str(task)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    stop = threading.Event()

    def sample():
        """Poll the RSS of the engine and its children."""
        process = psutil.Process(child.pid)
        while not stop.is_set():
            try:
                rss = sum(p.memory_info().rss for p in [process] + process.children(recursive=True))
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            stop.wait(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = child.stdout.read().splitlines()
    child.wait()
    stop.set()
    sampler.join()
    return child.returncode, time.monotonic() - started, peak[0], lines


def figure(name, value, unit):
    """Print one figure."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name} {text} {unit}", flush=True)


def report_run(task, seconds, peak):
    """Print the figures of one finished run."""
    for stage in STAGES:
        marker = task / "work" / f"{stage}.done.json"
        if marker.is_file():
            figure(f"time_{stage}", json.loads(marker.read_text())["seconds"], "s")
    figure("time_total", seconds, "s")
    figure("peak_memory", peak / 2 ** 20, "MB")
    sfm = json.loads((task / "work" / "opensfm.done.json").read_text())
    figure("images", sfm["images"], "count")
    figure("registered", sfm["registered"], "count")
    figure("points", sfm["points"], "count")
    cloud = task / "work" / "odm_georeferencing.done.json"
    if cloud.is_file():
        figure("cloud_points", json.loads(cloud.read_text())["points"], "count")
    dem = task / "work" / "odm_dem.done.json"
    if dem.is_file() and "measured_share" in json.loads(dem.read_text()):
        figure("dsm_measured_share", 100 * json.loads(dem.read_text())["measured_share"], "%")
    figure("reprojection_error", sfm["reprojection_error_px"], "px")
    for axis in "enu":
        figure(f"gps_residual_rms_{axis}", sfm[f"gps_residual_rms_{axis}_m"], "m")
    figure("camera_height_above_ground", sfm["camera_height_m"], "m")
    if "relative_altitude_m" in sfm:
        figure("drone_relative_altitude", sfm["relative_altitude_m"], "m")
    report_orthophoto(task)


def report_orthophoto(task):
    """Resolution and bounds of the orthophoto, and whether it contains the GPS track."""
    path = task / "results" / "odm_orthophoto" / "odm_orthophoto.tif"
    if not path.is_file():
        return
    with rasterio.open(path) as ortho:
        bounds, crs = ortho.bounds, ortho.crs
        figure("orthophoto_resolution", ortho.res[0] * 100, "cm")
        figure("orthophoto_size", f"{ortho.width}x{ortho.height}", "px")
        figure("orthophoto_epsg", crs.to_epsg(), "code")
        for side in ("left", "bottom", "right", "top"):
            figure(f"orthophoto_bound_{side}", float(getattr(bounds, side)), "m")
        alpha = ortho.read(4, out_shape=(max(1, ortho.height // 8), max(1, ortho.width // 8)))
        figure("orthophoto_coverage", float((alpha > 0).mean()) * 100, "%")
    images = json.loads((task / "results" / "images.json").read_text())
    to_utm = Transformer.from_crs(4326, crs, always_xy=True)
    east, north = to_utm.transform([i["longitude"] for i in images], [i["latitude"] for i in images])
    inside = all(bounds.left <= e <= bounds.right and bounds.bottom <= n <= bounds.top
                 for e, n in zip(east, north))
    figure("orthophoto_contains_gps_track", int(inside), "bool")


def report_reference(task, dataset):
    """Distance of the point cloud to the dataset's reference cloud (ODM's), when there is one."""
    reference = DATASETS / dataset / "reference" / "odm_model.laz"
    ours = task / "results" / "odm_georeferencing" / "odm_georeferenced_model.laz"
    if not (reference.is_file() and ours.is_file()):
        return
    ref, cloud = laspy.read(reference), laspy.read(ours)
    ref_xyz, xyz = np.c_[ref.x, ref.y, ref.z], np.c_[cloud.x, cloud.y, cloud.z]
    tree = cKDTree(ref_xyz)
    figure("reference_mean_distance", float(tree.query(xyz)[0].mean()), "m")
    # The best translation onto the reference (iterated nearest neighbours) splits the distance into a
    # systematic offset (georeferencing) and what remains (shape).
    offset = np.zeros(3)
    for _ in range(10):
        _, nearest = tree.query(xyz + offset)
        offset += np.median(ref_xyz[nearest] - (xyz + offset), axis=0)
    figure("reference_offset_horizontal", float(np.linalg.norm(offset[:2])), "m")
    figure("reference_offset_vertical", float(offset[2]), "m")
    figure("reference_mean_distance_after_offset", float(tree.query(xyz + offset)[0].mean()), "m")
    # Where ODM has no points (our cloud reaches further at the edges) there is nothing to compare with.
    where_odm_has_points = cKDTree(ref_xyz[:, :2]).query(xyz[:, :2] + offset[:2])[0] < 0.3
    figure("reference_share_where_odm_has_points", 100.0 * float(where_odm_has_points.mean()), "%")
    figure("reference_shape_error_where_odm_has_points",
           float(tree.query(xyz[where_odm_has_points] + offset)[0].mean()), "m")


def report_model(task, options, dataset):
    """The textured model: its cost alone, its distance to the cloud (or the truth) and its texture's fidelity."""
    if not (task / "results" / "odm_texturing").is_dir():
        return
    (task / "options.json").write_text(json.dumps({**options, "rerun-from": "odm_meshing",
                                                   "end-with": "mvs_texturing"}))
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    code, seconds, peak, lines = run_engine(task)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        print("\n".join(lines[-30:]), file=sys.stderr)
        sys.exit(f"the rerun of the model's stages failed; task folder kept: {task}")
    figure("model_time", seconds, "s")
    # CPU time moves much less than wall time when other work shares the cores.
    figure("model_cpu", (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime), "s")
    figure("model_peak_memory", peak / 2 ** 20, "MB")
    mesh = json.loads((task / "work" / "odm_meshing.done.json").read_text())
    figure("model_faces", mesh["faces"], "count")
    figure("model_octree_depth", mesh.get("octree_depth", 0), "level")
    vertices, faces, _, _, _ = load_textured_model(task)
    with np.load(task / "work" / "dense" / "points.npz") as data:
        cloud = data["xyz"]
    figure("model_to_cloud_median_distance", float(np.median(cKDTree(cloud).query(vertices)[0])), "m")
    if dataset == SYNTHETIC:
        survey = Survey()
        origin = json.loads((task / "work" / "dataset.json").read_text())["frame"]["origin"]
        shift = np.array(origin) - np.array([*survey.origin_utm, survey.base_altitude])
        bias = vertical_bias(survey, cloud + shift)
        figure("cloud_vertical_bias", bias, "m")
        figure("model_area_within_20cm_of_truth", 100 * area_share_near_surface(survey, vertices[faces] + shift, 0.2),
               "%")
        figure("model_area_within_20cm_of_truth_after_cloud_bias",
               100 * area_share_near_surface(survey, vertices[faces] + shift, 0.2, bias), "%")
    per_photo = np.array(list(texture_figures(task, cloud).values()))
    figure("texture_colour_difference_median", float(np.median(per_photo[:, 1])), "of 255")
    figure("texture_colour_difference_worst_photo", float(per_photo[:, 1].max()), "of 255")
    figure("texture_colour_difference_unlevelled_median", float(np.median(per_photo[:, 0])), "of 255")
    figure("texture_footprint_covered_median", 100 * float(np.median(per_photo[:, 2])), "%")
    figure("texture_footprint_covered_worst_photo", 100 * float(per_photo[:, 2].min()), "%")


def main():
    """Run the benchmark."""
    args = parse_args()
    options = dict(QUICK_OPTIONS) if args.quick else {}
    options["dsm"] = True
    for item in args.option:
        name, _, value = item.partition("=")
        try:
            options[name] = json.loads(value)
        except json.JSONDecodeError:
            options[name] = value
    if args.dataset != SYNTHETIC and not (DATASETS / args.dataset / "images").is_dir():
        sys.exit(f"dataset {args.dataset!r} not found in {DATASETS} (set AERIE_DATASETS)")
    totals = []
    for run in range(args.runs):
        task = make_task(args.dataset, options)
        code, seconds, peak, lines = run_engine(task)
        if code != 0:
            print("\n".join(lines[-30:]), file=sys.stderr)
            sys.exit(f"engine failed with exit code {code}; task folder kept: {task}")
        totals.append(seconds)
        if run == args.runs - 1:
            report_run(task, seconds, peak)
            report_reference(task, args.dataset)
            report_model(task, options, args.dataset)
        if args.keep and run == args.runs - 1:
            print(f"# task folder: {task}", file=sys.stderr)
        else:
            shutil.rmtree(task, ignore_errors=True)
    if args.runs > 1:
        figure("time_total_median", statistics.median(totals), "s")


if __name__ == "__main__":
    main()
