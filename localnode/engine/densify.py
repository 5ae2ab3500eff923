"""Dense point cloud by two-view stereo: OpenCV's semi-global matching on rectified pairs of neighbouring photos.

COLMAP's own multi-view stereo needs CUDA; on the CPU, StereoSGBM on pairs of photos rectified with the poses of
the SfM model gives about a point per working pixel. Each pair is rectified into a common frame whose x axis is
the baseline, its disparity is searched only over the depth range of the sparse points both photos see, and its
points are kept only where the matcher was unambiguous, where the left-right check agrees, and within a few
metres of the sparse points around them. Points of all pairs are then merged on a voxel grid, keeping only
voxels that several pairs agree on (a point matched wrongly in one pair is seldom matched the same way in
another): three where three pairs or more could see the place, two at the edges of the survey where only two
could.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from scipy.spatial import cKDTree

WORKING_SIZE = 1000        # long side in pixels of the photos matched (or smaller when the photos are)
MIN_BASE_RATIO = 0.08      # baseline over depth: below this, depth is too uncertain
MAX_BASE_RATIO = 0.8       # above it, the photos look too differently at relief
MIN_SHARED_POINTS = 30     # sparse points two photos must share to be paired
PAIRS_PER_IMAGE = 2        # each photo is matched with this many partners (pairs are counted once)
DISPARITY_MARGIN = 0.25    # widen the sparse points' disparity range by this share (and at least 8 px)
ENVELOPE_M = 3.0           # drop points further than this above or below the sparse points around them
ENVELOPE_NEIGHBOURS = 8    # sparse points that make that envelope
SUPPORT_PAIRS = 3          # pairs that must agree on a place for its points to be kept...
SUPPORT_CELL_VOXELS = 1    # ...where a place is a cube this many voxels wide (wider lets noise in the trees)...
MIN_SUPPORT_PAIRS = 2      # ...or as many as could see it, but never fewer than this
COVERAGE_CELL_M = 1.0      # ground cells in which the pairs that could see a place are counted
COVERAGE_STEP_PX = 4       # rectified pixels sampled to find where a pair could see
MAX_LEVELS = 256           # disparities searched at most (time and memory grow with them)
MAX_WINDOW_SHARE = 2.0     # a rectified image larger than this many photos is not matched
FOLD_VOXELS = 1_000_000    # pair voxels waiting to be merged (memory against time)
VOXEL_PIXELS = 2.0         # voxel side in working pixels (on the ground): with one pixel, 20 photos took 1.9 GB


class Pair:
    """Two registered photos and the rectified frame they share (x axis along their baseline)."""

    def __init__(self, left, right):
        self.left, self.right = left, right
        baseline = right.center - left.center
        self.baseline = float(np.linalg.norm(baseline))
        x = baseline / self.baseline
        z = left.rotation[2] + right.rotation[2]  # mean viewing direction, made square to the baseline
        z -= x * (z @ x)
        z /= np.linalg.norm(z)
        self.rect_from_world = np.stack([x, np.cross(z, x), z])


class Photo:
    """A registered photo: its centre, rotation (camera from world) and camera, with its shared points."""

    def __init__(self, image, point_ids):
        self.name = image.name
        pose = image.cam_from_world().matrix()
        self.rotation = pose[:, :3]
        self.center = image.projection_center()
        self.camera = image.camera
        self.point_ids = point_ids


def densify(rec, image_dir, sparse_xyz, threads=1, working_size=WORKING_SIZE, voxel=None, progress=None):
    """Dense (xyz float64 Nx3, rgb uint8 Nx3) in the model's frame; empty arrays when no pair qualifies."""
    started = time.monotonic()
    photos = [_photo(rec, i) for i in sorted(rec.reg_image_ids())]
    pairs = choose_pairs(photos, rec)
    if not pairs or len(sparse_xyz) < ENVELOPE_NEIGHBOURS:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8), {"pairs": 0, "seconds": 0.0}
    envelope = SparseEnvelope(sparse_xyz)
    camera = photos[0].camera
    scale = min(1.0, working_size / max(camera.width, camera.height))
    if voxel is None:
        voxel = VOXEL_PIXELS * _ground_sample(photos, sparse_xyz) / scale
    done = []

    def one(pair):
        """Match one pair and thin its points to voxels."""
        xyz, rgb, footprint = match_pair(pair, rec, image_dir, scale)
        keep = envelope.inside(xyz)
        voxels = PairVoxels.from_points(xyz[keep], rgb[keep], voxel)
        merger.add(voxels, np.unique(column_keys(footprint, COVERAGE_CELL_M)))
        done.append(len(voxels.keys))
        if progress:
            progress(len(done), len(pairs))  # pairs done, of how many

    merger = VoxelMerger()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(one, pairs))
    figures = {"pairs": len(pairs), "pair_voxels": int(sum(done)), "voxel_m": round(voxel, 4)}
    xyz, rgb = merger.points()
    figures["seconds"] = round(time.monotonic() - started, 2)
    return xyz, rgb, figures


def _photo(rec, image_id):
    """A Photo with the ids of the sparse points it sees."""
    image = rec.image(image_id)
    ids = {p.point3D_id for p in image.points2D if p.has_point3D()}
    return Photo(image, ids)


def _ground_sample(photos, sparse_xyz):
    """Median ground size of a full-size pixel, in metres (height over the sparse points over the focal)."""
    ground = float(np.median(sparse_xyz[:, 2]))
    heights = [abs(p.center[2] - ground) for p in photos]
    return float(np.median(heights)) / photos[0].camera.mean_focal_length()


def choose_pairs(photos, rec):
    """For each photo, the partners sharing most sparse points at a useful baseline; each pair once."""
    chosen = set()
    for i, a in enumerate(photos):
        candidates = []
        for j, b in enumerate(photos):
            if i == j:
                continue
            shared = len(a.point_ids & b.point_ids)
            if shared < MIN_SHARED_POINTS:
                continue
            depth = _median_depth(a, b, rec)
            ratio = np.linalg.norm(b.center - a.center) / depth
            if MIN_BASE_RATIO <= ratio <= MAX_BASE_RATIO:
                candidates.append((shared, j))
        for _, j in sorted(candidates, reverse=True)[:PAIRS_PER_IMAGE]:
            chosen.add((min(i, j), max(i, j)))
    return [Pair(photos[i], photos[j]) for i, j in sorted(chosen)]


def _median_depth(a, b, rec):
    """Median depth in photo a of the sparse points a and b share."""
    ids = list(a.point_ids & b.point_ids)
    xyz = np.array([rec.point3D(i).xyz for i in ids])
    return float(np.median((xyz - a.center) @ a.rotation[2]))


def match_pair(pair, rec, image_dir, scale):
    """Triangulated points (world frame) and colours of one pair, after the matcher's own checks, and the ground
    XY (at the sparse points' depth) of the places both photos show, where the pair could have found points."""
    shared = np.array([rec.point3D(i).xyz for i in pair.left.point_ids & pair.right.point_ids])
    rect = (shared - pair.left.center) @ pair.rect_from_world.T
    focal = pair.left.camera.mean_focal_length() * scale
    disparities = focal * pair.baseline / rect[:, 2]
    low, high = np.percentile(disparities, [1, 99])
    margin = max(8.0, DISPARITY_MARGIN * (high - low))
    low, high = max(1.0, low - margin), high + margin
    window = _rectified_window(pair, focal, low, high, working_pixels=(pair.left.camera.width * scale)
                              * (pair.left.camera.height * scale))
    if window is None:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros((0, 2))
    u0, v0, width, height = window
    offset = int(np.floor(low))  # the right image is shifted by the smallest disparity
    left, left_valid = _rectify(pair.left, pair, image_dir, scale, focal, u0, v0, width, height)
    right, right_valid = _rectify(pair.right, pair, image_dir, scale, focal, u0 - offset, v0, width, height)
    levels = min(MAX_LEVELS, int(np.ceil((high - offset) / 16.0)) * 16)
    disparity = _match(left, right, levels) + offset
    good = (disparity > offset + 0.5) & (disparity < offset + levels - 1) & left_valid
    rows, cols = np.nonzero(good)
    d = disparity[rows, cols]
    # The matched pixel of the right image must hold photo data too (not the black outside the photo).
    right_cols = np.clip(np.round(cols - (d - offset)).astype(int), 0, width - 1)
    seen = right_valid[rows, right_cols]
    rows, cols, d = rows[seen], cols[seen], d[seen]
    depth = focal * pair.baseline / d
    u, v = cols + u0, rows + v0
    rect_points = np.stack([u * depth / focal, v * depth / focal, depth], axis=1)
    world = rect_points @ pair.rect_from_world + pair.left.center
    footprint = _footprint(pair, left_valid, right_valid, focal, u0, v0, offset,
                           typical_disparity=float(np.median(disparities)))
    return world, left[rows, cols][:, ::-1].copy(), footprint  # colours: BGR to RGB


def _footprint(pair, left_valid, right_valid, focal, u0, v0, offset, typical_disparity):
    """Ground XY of the rectified pixels (a sample) that both photos show at the typical disparity."""
    rows, cols = np.nonzero(left_valid[::COVERAGE_STEP_PX, ::COVERAGE_STEP_PX])
    rows, cols = rows * COVERAGE_STEP_PX, cols * COVERAGE_STEP_PX
    right_cols = np.round(cols - (typical_disparity - offset)).astype(int)
    inside = (right_cols >= 0) & (right_cols < right_valid.shape[1])
    rows, cols = rows[inside], cols[inside]
    shown = right_valid[rows, right_cols[inside]]
    depth = focal * pair.baseline / typical_disparity
    rect_points = np.stack([(cols[shown] + u0) * depth / focal, (rows[shown] + v0) * depth / focal,
                            np.full(shown.sum(), depth)], axis=1)
    return (rect_points @ pair.rect_from_world + pair.left.center)[:, :2]


def _rectified_window(pair, focal, low, high, working_pixels):
    """(u0, v0, width, height) of the left rectified image: where both photos may see the same ground."""
    boxes = []
    for photo, shift in ((pair.left, 0.0), (pair.right, 0.0)):
        corners = _corner_rays(photo) @ (pair.rect_from_world @ photo.rotation.T).T
        if (corners[:, 2] <= 0).any():
            return None
        uv = corners[:, :2] / corners[:, 2:3] * focal
        boxes.append((uv.min(axis=0), uv.max(axis=0)))
    (l_min, l_max), (r_min, r_max) = boxes
    u0 = max(l_min[0], r_min[0] + low)   # a left pixel u is seen in the right image at u - disparity
    u1 = min(l_max[0], r_max[0] + high)
    v0, v1 = max(l_min[1], r_min[1]), min(l_max[1], r_max[1])
    if u1 - u0 < 32 or v1 - v0 < 32 or (u1 - u0) * (v1 - v0) > MAX_WINDOW_SHARE * working_pixels:
        return None  # no overlap, or a rectification so oblique it would blow up the images
    return int(np.floor(u0)), int(np.floor(v0)), int(np.ceil(u1 - u0)), int(np.ceil(v1 - v0))


def _corner_rays(photo):
    """Rays (camera frame) through points along the photo's border."""
    w, h = photo.camera.width, photo.camera.height
    t = np.linspace(0, 1, 5)
    border = np.concatenate([np.c_[t * w, 0 * t], np.c_[t * w, h + 0 * t], np.c_[0 * t, t * h],
                             np.c_[w + 0 * t, t * h]])
    rays = photo.camera.cam_from_img(border)
    return np.c_[rays, np.ones(len(rays))]


def _rectify(photo, pair, image_dir, scale, focal, u0, v0, width, height):
    """The photo resampled into the pair's rectified frame (window from u0, v0), and where it has data."""
    image = _load(image_dir / photo.name, scale)
    camera = photo.camera
    # OpenCV's pixel centres are at integers, COLMAP's at +0.5: hence the half-pixel shifts.
    k = np.array([[camera.focal_length_x * scale, 0, camera.principal_point_x * scale - 0.5],
                  [0, camera.focal_length_y * scale, camera.principal_point_y * scale - 0.5], [0, 0, 1]])
    new_k = np.array([[focal, 0, -u0], [0, focal, -v0], [0, 0, 1]], dtype=np.float64)
    distortion = np.array([_radial(camera), 0, 0, 0], dtype=np.float64)
    rotation = pair.rect_from_world @ photo.rotation.T  # camera frame to rectified frame
    map_x, map_y = cv2.initUndistortRectifyMap(k, distortion, rotation, new_k, (width, height), cv2.CV_32FC1)
    rectified = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    valid = ((map_x >= 0) & (map_x <= image.shape[1] - 1) & (map_y >= 0) & (map_y <= image.shape[0] - 1))
    return rectified, valid


def _radial(camera):
    """The first radial distortion coefficient (SIMPLE_RADIAL/RADIAL models; 0 for others)."""
    if camera.model.name in ("SIMPLE_RADIAL", "RADIAL"):
        return float(camera.params[3])
    return 0.0


def _load(path, scale):
    """A photo as BGR at `scale` of its size (fast JPEG decoding at a half, a quarter or an eighth)."""
    reduced = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
    factor = max((f for f in reduced if 1.0 / f >= scale - 1e-6), default=1)
    image = cv2.imread(str(path), reduced[factor]) if factor > 1 else cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read {path}")
    full = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    size = (round(full[0] * scale), round(full[1] * scale))
    if size != (image.shape[1], image.shape[0]):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _match(left, right, levels):
    """Disparity (float32 pixels) of the left image by semi-global block matching, with a left-right check."""
    block = 5
    matcher = cv2.StereoSGBM_create(minDisparity=0, numDisparities=levels, blockSize=block,
                                    P1=8 * 3 * block ** 2, P2=32 * 3 * block ** 2, disp12MaxDiff=1,
                                    uniquenessRatio=10, speckleWindowSize=100, speckleRange=2,
                                    mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY)
    return matcher.compute(left, right).astype(np.float32) / 16.0


class SparseEnvelope:
    """The height range of the sparse points near each place: dense points outside it are mismatches."""

    def __init__(self, sparse_xyz):
        self.xyz = sparse_xyz
        self.tree = cKDTree(sparse_xyz[:, :2])

    def inside(self, xyz):
        """True for points within ENVELOPE_M of the height range of their nearest sparse points."""
        if not len(xyz):
            return np.zeros(0, bool)
        _, nearest = self.tree.query(xyz[:, :2], k=ENVELOPE_NEIGHBOURS)
        heights = self.xyz[nearest, 2]
        return (xyz[:, 2] > heights.min(axis=1) - ENVELOPE_M) & (xyz[:, 2] < heights.max(axis=1) + ENVELOPE_M)


CELL_BITS = 21  # bits per axis in a voxel key: 2 million voxels a side (200 km at 10 cm)


def cell_keys(xyz, size):
    """One int64 key per point: the cube of side `size` holding it."""
    cells = np.floor(xyz / size).astype(np.int64) + (1 << (CELL_BITS - 1))
    return (cells[:, 0] << (2 * CELL_BITS)) | (cells[:, 1] << CELL_BITS) | cells[:, 2]


def column_keys(xy, size):
    """One int64 key per XY position: the ground cell of side `size` holding it."""
    return cell_keys(np.c_[xy, np.zeros(len(xy))], size)


def coarser_keys(keys, factor):
    """Keys of the cubes `factor` voxels a side that hold the voxels `keys` (cubes nest: no rounding)."""
    mask, half = (1 << CELL_BITS) - 1, 1 << (CELL_BITS - 1)
    axes = [((keys >> shift) & mask) - half for shift in (2 * CELL_BITS, CELL_BITS, 0)]
    i, j, k = ((a // factor) + half for a in axes)
    return (i << (2 * CELL_BITS)) | (j << CELL_BITS) | k


class PairVoxels:
    """Points averaged per voxel (float32: local coordinates are small), with their count as weight, and the
    support cells they touch with the number of pairs that saw each."""

    def __init__(self, keys, xyz, rgb, weight, support, support_pairs):
        self.keys, self.xyz, self.rgb, self.weight = keys, xyz, rgb, weight
        self.support, self.support_pairs = support, support_pairs

    @classmethod
    def from_points(cls, xyz, rgb, voxel):
        """One pair's points, averaged per voxel."""
        keys, inverse, counts = np.unique(cell_keys(xyz, voxel), return_inverse=True, return_counts=True)
        support = np.unique(coarser_keys(keys, SUPPORT_CELL_VOXELS))
        return cls(keys, _weighted_means(inverse, [xyz], counts), _weighted_means(inverse, [rgb], counts),
                   counts.astype(np.float32), support, np.ones(len(support), np.int32))

    @classmethod
    def merge(cls, parts):
        """Several sets of voxels as one: weighted means where they share a voxel, supports added up."""
        keys, inverse = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
        weights = np.concatenate([p.weight for p in parts])
        total = np.bincount(inverse, weights)
        xyz = _weighted_means(inverse, [p.xyz for p in parts], total, weights)
        rgb = _weighted_means(inverse, [p.rgb for p in parts], total, weights)
        del weights
        support, inverse = np.unique(np.concatenate([p.support for p in parts]), return_inverse=True)
        pairs = np.bincount(inverse, np.concatenate([p.support_pairs for p in parts])).astype(np.int32)
        return cls(keys, xyz, rgb, total.astype(np.float32), support, pairs)


def _weighted_means(inverse, blocks, total, weights=None):
    """Per group of `inverse`, the mean of rows of the stacked blocks (weighted), as float32 Nx3.

    Built one column at a time: the concatenated column is the memory peak, not the whole table.
    """
    means = np.empty((len(total), 3), np.float32)
    for k in range(3):
        column = np.concatenate([b[:, k] for b in blocks]).astype(np.float64)
        if weights is not None:
            column *= weights
        means[:, k] = np.bincount(inverse, column, minlength=len(total)) / total
    return means


class VoxelMerger:
    """The voxels of all pairs merged as they come, so that memory follows the area, not the number of pairs.

    Pairs wait in a buffer, folded into the merged voxels once it holds FOLD_VOXELS voxels.
    """

    def __init__(self):
        self.merged = None
        self.buffer = []
        self.coverage = []  # per pair, the ground cells it could see
        self.lock = threading.Lock()

    def add(self, part, coverage):
        """Take one pair's voxels and the ground cells it could see (from any thread)."""
        with self.lock:
            self.buffer.append(part)
            self.coverage.append(coverage)
            if sum(len(p.keys) for p in self.buffer) >= FOLD_VOXELS:
                self._fold()

    def _fold(self):
        """Merge the buffered pairs into the merged voxels."""
        parts = self.buffer + ([self.merged] if self.merged is not None else [])
        self.buffer = []
        if parts:
            self.merged = PairVoxels.merge(parts)

    def points(self):
        """(xyz, rgb uint8) of the voxels whose support cell enough pairs saw: SUPPORT_PAIRS, or as many as
        could see the place (never fewer than MIN_SUPPORT_PAIRS)."""
        with self.lock:
            self._fold()
        merged = self.merged
        if merged is None or not len(merged.keys):
            return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
        where = np.searchsorted(merged.support, coarser_keys(merged.keys, SUPPORT_CELL_VOXELS))
        cells, seen_by = np.unique(np.concatenate(self.coverage), return_counts=True)
        columns = column_keys(merged.xyz[:, :2], COVERAGE_CELL_M)
        place = np.clip(np.searchsorted(cells, columns), 0, len(cells) - 1)
        could_see = np.where(cells[place] == columns, seen_by[place], 0)
        keep = merged.support_pairs[where] >= np.clip(could_see, MIN_SUPPORT_PAIRS, SUPPORT_PAIRS)
        rgb = np.clip(merged.rgb[keep] + 0.5, 0, 255).astype(np.uint8)
        return merged.xyz[keep].astype(np.float64), rgb
