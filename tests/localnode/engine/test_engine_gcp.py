"""Ground control points: a GCP file (ODM's format) moves the results onto the surveyed positions.

The points are made from a first run: well-seen tie points of its model, with their sightings, declared to lie
a known distance away from where GPS put them. A second run with that file must move the cameras by that much.
"""
import json

import numpy as np
import pycolmap
import pytest

from localnode.engine.stages import report
from localnode.engine.workspace import Workspace
from tests.support.enginerun import make_task, run_engine
from tests.support.pdftext import cells_after, pdf_lines
from tests.support.datasets import dataset_images

pytestmark = pytest.mark.slow  # runs the engine

OPTIONS = {"resize-to": 640, "end-with": "opensfm"}
SURVEY_OFFSET = np.array([3.0, -2.0, 1.5])  # where the "surveyed" points lie, from where GPS put them (m)


@pytest.fixture(scope="module")
def photos():
    """Five photos of one brighton_beach strip."""
    return dataset_images("brighton_beach")[:5]


@pytest.fixture(scope="module")
def gps_run(tmp_path_factory, photos):
    """A run without GCPs: its task folder."""
    task = make_task(tmp_path_factory.mktemp("gps") / "task", photos, OPTIONS)
    run = run_engine(task)
    assert run.code == 0, run.text()
    return task


def load(task):
    """(model, dataset.json) of a finished run."""
    return pycolmap.Reconstruction(task / "work" / "sfm" / "model"), json.loads((task / "work" / "dataset.json")
                                                                               .read_text())


def control_point_lines(task, count=4):
    """GCP file lines for `count` tie points of the run spread over its area, moved by SURVEY_OFFSET."""
    rec, dataset = load(task)
    images = {i["name"]: i for i in dataset["images"]}
    origin = np.array(dataset["frame"]["origin"])
    seen = [p for p in rec.points3D.values() if p.track.length() >= 3 and p.error < 1.0]
    xy = np.array([p.xyz[:2] for p in seen])
    corners = [xy.min(axis=0), xy.max(axis=0), [xy[:, 0].min(), xy[:, 1].max()], [xy[:, 0].max(), xy[:, 1].min()]]
    lines = []
    for number, corner in enumerate(corners[:count]):
        point = seen[int(np.argmin(np.linalg.norm(xy - corner, axis=1)))]
        e, n, z = point.xyz + origin + SURVEY_OFFSET
        for element in point.track.elements:
            image = rec.image(element.image_id)
            u, v = image.points2D[element.point2D_idx].xy
            scale = images[image.name]["orig_width"] / images[image.name]["width"]  # to the uploaded photo's pixels
            lines.append(f"{e:.3f} {n:.3f} {z:.3f} {u * scale:.2f} {v * scale:.2f} {image.name} gcp{number}")
    return lines


def camera_centers(task):
    """{image name: camera centre} in the task's local frame."""
    rec, _ = load(task)
    return {rec.image(i).name: rec.image(i).projection_center() for i in rec.reg_image_ids()}


def test_control_points_move_the_results_onto_the_survey(tmp_path, gps_run, photos):
    """Four points declared 3 m east, 2 m south and 1.5 m above where GPS put them: the cameras follow, and the
    quality report gives each point's remaining error."""
    task = make_task(tmp_path / "task", photos, OPTIONS)
    lines = control_point_lines(gps_run) + ["576700 5188150 160 100 100 NOT_IN_THE_TASK.JPG gcp9"]
    (task / "images" / "gcp_list.txt").write_text("WGS84 UTM 15N\n" + "\n".join(lines) + "\n")
    run = run_engine(task)
    assert run.code == 0, run.text()
    assert any("gcp_list.txt: 4 ground control points" in line for line in run.console), run.text()
    assert any("NOT_IN_THE_TASK.JPG" in line for line in run.console), run.text()  # the unknown photo is named
    stats = json.loads((task / "work" / "sfm" / "stats.json").read_text())
    assert stats["gcp_count"] == 4 and stats["gcp_similarity"] is True, stats
    assert stats["gcp_rms_m"] < 0.3 < stats["gcp_rms_before_m"], stats
    before, after = camera_centers(gps_run), camera_centers(task)
    shift = np.median([after[name] - before[name] for name in before], axis=0)
    assert np.abs(shift - SURVEY_OFFSET).max() < 0.5, shift
    # The quality report of this run (its stage alone, in this process) gives each point's error after the fit.
    workspace = Workspace(task)
    report.run(workspace, workspace.read_options(), lambda fraction: None)
    lines = pdf_lines(task / "results" / "odm_report" / "report.pdf")
    distances = [float(cells_after(lines, f"gcp{number}", 5)[4]) for number in range(4)]
    assert np.sqrt(np.mean(np.square(distances))) == pytest.approx(stats["gcp_rms_m"], abs=0.002), distances
    assert "Orthophoto" not in lines  # that stage did not run
    # A report that cannot be made (here a damaged COLMAP database) is a warning: the stage's other files are made.
    (task / "work" / "sfm" / "database.db").write_bytes(b"damaged")
    assert report.run(workspace, workspace.read_options(), lambda fraction: None) == {"shots": len(photos)}
    assert not (task / "results" / "odm_report" / "report.pdf").exists()
    assert (task / "results" / "odm_report" / "stats.json").is_file()


def test_one_control_point_shifts_the_results(tmp_path, gps_run, photos):
    """A single point cannot fix a rotation or a scale: the model is only shifted onto it."""
    task = make_task(tmp_path / "task", photos, OPTIONS)
    lines = control_point_lines(gps_run, count=1)
    (task / "images" / "survey.txt").write_text("EPSG:32615\n" + "\n".join(lines) + "\n")
    run = run_engine(task)
    assert run.code == 0, run.text()
    stats = json.loads((task / "work" / "sfm" / "stats.json").read_text())
    assert stats["gcp_count"] == 1 and stats["gcp_similarity"] is False and stats["gcp_rms_m"] < 0.05, stats
    assert stats["model_scale"] > 0  # the GPS alignment happened before the shift


@pytest.mark.parametrize("content, words", [
    ("NOT A CRS AT ALL\n576700 5188150 160 100 100 DJI_0018.JPG\n", ["first line", "coordinate system"]),
    ("EPSG:32615\n576700 5188150 160 100 DJI_0018.JPG\n", ["line 2", "x y z pixel_x pixel_y image_name"]),
    ("# only a comment\n", ["empty"]),
], ids=["unknown-crs", "missing-field", "empty"])
def test_an_unreadable_gcp_file_fails_the_task_with_the_line(tmp_path, photos, content, words):
    """A GCP file the engine cannot read stops the task with a message naming the problem."""
    task = make_task(tmp_path / "task", photos[:2], {"resize-to": 640, "end-with": "dataset"})
    (task / "images" / "gcp_list.txt").write_text(content)
    run = run_engine(task)
    assert run.code == 1 and len(run.errors) == 1, run.text()
    for word in words:
        assert word in run.errors[0], run.errors[0]
    assert "gcp_list.txt" in run.errors[0] and "Traceback" not in run.stderr
