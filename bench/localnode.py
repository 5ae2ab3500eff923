"""Benchmark of the built-in engine: runs it on a real dataset as the node server would, prints figures.

Usage: .venv/bin/python bench/localnode.py [--dataset NAME] [--photos N] [--quick] [--runs N] [--option NAME=VALUE ...]
       [--keep]   (--keep also saves the engine's console as console.txt in the task folder)
Prints one figure per line: `name value unit` (per-stage wall time and peak memory of the engine's process tree,
registered images, reprojection error, GPS residuals, the share of the DSM with a measured height, orthophoto
resolution and bounds, and for brighton_beach
the distance of the point cloud to ODM's reference cloud). The textured model: its cost alone (a second run
from odm_meshing to mvs_texturing: time and peak memory), the median distance of its vertices to the dense cloud,
and the texture rendered from every camera against the photos (localnode/engine/quality.py). `--dataset
synthetic` renders the survey of tests/support/synthetic_survey.py instead, and adds the share of the mesh's area
within 0.2 m of the true surface; with `--photos N`, a grid flight of N photos over a world grown to hold it
(`grid_survey`), to measure the engine at survey scale.
"""
import argparse
import json
import os
import re
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
from tests.support.synthetic_survey import (Survey, area_share_near_surface, grid_survey,  # noqa: E402
                                           vertical_bias, write_photos)

DATASETS = Path(os.environ.get("AERIE_DATASETS", ROOT.parent / "shared" / "datasets"))
SYNTHETIC = "synthetic"
QUICK_OPTIONS = {"resize-to": 1024, "min-num-features": 4096, "orthophoto-resolution": 10}


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="brighton_beach", help="folder name under the datasets folder")
    parser.add_argument("--photos", type=int, default=0,
                        help="with --dataset synthetic: a grid flight of this many photos (default: the 15 of the tests)")
    parser.add_argument("--render-cache", type=Path, metavar="DIR",
                        help="keep the rendered synthetic photos in DIR and reuse them in later runs")
    parser.add_argument("--quick", action="store_true", help="smaller images and features: under a minute")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median total time")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an engine option (JSON value), e.g. --option dsm=true")
    parser.add_argument("--keep", action="store_true", help="keep the task folder and print its path")
    return parser.parse_args()


def synthetic_survey(photos):
    """The synthetic survey benchmarked: the tests' one, or a grid flight of `photos` photos."""
    return grid_survey(photos) if photos else Survey()


def make_task(dataset, options, photos=0, render_cache=None):
    """A temporary task folder with the dataset's photos and the options."""
    task = Path(tempfile.mkdtemp(prefix="aerie-bench-"))
    (task / "images").mkdir()
    if dataset == SYNTHETIC:
        render_synthetic(photos, task / "images", render_cache)
    else:
        for photo in sorted((DATASETS / dataset / "images").iterdir()):
            shutil.copyfile(photo, task / "images" / photo.name)
    (task / "options.json").write_text(json.dumps(options))
    return task


TIMED_STEP = re.compile(r" in \d+(\.\d+)? s\b")  # "Matched 1234 image pairs ... in 56.7 s"
STAGE_START = re.compile(r"^\[(\w+)\] Running$")  # the engine's console line as a stage starts


def render_synthetic(photos, folder, cache=None):
    """Render the synthetic survey into `folder` (or copy it from the cache, rendering it there first)."""
    survey = synthetic_survey(photos)
    source = cache / f"synthetic-{photos or 'tests'}" if cache else folder
    started = time.monotonic()
    if not (cache and (source / "complete").is_file()):
        write_photos(survey, source, processes=os.cpu_count() or 1)
        figure("synthetic_render_time", time.monotonic() - started, "s")
        if cache:
            (source / "complete").touch()
    if source != folder:
        for photo in sorted(source.glob("*.JPG")):
            shutil.copyfile(photo, folder / photo.name)
    figure("synthetic_photos", len(survey.cameras()), "count")
    figure("synthetic_photo_size", "x".join(map(str, survey.image_size)), "px")


def run_engine(task, stage_peaks=None):
    """Run the engine; return (exit code, wall seconds, peak RSS bytes of its process tree, output lines).

    `stage_peaks`, a dict, receives the peak RSS of each stage (attributed by the stage's "Running" line).
    """
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "localnode.engine", str(task)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    current = ["engine"]
    stage_peaks = {} if stage_peaks is None else stage_peaks
    stop = threading.Event()

    def sample():
        """Poll the RSS of the engine and its children."""
        process = psutil.Process(child.pid)
        while not stop.is_set():
            try:
                rss = sum(p.memory_info().rss for p in [process] + process.children(recursive=True))
                peak[0] = max(peak[0], rss)
                stage_peaks[current[0]] = max(stage_peaks.get(current[0], 0), rss)
            except psutil.Error:
                pass
            stop.wait(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in child.stdout:
        lines.append(line.rstrip("\n"))
        if TIMED_STEP.search(lines[-1]):
            print(f"# {lines[-1]}", file=sys.stderr, flush=True)  # a step's time within a stage, as it ends
        if (start := STAGE_START.match(lines[-1])) and start.group(1) in STAGES:
            # On stderr as they finish, for runs too long to wait for: the peak of the stage just ended.
            print(f"# {current[0]} peak {stage_peaks.get(current[0], 0) / 2 ** 20:.0f} MB at "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            current[0] = start.group(1)
    child.wait()
    stop.set()
    sampler.join()
    return child.returncode, time.monotonic() - started, peak[0], lines


def figure(name, value, unit):
    """Print one figure."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name} {text} {unit}", flush=True)


def report_run(task, seconds, peak, stage_peaks):
    """Print the figures of one finished run."""
    for stage in STAGES:
        marker = task / "work" / f"{stage}.done.json"
        if marker.is_file():
            figure(f"time_{stage}", json.loads(marker.read_text())["seconds"], "s")
    figure("time_total", seconds, "s")
    for stage in STAGES:
        if stage in stage_peaks:
            figure(f"peak_memory_{stage}", stage_peaks[stage] / 2 ** 20, "MB")
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


def report_model(task, options, dataset, photos=0):
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
        survey = synthetic_survey(photos)
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
    if args.photos and args.dataset != SYNTHETIC:
        sys.exit("--photos needs --dataset synthetic")
    if args.dataset != SYNTHETIC and not (DATASETS / args.dataset / "images").is_dir():
        sys.exit(f"dataset {args.dataset!r} not found in {DATASETS} (set AERIE_DATASETS)")
    totals = []
    for run in range(args.runs):
        task = make_task(args.dataset, options, args.photos, args.render_cache)
        stage_peaks = {}
        code, seconds, peak, lines = run_engine(task, stage_peaks)
        if code != 0:
            print("\n".join(lines[-30:]), file=sys.stderr)
            sys.exit(f"engine failed with exit code {code}; task folder kept: {task}")
        totals.append(seconds)
        if run == args.runs - 1:
            report_run(task, seconds, peak, stage_peaks)
            report_reference(task, args.dataset)
            report_model(task, options, args.dataset, args.photos)
        if args.keep and run == args.runs - 1:
            (task / "console.txt").write_text("\n".join(lines) + "\n")
            print(f"# task folder: {task} (the engine's console in console.txt)", file=sys.stderr)
        else:
            shutil.rmtree(task, ignore_errors=True)
    if args.runs > 1:
        figure("time_total_median", statistics.median(totals), "s")


if __name__ == "__main__":
    main()
