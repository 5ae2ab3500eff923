"""Stage odm_orthophoto: a true-colour mosaic of the photos projected onto the ground (RGBA COG).

For each output cell, the photo that sees it most nearly straight down wins; across seams a narrow feather
blends neighbours, and a gain per photo (fitted on their overlaps) hides exposure differences. Projection is
computed on a coarse grid (every COARSE_STEP cells) and interpolated, and the mosaic is built in strips of
rows, so time and memory grow with the area, not with the number of photos times the area.
"""
import time

import cv2
import numpy as np
from PIL import Image
from rasterio.windows import Window
from scipy import ndimage

from localnode.engine.console import Counter, EngineError, Heartbeat, say, warn
from localnode.engine.model import good_points, load_frame, load_model
from localnode.engine.rasters import cog_writer
from localnode.engine.stages.dem import load_surface
from localnode.engine.workspace import read_json

STAGE = "odm_orthophoto"
ORTHOPHOTO = "odm_orthophoto/odm_orthophoto.tif"
COARSE_STEP = 16          # cells between exact projections; the rest is interpolated
STRIP_ROWS = 1024         # output rows built at a time
FEATHER = 0.03            # seam blend width, in units of the focal length (about 1 m at 35 m height)
MAX_VIEW_TANGENT = 1.2    # ignore image parts looking more than ~50 degrees off nadir
MAX_CELLS = 400_000_000   # coarsen the resolution beyond this many output cells
GAIN_LIMITS = (0.6, 1.6)
TYPICAL_FLYING_HEIGHT_M = 50.0  # ground plane below the cameras when nothing better is known
GAIN_PRIOR_WEIGHT = 4.0   # pull of each photo's exposure prior, against one typical overlap
PHOTO_SECONDS = 0.2       # roughly, per photo, to fit the gains: only to move progress while it runs
CELLS_PER_SECOND = 20e6   # roughly, to write the cloud-optimized GeoTIFF: only to move progress


def run(ws, options, report):
    """Build results/odm_orthophoto/odm_orthophoto.tif."""
    frame = load_frame(ws)
    rec = load_model(ws)
    views = [View(rec.image(i)) for i in sorted(rec.reg_image_ids())]
    ground_z = _ground_height(ws, views, good_points(rec)[0])
    elevation = _elevation_model(ws, options, ground_z)
    resolution = _resolution(views, ground_z, options)
    west, north, cols, rows, resolution = _extent(views, ground_z, resolution)
    say(STAGE, f"Mosaic of {len(views)} images: {cols} x {rows} cells at {resolution * 100:.1f} cm, "
               f"{'flat ground plane' if options['fast-orthophoto'] else 'projected on the surface model'}")
    grid = CoarseGrid(west, north, resolution, rows, cols, elevation)
    projected = Counter(STAGE, len(views), "Photos projected", report, 0.0, 0.1)
    for view in views:
        view.project(grid)
        projected.add()
    started = time.monotonic()
    with Heartbeat(STAGE, "Fitting exposure gains", report, 0.1, 0.2, PHOTO_SECONDS * len(views)):
        _fit_gains(views, ws.images, grid, exposure_gains(ws, views))
    say(STAGE, f"Exposure gains fitted in {time.monotonic() - started:.1f} s "
               f"(from {min(v.gain.min() for v in views):.2f} to {max(v.gain.max() for v in views):.2f})")
    written = Counter(STAGE, rows, "Orthophoto rows written", report, 0.2, 0.85)
    converting = Heartbeat(STAGE, "Writing the cloud-optimized GeoTIFF", report, 0.85, 0.99,
                           rows * cols / CELLS_PER_SECOND)
    try:
        with cog_writer(ws.result(ORTHOPHOTO), ws.work / "orthophoto_scratch.tif", 4, rows, cols, "uint8",
                        west + frame.origin[0], north + frame.origin[1], resolution, frame.crs,
                        threads=options["max-concurrency"]) as output:
            strips = -(-rows // STRIP_ROWS)  # _mosaic reports the share of its strips done
            covered = _mosaic(views, ws.images, grid, output,
                              lambda f: written.update_to(min(rows, round(f * strips) * STRIP_ROWS)))
            coverage = covered / (rows * cols)
            if coverage == 0:
                raise EngineError("The orthophoto came out empty: the photos could not be projected onto the "
                                  "ground.")
            converting.start()  # the conversion runs as the block ends
    finally:
        converting.stop()
    say(STAGE, f"Wrote {ORTHOPHOTO}: E {west + frame.origin[0]:.1f} to {west + cols * resolution + frame.origin[0]:.1f},"
               f" N {north - rows * resolution + frame.origin[1]:.1f} to {north + frame.origin[1]:.1f} "
               f"(EPSG:{frame.epsg}), {coverage * 100:.0f} % of the extent covered")
    return {"resolution_m": resolution, "cols": cols, "rows": rows, "coverage": coverage,
            "bounds_utm": [west + frame.origin[0], north - rows * resolution + frame.origin[1],
                           west + cols * resolution + frame.origin[0], north + frame.origin[1]]}


class View:
    """One registered photo: its pose and camera, and its projection on the coarse grid."""

    def __init__(self, image):
        self.name = image.name
        self.camera = image.camera
        self.pose = image.cam_from_world().matrix()  # 3x4, world to camera
        self.center = image.projection_center()
        self.gain = np.ones(3, np.float32)
        self.window = None  # (r0, r1, c0, c1) on the coarse grid, or None when it sees nothing

    def ground_footprint(self, ground_z):
        """XY of where the image border looks at the plane z = ground_z (clipped to near-nadir rays)."""
        w, h = self.camera.width, self.camera.height
        t = np.linspace(0, 1, 9)
        border = np.concatenate([np.c_[t * w, 0 * t], np.c_[t * w, h + 0 * t], np.c_[0 * t, t * h],
                                 np.c_[w + 0 * t, t * h]])
        rays = self.camera.cam_from_img(border)
        rays = np.c_[rays, np.ones(len(rays))]
        rays[:, :2] *= np.minimum(1.0, MAX_VIEW_TANGENT / np.linalg.norm(rays[:, :2], axis=1))[:, None]
        world_rays = rays @ self.pose[:, :3]  # R^T applied to each ray
        down = world_rays[:, 2] < -1e-6
        if not down.any():
            return np.zeros((0, 2))
        scale = (ground_z - self.center[2]) / world_rays[down, 2]
        return self.center[:2] + world_rays[down, :2] * scale[:, None]

    def project(self, grid):
        """Image coordinates and off-nadir measure of the coarse grid nodes this photo sees."""
        x, y, z = grid.nodes
        cam = np.stack([x, y, z], axis=-1).reshape(-1, 3) @ self.pose[:, :3].T + self.pose[:, 3]
        in_front = cam[:, 2] > 1e-3
        tangent = np.full(len(cam), np.inf)
        tangent[in_front] = np.linalg.norm(cam[in_front, :2] / cam[in_front, 2:3], axis=1)
        near_nadir = tangent < MAX_VIEW_TANGENT
        # Project every node in front, with rays clamped to a moderate angle: far outside the image the
        # coordinates only need to stay continuous (interpolation between nodes), not exact.
        rays = np.c_[cam[:, :2] / np.where(in_front, cam[:, 2], 1.0)[:, None], np.ones(len(cam))]
        rays[:, :2] *= np.minimum(1.0, 3.0 / np.maximum(np.linalg.norm(rays[:, :2], axis=1), 1e-9))[:, None]
        uv = self.camera.img_from_cam(rays) - 0.5  # COLMAP pixel centres are at +0.5
        uv[~in_front] = -1e4
        u, v = uv[:, 0].reshape(grid.shape), uv[:, 1].reshape(grid.shape)
        margin = COARSE_STEP * 2  # nodes a little outside the image still help interpolation near its edge
        seen = ((u > -margin) & (u < self.camera.width + margin) & (v > -margin)
                & (v < self.camera.height + margin) & near_nadir.reshape(grid.shape))
        if not seen.any():
            return
        rr, cc = np.nonzero(seen)
        r0, r1, c0, c1 = rr.min(), rr.max() + 1, cc.min(), cc.max() + 1
        self.window = (r0, r1, c0, c1)
        inside = (u >= 0) & (u <= self.camera.width - 1) & (v >= 0) & (v <= self.camera.height - 1)
        # How far off nadir each node is seen (tangent of the angle from the optical axis): the photo with
        # the lowest wins the cell. `score` is continuous past the image edge (for interpolation);
        # `score_inside` counts only nodes the photo really covers (for choosing).
        tangent = tangent.reshape(grid.shape)
        self.u = u[r0:r1, c0:c1].astype(np.float32)
        self.v = v[r0:r1, c0:c1].astype(np.float32)
        self.score = np.minimum(tangent, 1e3)[r0:r1, c0:c1].astype(np.float32)
        self.score_inside = np.where(inside & seen, tangent, np.inf)[r0:r1, c0:c1].astype(np.float32)

    def load(self, image_dir, reduce=1):
        """The photo as float32 RGB (optionally reduced by 2/4/8 with fast JPEG decoding)."""
        with Image.open(image_dir / self.name) as img:
            if reduce > 1:
                img.draft("RGB", (img.width // reduce, img.height // reduce))
            rgb = np.asarray(img.convert("RGB"))
        return rgb


class CoarseGrid:
    """The output grid's nodes every COARSE_STEP cells, with their ground elevation."""

    def __init__(self, west, north, resolution, rows, cols, elevation):
        self.west, self.north, self.resolution, self.rows, self.cols = west, north, resolution, rows, cols
        node_rows = np.arange(0, rows + COARSE_STEP, COARSE_STEP)
        node_cols = np.arange(0, cols + COARSE_STEP, COARSE_STEP)
        self.shape = (len(node_rows), len(node_cols))
        cc, rr = np.meshgrid(node_cols, node_rows)
        x = west + (cc + 0.5) * resolution  # cell centres
        y = north - (rr + 0.5) * resolution
        self.nodes = (x, y, elevation(x, y))

    def fine_coordinates(self, r0, r1, c0, c1):
        """Fractional coarse-grid coordinates of output cells rows r0:r1, cols c0:c1 (for cv2.remap)."""
        cols = (np.arange(c0, c1, dtype=np.float32) / COARSE_STEP)
        rows = (np.arange(r0, r1, dtype=np.float32) / COARSE_STEP)
        return np.broadcast_to(cols, (r1 - r0, c1 - c0)), np.broadcast_to(rows[:, None], (r1 - r0, c1 - c0))


def _ground_height(ws, views, xyz):
    """The height of the flat ground plane: the median of the points below the cameras.

    A plane at or above the cameras projects nothing (an empty orthophoto), so without points below them
    fall back on DJI's relative altitude, or on a typical flying height.
    """
    camera_z = float(np.median([v.center[2] for v in views]))
    below = xyz[xyz[:, 2] < camera_z - 1.0, 2] if len(xyz) else xyz
    if len(below) >= 10:
        return float(np.median(below))
    by_name = {i["name"]: i for i in read_json(ws.dataset_json)["images"]}
    relative = [by_name[v.name]["relative_alt"] for v in views if by_name.get(v.name, {}).get("relative_alt")]
    height = float(np.median(relative)) if relative and np.median(relative) > 1 else TYPICAL_FLYING_HEIGHT_M
    warn(STAGE, f"Few points below the cameras: projecting onto a plane {height:.0f} m below them")
    return camera_z - height


def _elevation_model(ws, options, ground_z):
    """A function (x, y) -> ground elevation: the smoothed surface model, or a plane for fast-orthophoto."""
    surface = None if options["fast-orthophoto"] else load_surface(ws)
    if surface is None:
        if not options["fast-orthophoto"]:
            warn(STAGE, "No surface model found (rerun from odm_dem to get one): projecting onto a plane")
        return lambda x, y: np.full(np.shape(x), ground_z)
    grid, west, north, resolution = surface
    missing = ~np.isfinite(grid)
    if missing.all():
        return lambda x, y: np.full(np.shape(x), ground_z)
    # Fill outside the points' hull with the nearest known elevation, then smooth: the mosaic wants a
    # continuous surface; its detail would only add jagged seams.
    nearest = ndimage.distance_transform_edt(missing, return_distances=False, return_indices=True)
    filled = ndimage.gaussian_filter(grid[tuple(nearest)], sigma=1.5)

    def elevation(x, y):
        """Bilinear sample of the filled surface, clamped at its border."""
        cols = (np.asarray(x) - west) / resolution - 0.5
        rows = (north - np.asarray(y)) / resolution - 0.5
        return ndimage.map_coordinates(filled, [rows, cols], order=1, mode="nearest")
    return elevation


def _resolution(views, ground_z, options):
    """The asked resolution, but not finer than the photos' ground sampling distance."""
    gsd = float(np.median([(v.center[2] - ground_z) / v.camera.mean_focal_length() for v in views]))
    asked = options["orthophoto-resolution"] / 100.0
    if gsd > asked:
        say(STAGE, f"The photos resolve {gsd * 100:.1f} cm per pixel: using that instead of {asked * 100:g} cm")
    return max(asked, round(gsd, 4))


def _extent(views, ground_z, resolution):
    """(west, north, cols, rows, resolution) of the union of the photos' ground footprints."""
    corners = np.concatenate([v.ground_footprint(ground_z) for v in views])
    if not len(corners):
        raise EngineError("No photo looks down at the ground; the orthophoto needs nadir photos.")
    west, south = np.floor(corners.min(axis=0))
    east, north = np.ceil(corners.max(axis=0))
    while (east - west) * (north - south) / resolution ** 2 > MAX_CELLS:
        resolution *= 1.5
    cols, rows = int(np.ceil((east - west) / resolution)), int(np.ceil((north - south) / resolution))
    return float(west), float(north), cols, rows, resolution


def exposure_gains(ws, views):
    """Per photo, the log gain its EXIF exposure suggests relative to the others (0 when unknown).

    Auto exposure brightens dark scenes: a photo exposed twice as long must be darkened to match its
    neighbours. JPEG values are about linear light to the power 1/2.2, hence the factor.
    """
    by_name = {i["name"]: i for i in read_json(ws.dataset_json)["images"]}
    exposure = {}
    for view in views:
        meta = by_name.get(view.name, {})
        if meta.get("exposure_time") and meta.get("f_number"):
            exposure[view.name] = meta["exposure_time"] * (meta.get("iso") or 100) / meta["f_number"] ** 2
    if len(exposure) < len(views):
        return np.zeros(len(views))
    log_exposure = np.log([exposure[v.name] for v in views])
    return -(log_exposure - np.median(log_exposure)) / 2.2


def _fit_gains(views, image_dir, grid, prior):
    """A gain per photo and channel so that overlapping photos agree on brightness (least squares in log).

    `prior`: log gains expected from the exposure settings. The overlaps only correct them: the sun's angle
    makes the front of each photo a little brighter than its back, a bias that chained from pair to pair
    would drift the gains along the flight.
    """
    samples = {}
    for view in views:
        if view.window is None:
            continue
        small = view.load(image_dir, reduce=8).astype(np.float32)
        small = cv2.blur(small, (5, 5))
        factor = small.shape[1] / view.camera.width
        colour = cv2.remap(small, (view.u + 0.5) * factor - 0.5, (view.v + 0.5) * factor - 0.5,
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        valid = np.isfinite(view.score_inside) & (colour.min(axis=2) > 8) & (colour.max(axis=2) < 250)
        samples[view.name] = (colour, valid)
    index = {v.name: k for k, v in enumerate(views)}
    rows, rhs, weights = [], [], []
    for a in views:
        for b in views:
            if index[a.name] >= index[b.name] or a.name not in samples or b.name not in samples:
                continue
            common = _overlap(a, b, grid)
            if common is None:
                continue
            (ca, va), (cb, vb) = samples[a.name], samples[b.name]
            sa, sb = common
            both = va[sa] & vb[sb]
            if both.sum() < 20:
                continue
            rows.append((index[a.name], index[b.name]))
            rhs.append(np.log(cb[sb][both].mean(axis=0)) - np.log(ca[sa][both].mean(axis=0)))
            weights.append(np.sqrt(both.sum()))
    for view, gain in zip(views, solve_gains(len(views), rows, rhs, weights, prior)):
        view.gain = gain


def solve_gains(count, pairs, ratios, weights, prior):
    """Gains (count x 3) from the log colour ratios of overlapping photos, pulled towards the prior log gains.

    `pairs`: (i, j) indexes of photos; `ratios`: log(mean colour of j / mean colour of i) per pair and channel;
    `weights`: how much each pair counts (the square root of its shared samples). Also used by mvs_texturing.
    """
    if not pairs:
        return [np.full(3, np.exp(p), np.float32) for p in prior]
    matrix = np.zeros((len(pairs) + count, count))
    for k, (i, j) in enumerate(pairs):
        matrix[k, i], matrix[k, j] = weights[k], -weights[k]
    prior_weight = GAIN_PRIOR_WEIGHT * np.mean(weights)
    matrix[len(pairs):] = np.eye(count) * prior_weight
    target = np.concatenate([np.array(ratios) * np.array(weights)[:, None],
                             np.repeat(np.asarray(prior)[:, None] * prior_weight, 3, axis=1)])
    log_gain = np.linalg.lstsq(matrix, target, rcond=None)[0]
    return [np.clip(np.exp(g), *GAIN_LIMITS).astype(np.float32) for g in log_gain]


def _overlap(a, b, grid):
    """Slices of a's and b's coarse windows over their common nodes, or None."""
    if a.window is None or b.window is None:
        return None
    r0, r1 = max(a.window[0], b.window[0]), min(a.window[1], b.window[1])
    c0, c1 = max(a.window[2], b.window[2]), min(a.window[3], b.window[3])
    if r0 >= r1 or c0 >= c1:
        return None
    sa = np.s_[r0 - a.window[0]:r1 - a.window[0], c0 - a.window[2]:c1 - a.window[2]]
    sb = np.s_[r0 - b.window[0]:r1 - b.window[0], c0 - b.window[2]:c1 - b.window[2]]
    return sa, sb


def _mosaic(views, image_dir, grid, output, report):
    """Write the RGBA mosaic into the open raster `output`, strip by strip; return the number of covered cells."""
    covered = 0
    strips = range(0, grid.rows, STRIP_ROWS)
    for k, r0 in enumerate(strips):
        r1 = min(grid.rows, r0 + STRIP_ROWS)
        strip_views = [(v, w) for v in views if (w := _fine_window(v, r0, r1, grid)) is not None]
        # First pass: the lowest off-nadir score among the photos that really cover each cell.
        lowest = np.full((r1 - r0, grid.cols), np.inf, np.float32)
        for view, window in strip_views:
            _, _, score, inside = _fine_projection(view, window, grid)
            target = lowest[window[0] - r0:window[1] - r0, window[2]:window[3]]
            np.minimum(target, np.where(inside, score, np.inf), out=target)
        # Second pass: blend the photos within FEATHER of the lowest score.
        colour = np.zeros((r1 - r0, grid.cols, 3), np.float32)
        weight = np.zeros((r1 - r0, grid.cols), np.float32)
        for view, window in strip_views:
            # One photo in memory at a time: a strip crosses every flight line, so keeping the photos a later
            # strip needs again would hold a band of the survey (hundreds of photos on a wide one). Decoding a
            # photo once per strip it falls in (one to three times) costs little next to the projection.
            cells = np.s_[window[0] - r0:window[1] - r0, window[2]:window[3]]
            _add_view(view, view.load(image_dir), window, grid, lowest[cells], colour[cells], weight[cells])
        colour /= np.maximum(weight, 1e-6)[..., None]
        strip = np.empty((4, r1 - r0, grid.cols), np.uint8)
        strip[:3] = np.clip(colour + 0.5, 0, 255).astype(np.uint8).transpose(2, 0, 1)
        strip[3] = np.where(weight > 0, 255, 0)
        output.write(strip, window=Window(0, r0, grid.cols, r1 - r0))
        covered += int((weight > 0).sum())
        report((k + 1) / len(strips))
    return covered


def _fine_window(view, r0, r1, grid):
    """The output cells (rows r0..r1, cols c0..c1) of this strip the view may cover, or None."""
    if view.window is None:
        return None
    wr0, wr1, wc0, wc1 = (i * COARSE_STEP for i in view.window)
    rows = (max(r0, wr0), min(r1, wr1 - COARSE_STEP + 1))
    cols = (wc0, min(grid.cols, wc1 - COARSE_STEP + 1))
    if rows[0] >= rows[1] or cols[0] >= cols[1]:
        return None
    return rows[0], rows[1], cols[0], cols[1]


def _fine_projection(view, window, grid):
    """Image coordinates u, v, off-nadir score and coverage mask of the cells of a window."""
    fr0, fr1, fc0, fc1 = window
    map_c, map_r = grid.fine_coordinates(fr0, fr1, fc0, fc1)
    local_c = (map_c - view.window[2]).astype(np.float32)
    local_r = (map_r - view.window[0]).astype(np.float32)
    u, v, score = (cv2.remap(field, local_c, local_r, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                   for field in (view.u, view.v, view.score))
    inside = ((u >= 0) & (u <= view.camera.width - 1) & (v >= 0) & (v <= view.camera.height - 1)
              & (score < MAX_VIEW_TANGENT))
    return u, v, score, inside


def _add_view(view, rgb, window, grid, lowest, colour, weight):
    """Add one photo's weighted colours to a window of the strip's accumulators."""
    u, v, score, inside = _fine_projection(view, window, grid)
    blend = np.clip(1.0 - (score - lowest) / FEATHER, 0.0, 1.0) * inside
    used = blend > 0
    if not used.any():
        return
    sampled = cv2.remap(rgb, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    colour += sampled.astype(np.float32) * (blend[..., None] * view.gain)
    weight += blend
