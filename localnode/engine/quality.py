"""How well the textured model reproduces the photos: each registered camera's view rendered by ray casting the
written model (OBJ and its texture pages) and compared with the photo. Used by bench/localnode.py and the tests.

Per photo: the median absolute colour difference (mean of the three channels, 0-255) over the pixels the model
covers, with the photo as taken and with the photo times the exposure gain mvs_texturing gave it (the model's
colours are levelled: a photo its camera exposed brighter than the others differs by that much everywhere), and
the share of the photo's footprint (the pixels where the dense point cloud projects) that the model covers.
"""
import cv2
import numpy as np
import pycolmap
from PIL import Image
from scipy import ndimage

from localnode.engine import modelfiles
from localnode.engine.texturing import Photo, RayCaster
from localnode.engine.workspace import read_json

OBJ = "odm_texturing/odm_textured_model_geo.obj"
COORDS = "odm_georeferencing/coords.txt"


def load_textured_model(task_dir):
    """(vertices in the task's local frame, faces, uv, page, texture pages as float32 RGB arrays)."""
    vertices, faces, uv, page, textures = modelfiles.read_obj(task_dir / "results" / OBJ)
    _, east, north = modelfiles.read_coords(task_dir / "results" / COORDS)
    origin = read_json(task_dir / "work" / "dataset.json")["frame"]["origin"]
    local = vertices + np.array([east - origin[0], north - origin[1], -origin[2]])
    pages = [np.asarray(Image.open(path).convert("RGB"), np.float32) for path in textures]
    return local, faces, uv, page, pages


def render(photo, caster, uv, page, pages, reduce):
    """(rendered RGB, covered mask) of the model seen from the photo's camera, at 1/reduce of its size."""
    w, h = photo.size[0] // reduce, photo.size[1] // reduce
    xs, ys = np.meshgrid((np.arange(w) + 0.5) * reduce, (np.arange(h) + 0.5) * reduce)
    rays = photo.camera.cam_from_img(np.c_[xs.ravel(), ys.ravel()])
    directions = np.c_[rays, np.ones(len(rays))] @ photo.rotation  # camera to world: R^T d
    hit, _, bu, bv = caster.cast(np.broadcast_to(photo.center, directions.shape), directions)
    covered = hit >= 0
    colour = np.zeros((len(hit), 3), np.float32)
    face = hit[covered]
    weights = np.c_[1 - bu[covered] - bv[covered], bu[covered], bv[covered]]
    tex = np.einsum("ij,ijk->ik", weights, uv[face])
    for number, pixels in enumerate(pages):
        mine = page[face] == number
        if mine.any():
            ph, pw = pixels.shape[:2]
            mx = (tex[mine, 0] * pw - 0.5).astype(np.float32)
            my = ((1 - tex[mine, 1]) * ph - 0.5).astype(np.float32)
            colour[np.nonzero(covered)[0][mine]] = sample(pixels, mx, my)
    return colour.reshape(h, w, 3), covered.reshape(h, w)


def sample(pixels, x, y):
    """Bilinear samples of an image at points (x, y), as Nx3 (cv2.remap takes maps under 32767 rows: fold them)."""
    count = len(x)
    width = 1024
    rows = -(-count // width)
    mx, my = (np.resize(np.asarray(v, np.float32), rows * width).reshape(rows, width) for v in (x, y))
    return cv2.remap(pixels, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:count]


def footprint(photo, points, shape, reduce):
    """Pixels (at 1/reduce) where the point cloud projects into the photo, holes between points closed."""
    uv, depth = photo.project(points)
    inside = photo.inside(uv, depth, 0)
    mask = np.zeros(shape, bool)
    cols = np.clip(((uv[inside, 0] + 0.5) / reduce).astype(int), 0, shape[1] - 1)
    rows = np.clip(((uv[inside, 1] + 0.5) / reduce).astype(int), 0, shape[0] - 1)
    mask[rows, cols] = True
    return ndimage.binary_closing(mask, iterations=3) & ndimage.binary_erosion(np.ones(shape, bool), iterations=3)


def texture_figures(task_dir, points, reduce=4):
    """{photo name: (median abs colour difference, the same after the photo's gain, covered share of the
    footprint)} for the registered photos."""
    vertices, faces, uv, page, pages = load_textured_model(task_dir)
    caster = RayCaster(vertices, faces)
    rec = pycolmap.Reconstruction(task_dir / "work" / "sfm" / "model")
    gains = read_json(task_dir / "work" / "mvs_texturing.done.json").get("gains", {})
    figures = {}
    for image_id in sorted(rec.reg_image_ids()):
        photo = Photo(rec.image(image_id))
        rendered, covered = render(photo, caster, uv, page, pages, reduce)
        with Image.open(task_dir / "work" / "images" / photo.name) as img:
            actual = np.asarray(img.convert("RGB").resize(rendered.shape[1::-1], Image.BOX), np.float32)
        feet = footprint(photo, points, covered.shape, reduce)
        both = covered & feet
        if not feet.any() or not both.any():
            continue
        raw = np.abs(rendered[both] - actual[both]).mean(axis=1)
        levelled = np.abs(rendered[both] - actual[both] * np.array(gains.get(photo.name, 1.0))).mean(axis=1)
        figures[photo.name] = (float(np.median(raw)), float(np.median(levelled)), float(both.sum() / feet.sum()))
    return figures
