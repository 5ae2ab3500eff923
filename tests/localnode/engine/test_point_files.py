"""The point cloud files (LAZ, PLY) written a chunk at a time: every point, in UTM, with its colour and the CRS."""
import laspy
import numpy as np
import pytest
from pyproj import CRS

from localnode.engine.stages import pointcloud

ORIGIN = np.array([261000.0, 6243000.0, 100.0])


@pytest.fixture
def cloud(monkeypatch):
    """2500 local points with colours, written in chunks of 1000 (so the last one is partial)."""
    monkeypatch.setattr(pointcloud, "WRITE_CHUNK", 1000)
    rng = np.random.default_rng(3)
    return rng.uniform(-50, 50, (2500, 3)), rng.integers(0, 256, (2500, 3)).astype(np.uint8)


def test_the_laz_holds_every_point_in_utm_to_the_millimetre(cloud, tmp_path):
    xyz, rgb = cloud
    pointcloud.write_laz(tmp_path / "c.laz", xyz, rgb, CRS.from_epsg(32734), ORIGIN)
    las = laspy.read(tmp_path / "c.laz")
    assert las.header.point_count == 2500
    assert np.abs(np.c_[las.x, las.y, las.z] - (xyz + ORIGIN)).max() <= 0.0006
    assert (np.c_[las.red, las.green, las.blue] == rgb.astype(np.uint16) * 257).all()
    assert np.allclose(las.header.mins, (xyz + ORIGIN).min(axis=0), atol=0.001)
    assert np.allclose(las.header.maxs, (xyz + ORIGIN).max(axis=0), atol=0.001)
    assert las.header.parse_crs().to_epsg() == 32734


def test_the_ply_holds_every_point_in_utm(cloud, tmp_path):
    xyz, rgb = cloud
    pointcloud.write_ply(tmp_path / "c.ply", xyz, rgb, ORIGIN)
    data = (tmp_path / "c.ply").read_bytes()
    header, body = data.split(b"end_header\n", 1)
    assert b"element vertex 2500" in header
    vertex = np.frombuffer(body, dtype=[("x", "<f8"), ("y", "<f8"), ("z", "<f8"),
                                        ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    assert len(vertex) == 2500
    assert np.array_equal(np.c_[vertex["x"], vertex["y"], vertex["z"]], xyz + ORIGIN)
    assert np.array_equal(np.c_[vertex["red"], vertex["green"], vertex["blue"]], rgb)
