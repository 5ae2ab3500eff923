"""Benchmark of the 3D page's files made at extraction (webapp/services/models3d.py): time, peak memory and sizes
for ODM's point cloud of brighton_beach (when AERIE_DATASETS has it), a large synthetic cloud (cut to 3 million
points) and a textured model of ODM's default size (200,000 faces, a 4096 px texture).

Usage: .venv/bin/python bench/models3d.py [--quick]
--quick: a 4-million-point cloud and a 50,000-face model instead of 12 million and 200,000 (under a minute).
Prints one figure per line: `name value unit`. Each case runs in a process of its own, so that its peak memory
(ru_maxrss) is its own.
"""
import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import figure  # noqa: E402
from webapp.services import models3d  # noqa: E402

DATASETS = Path(os.environ.get("AERIE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
BRIGHTON_LAZ = DATASETS / "brighton_beach" / "reference" / "odm_model.laz"
TEXTURE_PIXELS = 4096


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller synthetic inputs: under a minute")
    return parser.parse_args()


def write_cloud(path, count):
    """A LAZ of count coloured points over 1 km², in UTM 33N."""
    import laspy
    from pyproj import CRS

    rng = numpy.random.default_rng(1)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets, header.scales = [500000.0, 5000000.0, 0.0], [0.001, 0.001, 0.001]
    header.add_crs(CRS.from_epsg(32633))
    path.parent.mkdir(parents=True, exist_ok=True)
    with laspy.open(path, mode="w", header=header) as writer:
        for start in range(0, count, 2_000_000):
            n = min(2_000_000, count - start)
            points = laspy.ScaleAwarePointRecord.zeros(n, header=header)
            points.x, points.y = 500000 + rng.random(n) * 1000, 5000000 + rng.random(n) * 1000
            points.z = 100 + rng.random(n) * 20
            points.red, points.green, points.blue = (rng.integers(0, 65535, n, dtype=numpy.uint16) for _ in range(3))
            writer.write_points(points)


def write_model(folder, faces):
    """An ODM-style textured OBJ of about `faces` faces (a grid), its MTL, a TEXTURE_PIXELS² JPEG, coords.txt."""
    from PIL import Image

    cells = int((faces / 2) ** 0.5)
    texturing, georef = folder / "odm_texturing", folder / "odm_georeferencing"
    texturing.mkdir(parents=True)
    georef.mkdir(parents=True)
    (georef / "coords.txt").write_text("WGS84 UTM 33N\n500500 5000500\n")
    noise = numpy.random.default_rng(2).integers(0, 255, (TEXTURE_PIXELS, TEXTURE_PIXELS, 3), dtype=numpy.uint8)
    Image.fromarray(noise).save(texturing / "texture.jpg", quality=90)
    (texturing / "odm_textured_model_geo.mtl").write_text("newmtl material0000\nmap_Kd texture.jpg\n")
    axis = numpy.linspace(-500, 500, cells + 1)
    x, y = (a.ravel() for a in numpy.meshgrid(axis, axis))
    u, v = (a.ravel() for a in numpy.meshgrid(numpy.linspace(0, 1, cells + 1), numpy.linspace(0, 1, cells + 1)))
    index = numpy.arange((cells + 1) ** 2).reshape(cells + 1, cells + 1)[:-1, :-1].ravel() + 1
    a, b, c, d = index, index + 1, index + cells + 2, index + cells + 1
    with open(texturing / "odm_textured_model_geo.obj", "w") as obj:
        obj.write("mtllib odm_textured_model_geo.mtl\n")
        numpy.savetxt(obj, numpy.column_stack([x, y, 100 + numpy.sin(x / 50) * 5]), fmt="v %.3f %.3f %.3f")
        numpy.savetxt(obj, numpy.column_stack([u, v]), fmt="vt %.5f %.5f")
        obj.write("usemtl material0000\n")
        numpy.savetxt(obj, numpy.column_stack([a, a, b, b, c, c, a, a, c, c, d, d]).reshape(-1, 6),
                      fmt="f %d/%d %d/%d %d/%d")
    return 2 * cells * cells


def measure(name, folder, queue):
    """Run prepare on folder (in this child process); send back its figures."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    scene = models3d.prepare(folder)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    viewer = Path(folder) / "viewer3d"
    sizes = {path.name: path.stat().st_size / 1e6 for path in viewer.iterdir()}
    queue.put([(f"{name}_seconds", seconds, "s"), (f"{name}_peak_memory", peak / 1024, "MB"),
               (f"{name}_extra_memory", (peak - before) / 1024, "MB"),
               (f"{name}_points_shown", (scene["points"] or {}).get("count", 0), "points"),
               (f"{name}_points_bin", sizes.get("points.bin", 0.0), "MB"),
               (f"{name}_model_glb", sizes.get("model.glb", 0.0), "MB")])


def run_case(name, folder):
    """Measure one case in a fresh process and print its figures."""
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=measure, args=(name, str(folder), queue))
    process.start()
    for line in queue.get(timeout=1800):
        figure(*line)
    process.join()


def main():
    """Build the inputs, then measure each case."""
    args = parse_args()
    cloud_points = 4_000_000 if args.quick else 12_000_000
    model_faces = 50_000 if args.quick else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if BRIGHTON_LAZ.is_file():
            folder = tmp / "brighton" / "odm_georeferencing"
            folder.mkdir(parents=True)
            os.symlink(BRIGHTON_LAZ, folder / "odm_georeferenced_model.laz")
            run_case("brighton_odm_cloud", folder.parent)
        else:
            print(f"# {BRIGHTON_LAZ} is missing: brighton_beach left out", file=sys.stderr)
        write_cloud(tmp / "cloud" / models3d.POINT_CLOUD, cloud_points)
        figure("synthetic_cloud_points", cloud_points, "points")
        run_case("synthetic_cloud", tmp / "cloud")
        figure("model_faces", write_model(tmp / "model", model_faces), "faces")
        run_case("textured_model", tmp / "model")


if __name__ == "__main__":
    main()
