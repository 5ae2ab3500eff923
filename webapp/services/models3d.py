"""What the 3D page shows, made once when a task's results are extracted, from any node's results.

From ODM's files (the built-in engine writes the same ones): the point cloud
(odm_georeferencing/odm_georeferenced_model.laz), the textured model (odm_texturing/odm_textured_model_geo.obj with
its .mtl and textures, vertices in UTM minus the offset in odm_georeferencing/coords.txt) and the cameras
(odm_report/shots.geojson), it writes into the assets' viewer3d/ folder (left out of all.zip):

- points.bin: at most MAX_POINTS points in random order (so that any first part of the file is an even sample),
  in blocks of BLOCK_POINTS points: float32 x, y, z relative to the scene's origin (metres, east/north/up), then
  uint8 red, green, blue, padded to 4 bytes. The page draws each block as it arrives.
- model.glb: the textured model as binary glTF, relative to the origin, y up as glTF wants, its textures as JPEG
  of at most MAX_TEXTURE_PIXELS a side. When the node gave no
  textured_model.glb (real ODM gives only the OBJ), the same file becomes that asset.
- scene.json (written last: its presence says the rest is there): origin, EPSG code, bounds, point count and
  block size, whether there is a model, and the cameras (position and axes) for the frusta.
"""
import io
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from webapp import storage

log = logging.getLogger(__name__)

VIEWER_DIR = "viewer3d"
SCENE_JSON, POINTS_BIN, MODEL_GLB = "scene.json", "points.bin", "model.glb"
POINT_CLOUD = "odm_georeferencing/odm_georeferenced_model.laz"
COORDS = "odm_georeferencing/coords.txt"
TEXTURED_OBJ = "odm_texturing/odm_textured_model_geo.obj"
TEXTURED_GLB = "odm_texturing/odm_textured_model_geo.glb"
SHOTS = "odm_report/shots.geojson"
IMAGES = "images.json"
MAX_POINTS = 3_000_000  # about 45 MB to download; a browser draws that many smoothly
BLOCK_POINTS = 65_536
READ_CHUNK = 1_000_000  # points read from the LAZ at a time, so a 100-million-point cloud never sits in memory
MAX_TEXTURE_PIXELS = 4096
JPEG_QUALITY = 90
DEFAULT_FOCAL = 0.85  # focal length over the longer image side, when the results do not say
FORMAT_VERSION = 1


def viewer_dir(assets_dir):
    """The folder of a task's 3D page files."""
    return Path(assets_dir) / VIEWER_DIR


def scene_path(assets_dir):
    """The scene.json of a task (it exists only when the 3D page has something to show)."""
    return viewer_dir(assets_dir) / SCENE_JSON


def has_3d(assets_dir):
    """Whether a task's results have a 3D page."""
    return scene_path(assets_dir).is_file()


def prepare(assets_dir, max_points=MAX_POINTS):
    """Make the 3D page's files from a task's results; the scene (dict), or None when there is nothing 3D.

    Never raises: results that cannot be shown in 3D (a damaged LAZ or OBJ) still make a completed task; the
    reason goes to the log and the task simply has no 3D page.
    """
    assets_dir = Path(assets_dir)
    try:
        return _prepare(assets_dir, max_points)
    except Exception:  # noqa: BLE001 (laspy, trimesh and PIL raise many types; the results stay usable)
        log.exception("could not prepare the 3D view of %s", assets_dir)
        storage.remove_tree(viewer_dir(assets_dir))
        return None


def _prepare(assets_dir, max_points):
    """prepare, without its safety net."""
    out = viewer_dir(assets_dir)
    storage.remove_tree(out)
    offset, coords_epsg = read_coords(assets_dir / COORDS)
    cloud_path, obj_path = assets_dir / POINT_CLOUD, assets_dir / TEXTURED_OBJ
    cloud = _readable(read_point_cloud, cloud_path, max_points) if cloud_path.is_file() else None
    model = _readable(load_model, obj_path) if obj_path.is_file() else None
    if cloud is None and model is None:
        return None
    epsg = (cloud or {}).get("epsg") or coords_epsg
    origin = _origin(offset, cloud, model)
    out.mkdir(parents=True)
    scene = {"version": FORMAT_VERSION, "origin": origin.tolist(), "epsg": epsg,
             "points": None, "model": False, "cameras": []}
    corners = []
    if cloud is not None:
        local = cloud["xyz"] - origin
        corners += [local.min(axis=0), local.max(axis=0)]
        _write_atomically(out / POINTS_BIN, encode_points(local, cloud["rgb"]))
        scene["points"] = {"count": len(local), "total": cloud["total"], "block": BLOCK_POINTS}
    if model is not None:
        corners += _place_model(model, (0.0 if offset is None else offset) - origin)
        compact_textures(model, MAX_TEXTURE_PIXELS)
        _write_atomically(out / MODEL_GLB, model.export(file_type="glb"))
        scene["model"] = True
        if offset is not None and not (assets_dir / TEXTURED_GLB).is_file():
            shutil.copyfile(out / MODEL_GLB, assets_dir / TEXTURED_GLB)  # origin == offset: ODM's own frame
    corners = np.array(corners)
    scene["bounds"] = [np.round(corners.min(axis=0), 3).tolist(), np.round(corners.max(axis=0), 3).tolist()]
    scene["cameras"] = read_cameras(assets_dir, origin, epsg)
    _write_atomically(out / SCENE_JSON, json.dumps(scene).encode())
    return scene


def _readable(read, path, *args):
    """read(path, *args), or None (logged) when the file cannot be read: the other layer is still shown."""
    try:
        return read(path, *args)
    except Exception as error:  # noqa: BLE001 (laspy, trimesh and PIL raise many types)
        log.warning("the 3D view leaves out %s: %s", path.name, error)
        return None


def _write_atomically(path, content):
    """storage.write_atomically: readers of a task being re-extracted never see half a file."""
    storage.write_atomically(path, content)


def _origin(offset, cloud, model):
    """The scene's origin: ODM's offset when the results have one (so the model keeps ODM's frame), else the
    rounded centre of what there is (float32 positions then keep millimetres)."""
    if offset is not None:
        return offset.copy()
    xyz = cloud["xyz"] if cloud is not None else np.vstack([g.vertices for g in model.geometry.values()])
    centre = (xyz.min(axis=0) + xyz.max(axis=0)) / 2
    return np.array([round(centre[0]), round(centre[1]), 0.0])


# --- ODM's georeferencing offset --------------------------------------------------------------------------------

def read_coords(path):
    """(offset as [x, y, 0], EPSG code) from ODM's coords.txt ("WGS84 UTM 33N" then "x y"); (None, None) if absent.

    A file that does not read as that is treated as absent: the model is then taken as already in the CRS.
    """
    try:
        lines = Path(path).read_text().split("\n")
        x, y = (float(v) for v in lines[1].split()[:2])
    except (OSError, IndexError, ValueError):
        return None, None
    return np.array([x, y, 0.0]), _utm_epsg(lines[0])


def _utm_epsg(description):
    """The EPSG code of "WGS84 UTM 33N" (32633) or "WGS84 UTM 33S" (32733); None for anything else."""
    words = description.upper().split()
    if len(words) != 3 or words[:2] != ["WGS84", "UTM"] or words[2][-1:] not in ("N", "S"):
        return None
    try:
        zone = int(words[2][:-1])
    except ValueError:
        return None
    return (32600 if words[2].endswith("N") else 32700) + zone if 1 <= zone <= 60 else None


# --- the point cloud --------------------------------------------------------------------------------------------

def read_point_cloud(path, max_points=MAX_POINTS, seed=0):
    """{xyz (float64, CRS units), rgb (uint8), total, epsg} of an even random sample of at most max_points points."""
    import laspy

    rng = np.random.default_rng(seed)
    xyz_parts, rgb_parts = [], []
    with laspy.open(path) as reader:
        header = reader.header
        total = int(header.point_count)
        keep = min(1.0, max_points * 1.01 / max(total, 1))  # 1 % over, cut to max_points after the shuffle
        coloured = {"red", "green", "blue"} <= set(header.point_format.dimension_names)
        for chunk in reader.chunk_iterator(READ_CHUNK):
            chosen = rng.random(len(chunk)) < keep
            xyz_parts.append(np.column_stack([np.asarray(chunk.x)[chosen], np.asarray(chunk.y)[chosen],
                                              np.asarray(chunk.z)[chosen]]))
            if coloured:
                rgb_parts.append(np.column_stack([np.asarray(chunk.red)[chosen], np.asarray(chunk.green)[chosen],
                                                  np.asarray(chunk.blue)[chosen]]))
        epsg = _las_epsg(header)
    xyz = np.vstack(xyz_parts) if xyz_parts else np.empty((0, 3))
    if not len(xyz):
        return None
    order = rng.permutation(len(xyz))[:max_points]
    rgb = _eight_bit(np.vstack(rgb_parts)) if coloured else height_colours(xyz[:, 2])
    return {"xyz": xyz[order], "rgb": rgb[order], "total": total, "epsg": epsg}


def _las_epsg(header):
    """The EPSG code of a LAS file's CRS record, or None."""
    try:
        crs = header.parse_crs()
        return crs.to_epsg() if crs is not None else None
    except Exception:  # noqa: BLE001 (pyproj and laspy raise several types for odd records)
        return None


def _eight_bit(rgb):
    """LAS colours as uint8: 16-bit values (the standard) scaled down; files written with 8-bit values kept."""
    rgb = np.asarray(rgb, dtype=np.uint16)
    return (rgb >> 8 if rgb.size and rgb.max() > 255 else rgb).astype(np.uint8)


def height_colours(z):
    """Colours for a cloud without any: dark blue (low) to light yellow (high)."""
    span = max(float(z.max() - z.min()), 1e-6)
    t = ((z - z.min()) / span)[:, None]
    low, high = np.array([40, 60, 140]), np.array([250, 230, 120])
    return (low + (high - low) * t).astype(np.uint8)


def encode_points(local_xyz, rgb):
    """points.bin: blocks of BLOCK_POINTS points, each float32 x y z of every point, then its uint8 colours, padded
    to 4 bytes (so the next block's floats are aligned)."""
    positions = np.asarray(local_xyz, dtype="<f4")
    colours = np.asarray(rgb, dtype=np.uint8)
    parts = []
    for start in range(0, len(positions), BLOCK_POINTS):
        block = slice(start, start + BLOCK_POINTS)
        colour_bytes = colours[block].tobytes()
        parts += [positions[block].tobytes(), colour_bytes, b"\0" * (-len(colour_bytes) % 4)]
    return b"".join(parts)


# --- the textured model -----------------------------------------------------------------------------------------

def load_model(obj_path):
    """The textured OBJ as a trimesh Scene (one geometry per material), vertices as in the file."""
    import trimesh

    # Not maintain_order: a vertex on a seam between two texture patches has one texture coordinate per patch,
    # and trimesh then gives each its own copy (with maintain_order it keeps one and the seam's faces go wrong).
    scene = trimesh.load(str(obj_path), force="scene", process=False)
    for name, geometry in list(scene.geometry.items()):
        if len(getattr(geometry, "faces", ())) == 0:  # stray points or lines: not part of a surface
            scene.delete_geometry(name)
    if not scene.geometry:
        raise ValueError(f"{obj_path.name} has no faces")
    return scene


def compact_textures(model, max_pixels):
    """Textures as JPEG (photo textures; PNG atlases of ODM are several times bigger) of at most max_pixels a side
    (what every WebGL device can show), so that the GLB stays small and quick to load."""
    from PIL import Image

    for geometry in model.geometry.values():
        material = getattr(geometry.visual, "material", None)
        image = getattr(material, "image", None)
        if image is None:
            continue
        image = image.convert("RGB")
        image.thumbnail((max_pixels, max_pixels), Image.Resampling.LANCZOS)
        encoded = io.BytesIO()
        image.save(encoded, format="JPEG", quality=JPEG_QUALITY)
        material.image = Image.open(io.BytesIO(encoded.getvalue()))  # read back: trimesh keeps a JPEG as JPEG


def _place_model(model, shift):
    """Move the model's vertices by shift (east, north, up) and turn them y-up for glTF; the local bounds."""
    corners = []
    for geometry in model.geometry.values():
        local = np.asarray(geometry.vertices, dtype=np.float64) + shift
        corners += [local.min(axis=0), local.max(axis=0)]
        geometry.vertices = np.column_stack([local[:, 0], local[:, 2], -local[:, 1]])  # glTF: y up, z south
    return corners


# --- the cameras ------------------------------------------------------------------------------------------------

def read_cameras(assets_dir, origin, epsg):
    """Each camera of shots.geojson: {name, position (local), axes: right, down, forward (unit vectors), aspect,
    focal (over the longer side)}; [] without shots."""
    try:
        shots = json.loads((Path(assets_dir) / SHOTS).read_text())["features"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    sizes = _image_sizes(Path(assets_dir) / IMAGES)
    positions = _shot_positions(shots, epsg)
    cameras = []
    for shot, position in zip(shots, positions):
        camera = _camera(shot.get("properties") or {}, position, origin, sizes)
        if camera is not None:
            cameras.append(camera)
    return cameras


def _shot_positions(shots, epsg):
    """Camera centres in the scene's CRS: from the WGS84 points (any node writes them), else `translation`."""
    from pyproj import Transformer

    transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True) if epsg else None
    positions = []
    for shot in shots:
        try:
            if transformer is not None:
                lon, lat, alt = shot["geometry"]["coordinates"][:3]
                positions.append(np.array([*transformer.transform(lon, lat), alt], dtype=np.float64))
            else:
                positions.append(np.asarray(shot["properties"]["translation"], dtype=np.float64)[:3])
        except (KeyError, TypeError, ValueError):
            positions.append(None)
    return positions


def _camera(properties, position, origin, sizes):
    """One camera for the page, or None when its position or rotation cannot be read."""
    rotation = _rotation_matrix(properties.get("rotation"))
    if position is None or rotation is None or position.shape != (3,):
        return None
    name = str(properties.get("filename", ""))
    width, height = properties.get("width") or 0, properties.get("height") or 0
    if not (width and height) and name in sizes:
        width, height = sizes[name]
    focal = properties.get("focal")
    if not focal and properties.get("focal_px") and width and height:
        focal = properties["focal_px"] / max(width, height)
    return {"name": name, "position": np.round(position - origin, 3).tolist(),
            "axes": np.round(rotation, 5).tolist(),  # the rows of world-to-camera: right, down, forward
            "aspect": round(width / height, 4) if width and height else 4 / 3,
            "focal": round(float(focal or DEFAULT_FOCAL), 4)}


def _rotation_matrix(rotation):
    """World-to-camera rotation from ODM's axis-angle vector (OpenSfM) or the built-in engine's 3x3 matrix."""
    try:
        values = np.asarray(rotation, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if values.shape == (3, 3):
        return values
    if values.shape != (3,):
        return None
    from scipy.spatial.transform import Rotation
    return Rotation.from_rotvec(values).as_matrix()


def _image_sizes(path):
    """{file name: (width, height)} from the built-in engine's images.json; {} without it."""
    try:
        return {i["filename"]: (i["width"], i["height"]) for i in json.loads(Path(path).read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def file_for(assets_dir, name):
    """The path of one of the 3D page's files (scene.json, points.bin, model.glb), or None when absent."""
    if name not in (SCENE_JSON, POINTS_BIN, MODEL_GLB):
        return None
    path = viewer_dir(assets_dir) / name
    return path if path.is_file() and not os.path.islink(path) else None
