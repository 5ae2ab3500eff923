"""The textured model's files (localnode/engine/modelfiles.py) read back: our OBJ reader, and trimesh for the GLB."""
import io

import numpy as np
import trimesh
from PIL import Image

from localnode.engine import modelfiles


def two_page_model():
    """A square of two triangles, each on its own texture page, at UTM-minus-offset sized coordinates."""
    vertices = np.array([[10.0, 20.0, 100.0], [11.0, 20.0, 100.5], [10.0, 21.0, 101.0], [11.0, 21.0, 101.5]])
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    uv = np.array([[[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]], [[0.2, 0.2], [0.8, 0.8], [0.2, 0.8]]])
    return vertices, faces, uv, np.array([0, 1])


def jpeg(colour):
    """A small one-colour JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_obj_round_trip_keeps_geometry_texture_coordinates_and_materials(tmp_path):
    """What write_obj writes, read_obj reads back: one material per page, ODM's file names."""
    vertices, faces, uv, page = two_page_model()
    for number in (0, 1):
        (tmp_path / modelfiles.texture_name("model", number)).write_bytes(jpeg("red"))
    modelfiles.write_obj(tmp_path, "model", vertices, faces, uv, page)
    read_vertices, read_faces, read_uv, read_page, textures = modelfiles.read_obj(tmp_path / "model.obj")
    assert np.allclose(read_vertices, vertices) and (read_faces == faces).all()
    assert np.allclose(read_uv, uv) and (read_page == page).all()
    assert [t.name for t in textures] == ["model_material0000_map_Kd.jpg", "model_material0001_map_Kd.jpg"]


def test_glb_is_read_by_trimesh_upright_with_two_textured_materials(tmp_path):
    """glTF's y-up view of the z-up model, one textured material per page, and the offset in the scene's extras."""
    vertices, faces, uv, page = two_page_model()
    path = tmp_path / "model.glb"
    modelfiles.write_glb(path, vertices, faces, uv, page, [jpeg("red"), jpeg("blue")], {"offset": [500000, 4000000, 0]})
    scene = trimesh.load(path)
    assert len(scene.geometry) == 2
    model = scene.to_geometry()
    upright = np.c_[vertices[:, 0], vertices[:, 2], -vertices[:, 1]]
    assert np.allclose(model.bounds, [upright.min(axis=0), upright.max(axis=0)], atol=1e-5)
    colours = sorted(tuple(np.asarray(g.visual.material.baseColorTexture)[8, 8]) for g in scene.geometry.values())
    assert colours[0][2] > 200 and colours[1][0] > 200  # one blue page, one red page
    # trimesh turns glTF's downward v back into OBJ's upward v: the coordinates must come back as written.
    corners = [g.visual.uv[g.faces].reshape(-1, 2) for g in scene.geometry.values()]
    read_uv = sorted(map(tuple, np.concatenate(corners).round(5)))
    assert read_uv == sorted(map(tuple, uv.reshape(-1, 2).round(5)))
    assert modelfiles.read_glb_json(path)["scenes"][0]["extras"]["offset"] == [500000, 4000000, 0]


def test_coords_txt_names_the_utm_zone_and_whole_metre_offset(tmp_path):
    """coords.txt as ODM writes it, for both hemispheres."""
    modelfiles.write_coords(tmp_path / "coords.txt", 32734, (261000.0, 6243000.0))
    assert (tmp_path / "coords.txt").read_text() == "WGS84 UTM 34S\n261000 6243000\n"
    modelfiles.write_coords(tmp_path / "coords.txt", 32630, (699999.6, 5632100.2))
    assert modelfiles.read_coords(tmp_path / "coords.txt") == ("WGS84 UTM 30N", 700000.0, 5632100.0)
