"""The engine on the real brighton_beach photos (18, resized to 800 px to keep it quick): georeferencing checks.

One engine run serves the whole module; a last test reruns its orthophoto stage only.
"""
import json

import laspy
import numpy as np
import pycolmap
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import rowcol
from scipy.spatial import cKDTree

from localnode.engine.geo import utm_epsg
from localnode.engine.metadata import read_metadata
from localnode.engine.modelfiles import read_coords, read_obj
from localnode.engine.options import STAGES
from tests.support.enginerun import make_task, run_engine, write_options
from tests.support.datasets import DATASETS_DIR, dataset_images
from tests.support.pdftext import cells_after, pdf_image_count, pdf_lines

pytestmark = pytest.mark.slow  # runs the engine

OPTIONS = {"resize-to": 800, "min-num-features": 2048, "dsm": True}


@pytest.fixture(scope="module")
def photos():
    """The dataset's photos."""
    return dataset_images("brighton_beach")


@pytest.fixture(scope="module")
def gps(photos):
    """Each photo's EXIF GPS position and DJI relative altitude, by file name."""
    return {p.name: read_metadata(p) for p in photos}


@pytest.fixture(scope="module")
def task(tmp_path_factory, photos):
    """A task folder after a complete engine run."""
    folder = make_task(tmp_path_factory.mktemp("brighton"), photos, OPTIONS)
    run = run_engine(folder)
    assert run.code == 0, run.text()
    return folder, run


def expected_epsg(gps):
    """The UTM zone of the photos, from their own GPS positions."""
    lat = np.mean([m["lat"] for m in gps.values()])
    lon = np.mean([m["lon"] for m in gps.values()])
    return utm_epsg(lat, lon)


def utm_positions(gps, epsg):
    """The photos' GPS positions in the UTM zone, as an (N, 2) array."""
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    east, north = to_utm.transform([m["lon"] for m in gps.values()], [m["lat"] for m in gps.values()])
    return np.c_[east, north]


def test_run_reports_progress_and_no_error(task):
    """Progress rises to 100 and no error is reported."""
    _, run = task
    assert run.errors == []
    assert run.progress == sorted(run.progress)
    assert run.progress[-1] == 100.0
    assert any("Processing completed" in line for line in run.console)


def test_every_image_registered(task, photos):
    """All 18 photos are in the model, with a sub-pixel reprojection error reported on the console."""
    folder, run = task
    images = json.loads((folder / "results" / "images.json").read_text())
    assert sorted(i["filename"] for i in images) == sorted(p.name for p in photos)
    assert all(i["registered"] for i in images)
    assert any(f"{len(photos)} of {len(photos)} images registered" in line for line in run.console), run.text()
    stats = json.loads((folder / "results" / "odm_report" / "stats.json").read_text())
    assert stats["opensfm"]["reprojection_error_px"] < 1.0


def test_orthophoto_is_a_cog_in_the_utm_zone_covering_the_gps_track(task, gps):
    """RGBA, tiled, deflate, with overviews, in the photos' UTM zone, its bounds containing every GPS position."""
    folder, _ = task
    epsg = expected_epsg(gps)
    with rasterio.open(folder / "results" / "odm_orthophoto" / "odm_orthophoto.tif") as ortho:
        assert ortho.crs.to_epsg() == epsg
        assert ortho.count == 4 and ortho.dtypes[0] == "uint8"
        assert ortho.profile["tiled"] and ortho.compression.name.lower() == "deflate"
        assert ortho.overviews(1)
        bounds = ortho.bounds
        alpha = ortho.read(4)
        transform = ortho.transform
    positions = utm_positions(gps, epsg)
    assert (positions[:, 0] > bounds.left).all() and (positions[:, 0] < bounds.right).all()
    assert (positions[:, 1] > bounds.bottom).all() and (positions[:, 1] < bounds.top).all()
    # Not just the frame: the ground under every camera is actually covered by the mosaic.
    rows, cols = rowcol(transform, positions[:, 0], positions[:, 1])
    assert (alpha[rows, cols] == 255).all()


def test_dsm_elevations_are_plausible(task, gps):
    """float32, nodata -9999, in the UTM zone; the ground is about where GPS altitude minus flying height says."""
    folder, _ = task
    with rasterio.open(folder / "results" / "odm_dem" / "dsm.tif") as dsm:
        assert dsm.crs.to_epsg() == expected_epsg(gps)
        assert dsm.dtypes[0] == "float32" and dsm.nodata == -9999
        heights = dsm.read(1, masked=True).compressed()
    assert heights.size > 1000
    takeoff = np.median([m["alt"] - m["relative_alt"] for m in gps.values()])  # DJI: height above takeoff
    assert abs(np.median(heights) - takeoff) < 5.0
    assert np.percentile(heights, 99) - np.percentile(heights, 1) < 30.0  # a beach park: no cliffs


def test_point_cloud_is_georeferenced_and_matches_odm_reference(task, gps):
    """A dense LAZ with the CRS in its header, lying on ODM's own cloud of the same photos.

    Our cloud sits about 3 m below ODM's: ours keeps the cameras at their GPS altitude, 39 m above the ground
    as DJI's relative altitude says (test_dsm_elevations_are_plausible); ODM's does not (its relief is taller
    than ours, so no focal length of its own explains its higher ground; see README). We check the horizontal
    placement, the shape once that vertical offset is removed, and that the offset stays small. The cloud is
    the dense one (stereo on image pairs), not the few thousand SfM points: its shape error must stay as small
    as the sparse points' (about 0.3 m). The shape is compared where ODM has points (within 0.3 m across);
    elsewhere (our cloud reaches a little further at the survey's edges) there is nothing to compare with, so
    those points must only be few.
    """
    folder, run = task
    reference = DATASETS_DIR / "brighton_beach" / "reference" / "odm_model.laz"
    if not reference.is_file():
        pytest.skip("brighton_beach/reference/odm_model.laz not present")
    cloud = laspy.read(folder / "results" / "odm_georeferencing" / "odm_georeferenced_model.laz")
    assert cloud.header.parse_crs().to_epsg() == expected_epsg(gps)
    figures = json.loads((folder / "work" / "odm_georeferencing.done.json").read_text())
    assert len(cloud.points) == figures["points"] > 100_000 > 20 * figures["sparse_points"]
    assert any(line.startswith("[odm_georeferencing] Dense cloud:") for line in run.console), run.text()
    ref = laspy.read(reference)
    ref_xyz, xyz = np.c_[ref.x, ref.y, ref.z], np.c_[cloud.x, cloud.y, cloud.z]
    tree = cKDTree(ref_xyz)
    offset = np.zeros(3)
    for _ in range(10):
        _, nearest = tree.query(xyz + offset)
        offset += np.median(ref_xyz[nearest] - (xyz + offset), axis=0)
    assert np.linalg.norm(offset[:2]) < 1.0, offset
    where_odm_has_points = cKDTree(ref_xyz[:, :2]).query(xyz[:, :2] + offset[:2])[0] < 0.3
    assert where_odm_has_points.mean() > 0.85
    assert tree.query(xyz[where_odm_has_points] + offset)[0].mean() < 0.4
    assert abs(offset[2]) < 5.0, offset
    assert (folder / "results" / "odm_georeferencing" / "odm_georeferenced_model.ply").stat().st_size > 1000


def test_report_files(task, gps):
    """shots.geojson has a WGS84 point per photo near its GPS position; cameras.json and images.json are filled."""
    folder, _ = task
    shots = json.loads((folder / "results" / "odm_report" / "shots.geojson").read_text())
    assert sorted(f["properties"]["filename"] for f in shots["features"]) == sorted(gps)
    for feature in shots["features"]:
        lon, lat, alt = feature["geometry"]["coordinates"]
        meta = gps[feature["properties"]["filename"]]
        assert abs(lat - meta["lat"]) < 2e-5 and abs(lon - meta["lon"]) < 3e-5  # about 2 m
        assert abs(alt - meta["alt"]) < 2.0
    cameras = json.loads((folder / "results" / "cameras.json").read_text())
    (camera,) = cameras.values()
    assert camera["width"] == 2000 and 0.5 < camera["focal"] < 0.7
    images = json.loads((folder / "results" / "images.json").read_text())
    assert all(i["camera_model"] == "FC300S" and i["latitude"] == gps[i["filename"]]["lat"] for i in images)


def test_quality_report_gives_the_runs_figures(task, photos):
    """odm_report/report.pdf, read back as text, gives this run's figures: photos and registration, reprojection
    and GPS errors from the SfM stage, the calibrated camera, each stage's time, and per photo the features and verified matches of the
    COLMAP database, the points it sees and its camera's distance to GPS; with the three pictures (orthophoto,
    DSM, overlap map)."""
    folder, _ = task
    pdf = folder / "results" / "odm_report" / "report.pdf"
    lines = pdf_lines(pdf)
    sfm = json.loads((folder / "results" / "odm_report" / "stats.json").read_text())["opensfm"]
    assert cells_after(lines, "Photos", 1) == [f"{len(photos)} used of {len(photos)} uploaded"]
    assert cells_after(lines, "Reconstructed images", 1) == [f"{len(photos)} of {len(photos)} photos"]
    assert cells_after(lines, "Mean reprojection error", 1) == [f"{sfm['reprojection_error_px']:.2f} px"]
    assert cells_after(lines, "GPS RMS error (E / N / U)", 1) == [
        f"{sfm['gps_residual_rms_e_m']:.2f} / {sfm['gps_residual_rms_n_m']:.2f} / {sfm['gps_residual_rms_u_m']:.2f} m"]
    for stage in STAGES[:-1]:  # the report's own stage is still running while it is written
        seconds = json.loads((folder / "work" / f"{stage}.done.json").read_text())["seconds"]
        assert cells_after(lines, stage, 1) == [f"{seconds:.1f} s"], stage

    rec = pycolmap.Reconstruction(folder / "work" / "sfm" / "model")
    (camera,) = rec.cameras.values()
    assert cells_after(lines, "Camera calibration", 1) == [
        f"SIMPLE_RADIAL {camera.width} x {camera.height} px: focal {camera.mean_focal_length():.1f} px "
        f"({camera.mean_focal_length() / camera.width:.4f} of the long side), distortion k {camera.params[3]:.5f}"]
    placed = {rec.image(i).name: rec.image(i) for i in rec.reg_image_ids()}
    shots = json.loads((folder / "results" / "odm_report" / "shots.geojson").read_text())["features"]
    residuals = {f["properties"]["filename"]: f["properties"]["gps_residual_m"] for f in shots}
    with pycolmap.Database.open(folder / "work" / "sfm" / "database.db") as db:
        for image in db.read_all_images():
            features, matches, points, east, north, up = cells_after(lines, image.name, 6)
            assert int(features) == db.num_keypoints_for_image(image.image_id) > 500, image.name
            others = [other.image_id for other in db.read_all_images() if other.image_id != image.image_id]
            verified = sum(len(db.read_two_view_geometry(image.image_id, other).inlier_matches)
                           for other in others if db.exists_two_view_geometry(image.image_id, other))
            assert int(matches) == verified > 0, image.name
            assert int(points) == placed[image.name].num_points3D, image.name
            distance = np.linalg.norm([float(east), float(north), float(up)])
            assert abs(distance - residuals[image.name]) < 0.01, image.name
    assert pdf_image_count(pdf) == 3
    assert "Ground control point errors (model minus surveyed, metres)" not in lines  # none were used


def test_textured_model_lies_on_the_cloud_where_odm_puts_it(task, gps):
    """The OBJ in the photos' UTM zone (coords.txt), its vertices near the dense cloud, and its GLB beside it."""
    folder, _ = task
    projection, east, north = read_coords(folder / "results" / "odm_georeferencing" / "coords.txt")
    zone = expected_epsg(gps) % 100
    assert projection == f"WGS84 UTM {zone}N"
    vertices, faces, _, _, textures = read_obj(folder / "results" / "odm_texturing" / "odm_textured_model_geo.obj")
    assert len(faces) > 10000 and all(path.is_file() for path in textures)
    cloud = laspy.read(folder / "results" / "odm_georeferencing" / "odm_georeferenced_model.laz")
    distance = cKDTree(np.c_[cloud.x, cloud.y, cloud.z]).query(vertices + [east, north, 0])[0]
    assert np.median(distance) < 0.3, np.percentile(distance, [50, 90])
    assert (folder / "results" / "odm_texturing" / "odm_textured_model_geo.glb").stat().st_size > 100_000


def test_rerun_from_orthophoto_keeps_earlier_stages(task):
    """rerun-from odm_orthophoto with fast-orthophoto redoes only the orthophoto and report."""
    folder, _ = task
    ortho = folder / "results" / "odm_orthophoto" / "odm_orthophoto.tif"
    model_time = (folder / "work" / "sfm" / "model").stat().st_mtime_ns
    write_options(folder, {**OPTIONS, "rerun-from": "odm_orthophoto", "fast-orthophoto": True})
    before = ortho.stat().st_mtime_ns
    run = run_engine(folder)
    assert run.code == 0, run.text()
    ran = {line.split("]")[0][1:] for line in run.console if line.endswith("] Running")}
    assert ran == {"odm_orthophoto", "odm_report"}
    assert any("flat ground plane" in line for line in run.console)
    assert ortho.stat().st_mtime_ns > before
    assert (folder / "work" / "sfm" / "model").stat().st_mtime_ns == model_time
