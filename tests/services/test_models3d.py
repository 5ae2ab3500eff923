"""The 3D page's files made from a task's results: the point cloud's binary form, the model as GLB, the cameras;
and their making at extraction (any node's results zip), left out of all.zip."""
import json
import zipfile

import laspy
import numpy
import pytest
import trimesh

from tests.support import models3d as fixtures
from webapp.services import assets, models3d


def decode_points(data, count, block):
    """(positions float32 N×3, colours uint8 N×3) of a points.bin, read as the page reads it."""
    positions, colours, at = [], [], 0
    for start in range(0, count, block):
        n = min(block, count - start)
        positions.append(numpy.frombuffer(data, "<f4", n * 3, at).reshape(n, 3))
        colours.append(numpy.frombuffer(data, numpy.uint8, n * 3, at + n * 12).reshape(n, 3))
        at += n * 15 + (-n * 3) % 4
    assert at == len(data), "nothing after the last block"
    return numpy.vstack(positions), numpy.vstack(colours)


@pytest.fixture
def results(tmp_path):
    """An assets folder with ODM's 3D results: point cloud, textured OBJ, coords.txt, shots."""
    folder = tmp_path / "assets"
    fixtures.write_3d_results(folder)
    return folder


def test_the_point_cloud_becomes_blocks_of_local_float32_positions_and_8_bit_colours(results, monkeypatch):
    monkeypatch.setattr(models3d, "BLOCK_POINTS", 1000)  # several blocks, the last one short
    scene = models3d.prepare(results)
    las = laspy.read(results / models3d.POINT_CLOUD)
    assert scene["origin"] == [*fixtures.OFFSET, 0.0] and scene["epsg"] == fixtures.UTM
    assert scene["points"] == {"count": len(las.points), "total": len(las.points), "block": 1000}
    positions, colours = decode_points((results / "viewer3d" / "points.bin").read_bytes(), len(las.points), 1000)
    expected = numpy.column_stack([las.x - fixtures.OFFSET[0], las.y - fixtures.OFFSET[1], las.z])
    order = numpy.lexsort(expected.T)
    got = numpy.lexsort(positions.T.astype(numpy.float64))
    assert numpy.abs(positions[got] - expected[order]).max() < 0.001  # millimetres kept, in another order
    assert sorted(map(tuple, colours)) == sorted(map(tuple, numpy.column_stack(
        [las.red, las.green, las.blue]) // 257))
    assert scene["bounds"][0][:2] == [-30.0, -30.0] and scene["bounds"][1][:2] == [30.0, 30.0]


def test_a_big_cloud_is_cut_to_an_even_random_sample(results):
    scene = models3d.prepare(results, max_points=2000)
    assert scene["points"]["count"] == 2000 and scene["points"]["total"] == 120 * 120
    positions, _ = decode_points((results / "viewer3d" / "points.bin").read_bytes(), 2000, models3d.BLOCK_POINTS)
    first = positions[:500]  # any first part is itself an even sample: each quarter of the ground holds some
    quarters = numpy.histogram2d(first[:, 0], first[:, 1], bins=2)[0]
    assert quarters.min() > 80


def test_the_textured_model_becomes_a_y_up_glb_and_the_missing_asset(results):
    scene = models3d.prepare(results)
    assert scene["model"] is True
    glb = trimesh.load(results / "viewer3d" / "model.glb", force="scene")
    (mesh,) = glb.geometry.values()
    obj = trimesh.load(results / models3d.TEXTURED_OBJ, force="mesh", process=False, maintain_order=True)
    east, north, up = obj.vertices.T  # coords.txt's offset is the origin: ODM's own frame, turned y-up
    assert numpy.abs(mesh.vertices - numpy.column_stack([east, up, -north])).max() < 1e-3
    assert len(mesh.faces) == len(obj.faces)
    texture = mesh.visual.material.baseColorTexture
    assert texture.size == (fixtures.TEXTURE_PIXELS, fixtures.TEXTURE_PIXELS) and texture.format == "JPEG"
    asset = results / models3d.TEXTURED_GLB
    assert asset.read_bytes() == (results / "viewer3d" / "model.glb").read_bytes()
    assert "textured_model.glb" in assets.available_assets(results)


def test_big_textures_are_scaled_down(results, monkeypatch):
    monkeypatch.setattr(models3d, "MAX_TEXTURE_PIXELS", 16)
    models3d.prepare(results)
    (mesh,) = trimesh.load(results / "viewer3d" / "model.glb", force="scene").geometry.values()
    assert mesh.visual.material.baseColorTexture.size == (16, 16)


def test_a_glb_from_the_node_is_kept(results):
    (results / models3d.TEXTURED_GLB).write_bytes(b"glTF from the node")
    models3d.prepare(results)
    assert (results / models3d.TEXTURED_GLB).read_bytes() == b"glTF from the node"
    assert (results / "viewer3d" / "model.glb").read_bytes()[:4] == b"glTF"


@pytest.mark.parametrize("odm_style", [True, False], ids=["ODM axis-angle", "built-in 3x3"])
def test_cameras_from_either_kind_of_shots(tmp_path, odm_style):
    folder = tmp_path / "assets"
    fixtures.write_3d_results(folder, model=False, odm_style=odm_style)
    cameras = models3d.prepare(folder)["cameras"]
    assert [c["name"] for c in cameras] == [f"DJI_{n:04d}.JPG" for n in range(4)]
    for number, camera in enumerate(cameras):
        assert camera["position"] == pytest.approx([-15 + 10 * number, 5, fixtures.GROUND + fixtures.FLIGHT],
                                                   abs=0.01)
        numpy.testing.assert_allclose(camera["axes"], [[1, 0, 0], [0, -1, 0], [0, 0, -1]], atol=1e-6)  # down
    assert cameras[0]["aspect"] == pytest.approx(4 / 3, abs=1e-3)


def test_results_with_nothing_3d_or_damaged_make_no_3d_page_and_raise_nothing(tmp_path):
    folder = tmp_path / "assets"
    (folder / "odm_orthophoto").mkdir(parents=True)
    assert models3d.prepare(folder) is None and not (folder / "viewer3d").exists()
    (folder / "odm_georeferencing").mkdir()
    (folder / models3d.POINT_CLOUD).write_bytes(b"LASF but not really")
    (folder / "odm_texturing").mkdir()
    (folder / models3d.TEXTURED_OBJ).write_text("v 0 0 0\nv 1 0 0\n")  # vertices, no face
    assert models3d.prepare(folder) is None and not models3d.has_3d(folder)


def test_a_damaged_cloud_still_leaves_the_model(results):
    (results / models3d.POINT_CLOUD).write_bytes(b"not a LAZ")
    scene = models3d.prepare(results)
    assert scene["points"] is None and scene["model"] is True


def test_extraction_prepares_the_3d_view_and_all_zip_leaves_it_out(results, tmp_path):
    zip_path = tmp_path / "all.zip"
    zip_path.write_bytes(fixtures.results_zip(results))
    with zipfile.ZipFile(zip_path, "a") as archive:  # a zip's own viewer3d/ never stands for ours
        archive.writestr("viewer3d/scene.json", json.dumps({"points": {"count": 10 ** 9}}))
    target = tmp_path / "task" / "assets"
    extracted = assets.extract_results_zip(zip_path, target)
    assert "textured_model.glb" in extracted.available_assets
    scene = json.loads((target / "viewer3d" / "scene.json").read_text())
    assert scene["points"]["count"] == 120 * 120
    streamed = b"".join(assets.zip_folder_stream(target))
    assert b"viewer3d/" not in streamed and b"odm_georeferencing/coords.txt" in streamed


def test_texture_seams_keep_each_faces_own_texture_coordinates(results):
    # Two texture patches meet along x = 0: the vertices there have one texture coordinate per patch (as every OBJ
    # of ODM's mvs-texturing or the built-in engine has); each face must keep its own, not one per vertex.
    (results / models3d.TEXTURED_OBJ).write_text(
        "mtllib odm_textured_model_geo.mtl\n"
        "v -10 -10 100\nv 0 -10 100\nv 0 10 100\nv -10 10 100\nv 10 -10 100\nv 10 10 100\n"
        "vt 0.0 0.0\nvt 0.4 0.0\nvt 0.4 1.0\nvt 0.0 1.0\nvt 0.6 0.0\nvt 1.0 0.0\nvt 1.0 1.0\nvt 0.6 1.0\n"
        "usemtl material0000\n"
        "f 1/1 2/2 3/3\nf 1/1 3/3 4/4\nf 2/5 5/6 6/7\nf 2/5 6/7 3/8\n")
    models3d.prepare(results)
    (mesh,) = trimesh.load(results / "viewer3d" / "model.glb", force="scene").geometry.values()
    corners = {(tuple(numpy.round(mesh.vertices[v], 3)), tuple(numpy.round(mesh.visual.uv[v], 3)))
               for face in mesh.faces for v in face}
    expected = {((-10, 100, 10), (0, 0)), ((0, 100, 10), (0.4, 0)), ((0, 100, -10), (0.4, 1)),
                ((-10, 100, -10), (0, 1)), ((0, 100, 10), (0.6, 0)), ((10, 100, 10), (1, 0)),
                ((10, 100, -10), (1, 1)), ((0, 100, -10), (0.6, 1))}  # y up, z south: (x, z, -y)
    assert corners == expected
