"""Texturing a mesh from the photos: a photo per face, patches of faces that share a photo, packed into atlases.

Each face takes the photo that sees it best: the most texture pixels per square metre (the cosine of the viewing
angle times the square of focal length over distance), among the photos whose line of sight to the face's centre
reaches it (a ray cast against the mesh with Embree, so a wall or a tree in between hides it). Faces sharing an
edge and a photo form a patch; each patch is cut from its photo (exposure levelled by a gain per photo) and
packed into texture pages by shelves, so the texture keeps the photos' own resolution and needs no resampling
through a parameterisation.
"""
import cv2
import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh
from PIL import Image
from scipy import sparse
from scipy.sparse.csgraph import connected_components

MIN_VIEW_COS = 0.15        # faces seen at a grazing angle (over ~80 degrees) take no texture from that photo
MAX_RAY_TANGENT = 3.0      # clamp for projecting points far outside the image (distortion models diverge there)
PAD = 2                    # pixels of the photo kept around each patch, so that filtering never reads a neighbour
PAGE = 4096                # texture page side: every WebGL device displays 4096 px textures
MAX_PAGE = 8192            # the single-material page may grow to this
MAX_TEXELS = 6e7           # beyond this many texture pixels, patches are scaled down (memory and file size)
GAIN_SAMPLES = 6000        # faces sampled to compare photos' exposure
OCCLUSION_SLACK = 0.02     # metres: a hit this close before the face still counts as reaching it


class Photo:
    """A registered photo: pose and camera, projection of world points to its pixels."""

    def __init__(self, image):
        self.name = image.name
        self.camera = image.camera
        pose = image.cam_from_world().matrix()
        self.rotation, self.translation = pose[:, :3], pose[:, 3]
        self.center = np.asarray(image.projection_center())
        self.focal = self.camera.mean_focal_length()
        self.size = (self.camera.width, self.camera.height)
        self.gain = np.ones(3, np.float32)

    def project(self, points):
        """(pixel coordinates Nx2, pixel centres at integers, depth N) of world points."""
        cam = points @ self.rotation.T + self.translation
        depth = cam[:, 2]
        rays = cam[:, :2] / np.where(depth > 1e-6, depth, 1.0)[:, None]
        rays *= np.minimum(1.0, MAX_RAY_TANGENT / np.maximum(np.linalg.norm(rays, axis=1), 1e-9))[:, None]
        uv = self.camera.img_from_cam(np.c_[rays, np.ones(len(rays))], check_cheirality=False) - 0.5
        return uv, depth

    def inside(self, uv, depth, margin):
        """Which projected points fall in the image, `margin` pixels from its border, in front of the camera."""
        w, h = self.size
        return ((depth > 1e-3) & (uv[:, 0] >= margin) & (uv[:, 0] <= w - 1 - margin)
                & (uv[:, 1] >= margin) & (uv[:, 1] <= h - 1 - margin))

    def load(self, image_dir, reduce=1):
        """The photo as uint8 RGB (optionally reduced by 2/4/8 with fast JPEG decoding)."""
        with Image.open(image_dir / self.name) as img:
            if reduce > 1:
                img.draft("RGB", (img.width // reduce, img.height // reduce))
            return np.asarray(img.convert("RGB"))


class RayCaster:
    """Embree ray casting against a mesh."""

    def __init__(self, vertices, faces):
        self.scene = rtcore_scene.EmbreeScene()
        TriangleMesh(self.scene, vertices.astype(np.float32), faces.astype(np.int32))

    def cast(self, origins, directions):
        """(face hit or -1, distance, barycentric u, v) of each ray (directions need not be unit)."""
        hits = self.scene.run(np.ascontiguousarray(origins, np.float32), np.ascontiguousarray(directions, np.float32),
                              output=1)
        return hits["primID"], hits["tfar"], hits["u"], hits["v"]

    def sees(self, center, targets, target_faces):
        """Whether the straight line from `center` reaches each target point (on its face) unobstructed."""
        directions = targets - center
        distance = np.linalg.norm(directions, axis=1)
        hit, tfar, _, _ = self.cast(np.broadcast_to(center, targets.shape), directions / distance[:, None])
        return (hit == target_faces) | (tfar >= distance - OCCLUSION_SLACK)


def face_geometry(vertices, faces):
    """Centres, unit normals and areas of the faces."""
    corners = vertices[faces]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(cross, axis=1)
    return corners.mean(axis=1), cross / np.maximum(length, 1e-12)[:, None], length / 2


def choose_photos(vertices, faces, photos, caster, progress=lambda f: None):
    """Per face, the index of the photo that sees it best (-1 when none does), and how many rays were cast."""
    centres, normals, _ = face_geometry(vertices, faces)
    best = np.full(len(faces), -1)
    best_score = np.zeros(len(faces))
    rays = 0
    for k, photo in enumerate(photos):
        uv, depth = photo.project(vertices)
        usable = photo.inside(uv, depth, PAD + 1)[faces].all(axis=1)
        to_camera = photo.center - centres
        distance = np.linalg.norm(to_camera, axis=1)
        cos = np.einsum("ij,ij->i", normals, to_camera) / np.maximum(distance, 1e-9)
        score = cos * (photo.focal / np.maximum(distance, 1e-9)) ** 2
        # Only faces this photo would improve need a visibility test: far fewer rays than faces x photos.
        candidates = np.nonzero(usable & (cos > MIN_VIEW_COS) & (score > best_score))[0]
        if len(candidates):
            visible = candidates[caster.sees(photo.center, centres[candidates], candidates)]
            best[visible], best_score[visible] = k, score[visible]
            rays += len(candidates)
        progress((k + 1) / len(photos))
    return best, rays


def level_exposure(vertices, faces, labels, photos, image_dir, caster, face_ids, prior, solve):
    """Set each photo's gain so that photos agree on the colour of the faces they both see.

    `face_ids`: the faces' numbers in the caster's mesh. `solve` is the orthophoto's least-squares solver (gains
    from pairwise log ratios, pulled to `prior`).
    """
    seen = np.nonzero(labels >= 0)[0]
    if len(seen) == 0:
        return
    rng = np.random.default_rng(0)
    sample = seen[rng.choice(len(seen), min(len(seen), GAIN_SAMPLES), replace=False)]
    centres, _, _ = face_geometry(vertices, faces[sample])
    colours = np.full((len(sample), len(photos), 3), np.nan, np.float32)
    for k, photo in enumerate(photos):
        uv, depth = photo.project(centres)
        inside = photo.inside(uv, depth, 8)
        inside[inside] = caster.sees(photo.center, centres[inside], face_ids[sample[inside]])
        if not inside.any():
            continue
        small = cv2.blur(photo.load(image_dir, reduce=8).astype(np.float32), (3, 3))
        factor = small.shape[1] / photo.size[0]
        xy = ((uv[inside] + 0.5) * factor - 0.5).astype(np.float32)
        colour = cv2.remap(small, xy[:, 0:1], xy[:, 1:2], cv2.INTER_LINEAR)[:, 0]
        ok = (colour.min(axis=1) > 8) & (colour.max(axis=1) < 250)  # clipped colours say nothing of exposure
        colours[np.nonzero(inside)[0][ok], k] = colour[ok]
    pairs, ratios, weights = [], [], []
    for i in range(len(photos)):
        for j in range(i + 1, len(photos)):
            both = np.isfinite(colours[:, i, 0]) & np.isfinite(colours[:, j, 0])
            if both.sum() >= 20:
                pairs.append((i, j))
                ratios.append(np.log(colours[both, j].mean(axis=0)) - np.log(colours[both, i].mean(axis=0)))
                weights.append(np.sqrt(both.sum()))
    for photo, gain in zip(photos, solve(len(photos), pairs, ratios, weights, prior)):
        photo.gain = gain


def patches(faces, labels):
    """Patch index per face: faces sharing an edge and a photo are in one patch."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1).astype(np.int64)
    key = edges[:, 0] * (int(faces.max()) + 1) + edges[:, 1]
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    a, b = order[:-1][same] // 3, order[1:][same] // 3
    joined = labels[a] == labels[b]
    graph = sparse.coo_matrix((np.ones(joined.sum()), (a[joined], b[joined])), shape=(len(faces), len(faces)))
    return connected_components(graph, directed=False)[1]


class Atlas:
    """Texture pages and where each patch goes in them."""

    def __init__(self, page_size):
        self.page_size = page_size
        self.pages = []            # uint8 HxWx3 arrays
        self.placements = {}       # patch -> (page, x, y, scale x, scale y, crop x0, crop y0)

    def pack(self, boxes, scale, single):
        """Place every patch's crop (x0, y0, x1, y1 in its photo's pixels, margin included) on shelves; False
        when it does not fit in one page and `single` asks for one."""
        sizes = {p: (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
                 for p, (x0, y0, x1, y1) in boxes.items()}
        order = sorted(sizes, key=lambda p: -sizes[p][1])
        page, x, y, shelf = 0, 0, 0, 0
        spots = {}
        for p in order:
            w, h = (min(v, self.page_size) for v in sizes[p])
            if x + w > self.page_size:
                x, y, shelf = 0, y + shelf, 0
            if y + h > self.page_size:
                if single:
                    return False
                page, x, y, shelf = page + 1, 0, 0, 0
            spots[p] = (page, x, y, w, h)
            x, shelf = x + w, max(shelf, h)
        self.spots, self.page_count = spots, page + 1
        # Pages are cut below their last shelf (a small model leaves most of a page empty).
        self.heights = np.zeros(self.page_count, int)
        for page, _, y, _, h in spots.values():
            self.heights[page] = max(self.heights[page], y + h)
        return True

    def fill(self, boxes, labels_of_patch, photos, image_dir):
        """Copy each patch's part of its photo (times the photo's gain) into the pages."""
        self.pages = [np.zeros((h, self.page_size, 3), np.uint8) for h in self.heights]
        by_photo = {}
        for p, label in labels_of_patch.items():
            by_photo.setdefault(label, []).append(p)
        for label, members in by_photo.items():
            photo = photos[label]
            rgb = photo.load(image_dir)
            for p in members:
                self._copy(p, boxes[p], rgb, photo.gain)

    def _copy(self, p, box, rgb, gain):
        """Cut one patch's crop from the photo, scale it to its spot (when it must) and paste it."""
        page, x, y, w, h = self.spots[p]
        cx0, cy0, cx1, cy1 = box
        crop = _crop(rgb, cx0, cy0, cx1, cy1)
        scaled = crop if crop.shape[1] == w and crop.shape[0] == h else cv2.resize(crop, (w, h),
                                                                                   interpolation=cv2.INTER_AREA)
        if np.any(gain != 1):
            scaled = np.clip(scaled.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
        self.pages[page][y:y + h, x:x + w] = scaled
        self.placements[p] = (page, x, y, w / crop.shape[1], h / crop.shape[0], cx0, cy0)

    def uv(self, patch_of_corner, image_uv):
        """(page, texture coordinates with v upwards as OBJ wants) of face corners given in photo pixels."""
        table = np.array([self.placements[p] for p in range(len(self.placements))])
        page, x, y, sx, sy, cx0, cy0 = (table[patch_of_corner, i] for i in range(7))
        tx = x + (image_uv[:, 0] - cx0 + 0.5) * sx
        ty = y + (image_uv[:, 1] - cy0 + 0.5) * sy
        page = page.astype(int)
        return page, np.c_[tx / self.page_size, 1.0 - ty / self.heights[page]]


def _crop(rgb, x0, y0, x1, y1):
    """rgb[y0:y1, x0:x1] with the border replicated where the window leaves the image."""
    h, w = rgb.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return rgb[y0:y1, x0:x1]
    return cv2.copyMakeBorder(rgb[max(0, y0):min(h, y1), max(0, x0):min(w, x1)], max(0, -y0), max(0, y1 - h),
                              max(0, -x0), max(0, x1 - w), cv2.BORDER_REPLICATE)


def build_atlas(vertices, faces, labels, photos, image_dir, single):
    """(atlas, patch per face, texture page per face, texture coordinates per face corner (F x 3 x 2))."""
    patch = patches(faces, labels)
    count = int(patch.max()) + 1
    corner_uv = np.zeros((len(faces), 3, 2))
    for k, photo in enumerate(photos):
        mine = labels == k
        if mine.any():
            uv, _ = photo.project(vertices[faces[mine].ravel()])
            corner_uv[mine] = uv.reshape(-1, 3, 2)
    lo = np.full((count, 2), np.inf)
    hi = np.full((count, 2), -np.inf)
    np.minimum.at(lo, patch, corner_uv.min(axis=1))
    np.maximum.at(hi, patch, corner_uv.max(axis=1))
    # Whole-pixel crops with PAD pixels of the photo around the patch, so that filtering never reads a neighbour.
    lo = np.floor(lo).astype(int) - PAD
    hi = np.ceil(hi).astype(int) + PAD + 1
    boxes = {p: (lo[p, 0], lo[p, 1], hi[p, 0], hi[p, 1]) for p in range(count)}
    label_of_patch = np.zeros(count, int)
    label_of_patch[patch] = labels
    texels = float(np.sum((hi - lo).prod(axis=1)))
    scale = min(1.0, np.sqrt(MAX_TEXELS / texels))
    if single:
        page_size = int(min(MAX_PAGE, 2 ** np.ceil(np.log2(np.sqrt(texels * scale ** 2 * 1.2)))))
    else:
        page_size = PAGE
    atlas = Atlas(max(256, page_size))
    while not atlas.pack(boxes, scale, single):
        scale *= 0.9  # one page asked and the patches do not fit: smaller texels
    atlas.fill(boxes, dict(enumerate(label_of_patch)), photos, image_dir)
    page, uv = atlas.uv(np.repeat(patch, 3), corner_uv.reshape(-1, 2))
    return atlas, patch, page.reshape(-1, 3)[:, 0], uv.reshape(-1, 3, 2), scale
