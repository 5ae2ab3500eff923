"""Ground control points without a run: reading the file into the local frame, and the similarity fit."""
import numpy as np
import pycolmap
import pytest
from pyproj import Transformer

from localnode.engine.console import EngineError
from localnode.engine.gcp import _spread_in_two_directions, find_gcp_file, fit_similarity, read_gcp_file
from localnode.engine.geo import LocalFrame

FRAME = LocalFrame(32615, (500_000.0, 5_000_000.0, 100.0))  # UTM 15N
IMAGES = [{"name": "a.jpg", "width": 1000, "orig_width": 4000}, {"name": "b.jpg", "width": 1000, "orig_width": 4000}]


def rotation_about_z(degrees):
    """A rotation matrix about the vertical axis."""
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


def gcp_file(tmp_path, text, name="gcp_list.txt"):
    """A GCP file holding text."""
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_similarity_is_recovered_from_exact_points():
    rng = np.random.default_rng(1)
    model = rng.uniform(-50, 50, (6, 3))
    rotation, scale, shift = rotation_about_z(30), 2.5, np.array([10.0, -20.0, 5.0])
    surveyed = scale * model @ rotation.T + shift
    transform = fit_similarity(model, surveyed)
    assert isinstance(transform, pycolmap.Sim3d)
    assert transform.scale == pytest.approx(scale)
    assert np.allclose(transform.rotation.matrix(), rotation) and np.allclose(transform.translation, shift)
    assert np.allclose(transform * model, surveyed)


def test_the_fit_never_mirrors_the_model():
    model = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], float)
    mirrored = model * np.array([1, 1, -1])  # no rotation maps one onto the other
    rotation = fit_similarity(model, mirrored).rotation.matrix()
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_points_on_a_line_do_not_fix_a_rotation():
    line = np.array([[0, 0, 0], [10, 10, 0], [20, 20, 0.01]], float)
    triangle = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], float)
    assert not _spread_in_two_directions(line) and _spread_in_two_directions(triangle)


def test_the_file_is_read_into_the_local_frame_with_pixels_of_the_working_images(tmp_path):
    to_wgs84 = Transformer.from_crs(32615, 4326, always_xy=True)
    lon, lat = to_wgs84.transform(500_100.0, 5_000_200.0)
    lon2, lat2 = to_wgs84.transform(500_010.0, 5_000_020.0)
    path = gcp_file(tmp_path, "EPSG:4326\n"
                              f"{lon} {lat} 130.0 400 800 a.jpg north  # comment\n"
                              f"{lon} {lat} 130.0 2000 1200 b.jpg north\n"
                              "\n# a blank line and a comment line\n"
                              f"{lon2} {lat2} 101 40 80 a.jpg\n")
    north, unnamed = read_gcp_file(path, FRAME, IMAGES)
    assert north["name"] == "north" and (north["x"], north["y"], north["z"]) == pytest.approx((100, 200, 30), abs=1e-3)
    assert north["sightings"] == [{"image": "a.jpg", "u": 100.0, "v": 200.0},
                                  {"image": "b.jpg", "u": 500.0, "v": 300.0}]
    assert unnamed["name"] == f"point at {lon2:g}, {lat2:g}"
    assert (unnamed["x"], unnamed["y"], unnamed["z"]) == pytest.approx((10, 20, 1), abs=1e-3)


def test_odm_names_for_a_utm_zone_are_understood(tmp_path):
    path = gcp_file(tmp_path, "WGS84 UTM 15N\n500010 5000020 101 40 80 a.jpg p1\n")
    point = read_gcp_file(path, FRAME, IMAGES)[0]
    assert (point["x"], point["y"], point["z"]) == pytest.approx((10, 20, 1))


def test_sightings_in_unknown_photos_are_left_out_with_a_warning(tmp_path, capsys):
    path = gcp_file(tmp_path, "EPSG:32615\n500010 5000020 101 40 80 a.jpg p1\n500010 5000020 101 40 80 zz.jpg p1\n")
    assert [s["image"] for s in read_gcp_file(path, FRAME, IMAGES)[0]["sightings"]] == ["a.jpg"]
    assert "WARNING" in capsys.readouterr().out


@pytest.mark.parametrize("text, words", [
    ("", "is empty"),
    ("not a coordinate system\n1 2 3 4 5 a.jpg\n", "first line must name"),
    ("EPSG:32615\n1 2 three 4 5 a.jpg\n", "line 2: expected x y z"),
    ("EPSG:32615\n1 2 3 4 5\n", "line 2: expected x y z"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, text, words):
    with pytest.raises(EngineError, match=words):
        read_gcp_file(gcp_file(tmp_path, text), FRAME, IMAGES)


def test_the_gcp_file_is_gcp_list_txt_first_and_never_a_node_text_file(tmp_path):
    for name in ("geo.txt", "image_groups.txt", "a_points.txt"):
        (tmp_path / name).write_text("x")
    assert find_gcp_file(tmp_path).name == "a_points.txt"
    (tmp_path / "gcp_list.txt").write_text("x")
    assert find_gcp_file(tmp_path).name == "gcp_list.txt"
    assert find_gcp_file(tmp_path / "empty") is None
