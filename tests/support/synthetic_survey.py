"""A drone survey rendered from a known world, for checking the engine against the truth.

The world: a textured ground with a hill and a round flat-roofed building, in a UTM zone of the southern hemisphere. The flight: a lawn-mower
grid of nadir photos from a camera the engine's sensor table does not know (its focal length comes from
FocalPlaneXResolution), the heading reversed on every other strip as drones fly, and GPS with a little noise.
Optionally the whole ground slopes (a hillside, flown level or following the terrain) and the GPS altitude
drifts, as consumer GPS does.
Each photo is rendered by casting its pixels' rays onto the surface, so the geometry is exact.

`grid_survey(photos)` makes the same kind of flight as large as asked (hundreds of photos over a wider world),
and `write_photos(..., processes=N)` renders it on several processors, for the benchmarks at survey scale.
"""
import math
import os
from concurrent.futures import ProcessPoolExecutor

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from PIL import Image
from pyproj import Transformer

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


@dataclass
class Survey:
    """The world and the flight; distances in metres, local coordinates east/north/up from `origin_utm`."""

    epsg: int = 32734                      # UTM 34S (Cape Town)
    origin_utm: tuple = (261000.0, 6243000.0)
    base_altitude: float = 100.0           # ground level away from the hill, metres above sea level
    ground_size: tuple = (110.0, 100.0)    # textured area, east x north, centred on the local origin
    texture_resolution: float = 0.05       # metres per texture pixel
    hill_center: tuple = (5.0, -5.0)
    hill_height: float = 6.0
    hill_sigma: float = 14.0
    building_center: tuple = (25.0, 20.0)  # flat roof, steep walls: what a terrain model should remove
    building_height: float = 4.0
    building_radius: float = 8.0
    flying_height: float = 45.0            # above the base altitude
    image_size: tuple = (800, 600)         # width, height
    focal_px: float = 700.0
    sensor_width_mm: float = 6.4
    strips: tuple = (-16.0, 0.0, 16.0)     # east positions of the strips
    along: tuple = (-24.0, -12.0, 0.0, 12.0, 24.0)  # north positions of the photos in a strip
    gps_noise: tuple = (0.03, 0.05)        # standard deviation, horizontal and vertical (RTK-like)
    altitude_drift: float = 0.0            # metres the GPS altitude climbs, evenly, from first photo to last
    ground_slope: tuple = (0.0, 0.0)       # rise per metre east and north of the whole ground (a hillside)
    terrain_following: bool = False        # the flight climbs with the slope (it keeps its height above it)
    photos: int = 0                        # fly only this many photos of the grid (0: all of them)
    seed: int = 7
    markers: list = field(default_factory=lambda: [((-20.0, 15.0), (255, 0, 0)), ((22.0, -18.0), (0, 0, 255))])
    marker_radius: float = 1.0

    def terrain_height(self, x, y):
        """Bare ground height above the base altitude at local (x, y): the hill (on the slope, if any)."""
        return (_bump(x, y, self.hill_center, self.hill_height, self.hill_sigma)
                + self.ground_slope[0] * x + self.ground_slope[1] * y)

    def ground_height(self, x, y):
        """Surface height above the base altitude at local (x, y): the hill and the building on it."""
        return self.terrain_height(x, y) + self.building_height * _flat_top(x, y, self.building_center,
                                                                           self.building_radius)

    def surface_distance(self, x, y, z):
        """Distance of local points (z above the base altitude) from the surface, to first order: the height
        difference divided by the slope's secant, so that points on the steep walls are measured across them."""
        step = 0.01
        dx = (self.ground_height(x + step, y) - self.ground_height(x - step, y)) / (2 * step)
        dy = (self.ground_height(x, y + step) - self.ground_height(x, y - step)) / (2 * step)
        return np.abs(z - self.ground_height(x, y)) / np.sqrt(1 + dx ** 2 + dy ** 2)

    def highest(self):
        """An upper bound of the surface height above the base altitude."""
        return self.hill_height + self.building_height + self._slope_reach()

    def lowest(self):
        """A lower bound of the surface height above the base altitude."""
        return -self._slope_reach()

    def _slope_reach(self):
        """The most the slope raises or lowers the ground inside the textured area."""
        return (abs(self.ground_slope[0]) * self.ground_size[0] + abs(self.ground_slope[1]) * self.ground_size[1]) / 2

    def cameras(self):
        """[(name, centre xyz, heading in degrees)] of the flight."""
        shots = []
        for strip, east in enumerate(self.strips):
            norths = self.along if strip % 2 == 0 else self.along[::-1]
            heading = 0.0 if strip % 2 == 0 else 180.0
            for north in norths:
                height = self.flying_height + (self.ground_slope[0] * east + self.ground_slope[1] * north
                                               if self.terrain_following else 0.0)
                shots.append((f"SYN_{len(shots) + 1:04d}.JPG", np.array([east, north, height]), heading))
        return shots[:self.photos] if self.photos else shots

    def utm(self, x, y):
        """UTM easting and northing of local (x, y)."""
        return self.origin_utm[0] + x, self.origin_utm[1] + y


STRIP_SPACING_M, PHOTO_SPACING_M = 16.0, 12.0  # the default flight's: about 70 % overlap both ways


def grid_survey(photos, **changes):
    """A Survey flown as a grid of about square extent with exactly `photos` photos (the last strip maybe short),
    the world grown to hold it with the same margins as the default one; other fields as `changes` say."""
    strips = max(1, round(math.sqrt(photos * PHOTO_SPACING_M / STRIP_SPACING_M)))
    along = math.ceil(photos / strips)
    east = STRIP_SPACING_M * (np.arange(strips) - (strips - 1) / 2)
    north = PHOTO_SPACING_M * (np.arange(along) - (along - 1) / 2)
    default = Survey()
    # The default world reaches 39 m east and 26 m north beyond its outermost photos: the footprint and a margin.
    margin = (default.ground_size[0] / 2 - max(default.strips), default.ground_size[1] / 2 - max(default.along))
    size = (float(2 * (east.max() + margin[0])), float(2 * (north.max() + margin[1])))
    return replace(default, strips=tuple(east.tolist()), along=tuple(north.tolist()), ground_size=size,
                   photos=photos, **changes)


def _bump(x, y, center, height, sigma):
    """A round Gaussian bump."""
    return height * np.exp(-((x - center[0]) ** 2 + (y - center[1]) ** 2) / (2 * sigma ** 2))


def _flat_top(x, y, center, radius):
    """1 on a round flat top, falling to 0 within about a metre of its edge (a super-Gaussian)."""
    return np.exp(-(((x - center[0]) ** 2 + (y - center[1]) ** 2) / radius ** 2) ** 8)


def texture(survey):
    """The ground's colours (rows from north to south), multi-scale noise with round coloured markers."""
    cols = int(survey.ground_size[0] / survey.texture_resolution)
    rows = int(survey.ground_size[1] / survey.texture_resolution)
    rng = np.random.default_rng(survey.seed)
    image = np.zeros((rows, cols, 3), np.uint8)
    channels = [np.zeros((rows, cols), np.float32) for _ in range(3)]
    for sigma, weight in ((1.5, 0.35), (6.0, 0.35), (24.0, 0.3)):
        for channel in range(3):
            # OpenCV's blur has the same kernel as ndimage.gaussian_filter's (4 sigma each side, reflected
            # border) and is many times faster on the large worlds of grid_survey.
            noise = cv2.GaussianBlur(rng.standard_normal((rows, cols)).astype(np.float32), (0, 0), sigma,
                                     borderType=cv2.BORDER_REFLECT)
            channels[channel] += weight * noise / noise.std()
    for channel in range(3):
        image[:, :, channel] = np.clip(128 + 40 * channels[channel], 0, 255)
    del channels
    for (x, y), colour in survey.markers:
        col, row = _texture_pixel(survey, x, y)
        cv2.circle(image, (int(col), int(row)), int(survey.marker_radius / survey.texture_resolution), colour, -1)
    return image


def _texture_pixel(survey, x, y):
    """Texture column and row of local (x, y)."""
    return ((x + survey.ground_size[0] / 2) / survey.texture_resolution,
            (survey.ground_size[1] / 2 - y) / survey.texture_resolution)


def rotation(heading_deg):
    """World-to-camera rotation of a nadir camera whose image top points to `heading` (degrees from north)."""
    h = np.radians(heading_deg)
    right = [np.cos(h), -np.sin(h), 0.0]
    down = [-np.sin(h), -np.cos(h), 0.0]
    return np.array([right, down, [0.0, 0.0, -1.0]])


def render(survey, ground, center, heading):
    """The photo seen from `center` with the given heading: each pixel's ray cast onto the ground."""
    width, height = survey.image_size
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([(u - width / 2) / survey.focal_px, (v - height / 2) / survey.focal_px, np.ones_like(u)], -1)
    world = rays @ rotation(heading)  # R^T applied to each ray
    x, y = _first_hit(survey, center, world)
    col, row = _texture_pixel(survey, x, y)
    return cv2.remap(ground, col.astype(np.float32) - 0.5, row.astype(np.float32) - 0.5, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def _first_hit(survey, center, rays, steps=16, refinements=8):
    """Where each ray first meets the surface: marched down in height steps, then bisected (walls included)."""
    rays = rays.reshape(-1, 3)

    def point_at(z, which=slice(None)):
        t = (center[2] - z) / -rays[which, 2]
        return center[0] + t * rays[which, 0], center[1] + t * rays[which, 1]

    above = np.full(len(rays), survey.highest() + 0.1)  # a height where the ray is still above the surface
    below = np.full(len(rays), survey.lowest() - 0.1)   # one where it is under it
    searching = np.arange(len(rays))
    for z in np.linspace(survey.highest() + 0.1, survey.lowest() - 0.1, steps)[1:]:
        under = survey.ground_height(*point_at(z, searching)) >= z
        below[searching[under]] = z
        searching = searching[~under]
        above[searching] = z
    for _ in range(refinements):
        middle = (above + below) / 2
        under = survey.ground_height(*point_at(middle)) >= middle
        below, above = np.where(under, middle, below), np.where(under, above, middle)
    x, y = point_at(below)
    return x.reshape(survey.image_size[::-1]), y.reshape(survey.image_size[::-1])


def write_photos(survey, folder, processes=1):
    """Render and save the flight's photos with EXIF (camera, focal, GPS); [(path, true centre, heading)].

    With processes > 1 the photos are rendered in that many forked processes (the texture is shared, not copied).
    """
    folder.mkdir(parents=True, exist_ok=True)
    _WORLD["survey"], _WORLD["ground"] = survey, texture(survey)
    to_wgs84 = Transformer.from_crs(survey.epsg, 4326, always_xy=True)
    rng = np.random.default_rng(survey.seed + 1)
    jobs, shots = [], []
    cameras = survey.cameras()
    for index, (name, center, heading) in enumerate(cameras):
        noise = rng.normal(0, [survey.gps_noise[0]] * 2 + [survey.gps_noise[1]])
        lon, lat = to_wgs84.transform(*survey.utm(center[0] + noise[0], center[1] + noise[1]))
        drift = survey.altitude_drift * index / max(1, len(cameras) - 1)
        altitude = survey.base_altitude + center[2] + noise[2] + drift
        jobs.append((folder / name, center, heading, lat, lon, altitude))
        shots.append((folder / name, center, heading))
    try:
        if processes > 1 and os.name == "posix":
            with ProcessPoolExecutor(processes, mp_context=_fork_context()) as pool:
                list(pool.map(_write_photo, jobs, chunksize=4))
        else:
            for job in jobs:
                _write_photo(job)
    finally:
        _WORLD.clear()
    return shots


_WORLD = {}  # the survey and its texture while write_photos runs (inherited by forked renderers)


def _fork_context():
    """The fork start method: the renderers inherit the texture instead of receiving a copy."""
    import multiprocessing
    return multiprocessing.get_context("fork")


def _write_photo(job):
    """Render and save one photo (in write_photos' process or a forked one)."""
    path, center, heading, lat, lon, altitude = job
    survey = _WORLD["survey"]
    Image.fromarray(render(survey, _WORLD["ground"], center, heading)).save(
        path, "JPEG", quality=92, exif=_exif(survey, lat, lon, altitude))


def _exif(survey, lat, lon, altitude):
    """EXIF of a camera the engine has no table entry for: its focal comes from FocalPlaneXResolution."""
    width = survey.image_size[0]
    pixels_per_cm = width / (survey.sensor_width_mm / 10)
    exif = Image.Exif()
    exif[0x010F] = "Aerie"        # Make
    exif[0x0110] = "SynthCam 1"   # Model
    exif.get_ifd(EXIF_IFD).update({
        0x920A: survey.focal_px / width * survey.sensor_width_mm,  # FocalLength (mm)
        0xA20E: pixels_per_cm, 0xA20F: pixels_per_cm,             # FocalPlaneX/YResolution
        0xA210: 3,                                                 # FocalPlaneResolutionUnit: cm
        0xA002: width, 0xA003: survey.image_size[1],               # PixelX/YDimension
    })
    exif.get_ifd(GPS_IFD).update({1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)), 3: "E" if lon >= 0 else "W",
                                  4: _dms(abs(lon)), 5: 0, 6: round(altitude, 2)})
    return exif


def _dms(value):
    """Degrees as EXIF (degrees, minutes, seconds)."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 5)


def area_share_near_surface(survey, corners, tolerance, bias=0.0):
    """Share of the area of triangles (corners Fx3x3, survey-local) within `tolerance` of the surface raised
    by `bias` metres (a negative bias: a model that lies that much low as a whole)."""
    centres = corners.mean(axis=1)
    area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1) / 2
    distance = survey.surface_distance(centres[:, 0], centres[:, 1], centres[:, 2] - bias)
    return float(area[distance <= tolerance].sum() / area.sum())


def vertical_bias(survey, points):
    """Median height of points (survey-local) above the surface: how low or high a point cloud lies as a whole."""
    return float(np.median(points[:, 2] - survey.ground_height(points[:, 0], points[:, 1])))


def dsm_tilt(survey, dsm_path):
    """How much a DSM (in the survey's UTM zone) is tilted against the true surface: the slope east and north,
    in per cent, of a plane fitted to its difference from the truth, away from the building's walls."""
    import rasterio  # only the checks of results need it
    with rasterio.open(dsm_path) as dsm:
        heights = dsm.read(1, masked=True)
        transform = dsm.transform
    rows, cols = np.nonzero(~np.ma.getmaskarray(heights))
    east, north = transform * (cols + 0.5, rows + 0.5)
    x, y = east - survey.origin_utm[0], north - survey.origin_utm[1]
    away = np.hypot(x - survey.building_center[0], y - survey.building_center[1]) > survey.building_radius + 3
    x, y = x[away], y[away]
    error = heights.data[rows, cols][away] - survey.base_altitude - survey.ground_height(x, y)
    design = np.c_[x - x.mean(), y - y.mean(), np.ones_like(x)]
    keep = np.ones(len(x), bool)
    for _ in range(3):  # leave out the stray cells (a mismatch, an edge) that would lean the plane
        coef, *_ = np.linalg.lstsq(design[keep], error[keep], rcond=None)
        residual = np.abs(design @ coef - error)
        keep = residual <= max(0.2, 3 * float(np.median(residual)))
    return 100 * float(coef[0]), 100 * float(coef[1])
