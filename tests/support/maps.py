"""Small georeferenced rasters for map tests, and completed tasks whose assets folder holds them."""
import json

import morecantile
import numpy
import rasterio
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin
from rasterio.warp import transform as transform_points

from tests.support.factories import add_task
from webapp import storage
from webapp.extensions import db
from webapp.models import TaskStatus
from webapp.services import assets

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
UTM = "EPSG:32633"
ORIGIN = (500000.0, 5000000.0)  # upper-left corner in UTM 33N, near 45°N 15°E
PIXEL = 0.25  # metres
SIZE = 512  # pixels each way
GREY = (90, 90, 90)
RED = (230, 20, 20)
BLUE = (20, 40, 220)
PATCH = slice(300, 400)  # rows and columns of the coloured square (south-east of the centre)
DSM_SIZE = 256
DSM_PIXEL = 0.5
DSM_LOW = 100.0
DSM_STEP = 0.1  # metres of height per pixel eastwards


def write_orthophoto(path, colour=RED):
    """An RGBA orthophoto: grey with a coloured square patch, opaque everywhere."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = numpy.empty((4, SIZE, SIZE), dtype=numpy.uint8)
    pixels[:3] = numpy.array(GREY, dtype=numpy.uint8)[:, None, None]
    pixels[:3, PATCH, PATCH] = numpy.array(colour, dtype=numpy.uint8)[:, None, None]
    pixels[3] = 255
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=4, dtype="uint8", crs=UTM,
                   transform=from_origin(*ORIGIN, PIXEL, PIXEL), tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        dst.write(pixels)


def write_dsm(path):
    """A float32 DSM over the same ground, rising DSM_STEP m per pixel eastwards from DSM_LOW m."""
    path.parent.mkdir(parents=True, exist_ok=True)
    elevation = numpy.tile(DSM_LOW + DSM_STEP * numpy.arange(DSM_SIZE, dtype=numpy.float32), (DSM_SIZE, 1))
    profile = dict(driver="GTiff", width=DSM_SIZE, height=DSM_SIZE, count=1, dtype="float32", crs=UTM,
                   nodata=-9999, transform=from_origin(*ORIGIN, DSM_PIXEL, DSM_PIXEL))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(elevation, 1)


def lonlat_of_pixel(column, row, pixel=PIXEL):
    """WGS84 longitude, latitude of the centre of an orthophoto pixel."""
    lons, lats = transform_points(UTM, "EPSG:4326", [ORIGIN[0] + (column + 0.5) * pixel],
                                  [ORIGIN[1] - (row + 0.5) * pixel])
    return lons[0], lats[0]


def tile_and_pixel(lon, lat, z, size=256):
    """The XYZ tile holding a point at zoom z, and the point's (column, row) in that tile's image."""
    tile = WEB_MERCATOR.tile(lon, lat, z)
    bounds = WEB_MERCATOR.xy_bounds(tile)
    x, y = WEB_MERCATOR.xy(lon, lat)
    column = int((x - bounds.left) / (bounds.right - bounds.left) * size)
    row = int((bounds.top - y) / (bounds.top - bounds.bottom) * size)
    return tile, (column, row)


def shots_geojson(count=3):
    """A shots.geojson as ODM writes it: one point per camera, with the photo's file name."""
    features = []
    for number in range(count):
        lon, lat = lonlat_of_pixel(100 + number * 150, 200)
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat, 120.0]},
                         "properties": {"filename": f"DJI_{number:04d}.JPG"}})
    return json.dumps({"type": "FeatureCollection", "features": features})


def write_photos(folder, count=3):
    """JPEG photos named as shots_geojson names them, 400 x 300 px, with EXIF orientation 6 (turned on their side)."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        image = Image.new("RGB", (400, 300), (40 * number, 120, 200))
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: the camera was held on its side; viewers turn it upright
        image.save(folder / f"DJI_{number:04d}.JPG", "JPEG", exif=exif)


def completed_task(project, name="mapped", public=False, dsm=True, dtm=False, shots=True, colour=RED):
    """A completed task of project whose assets folder holds an orthophoto (and a DSM, DTM, shots if asked)."""
    task = add_task(project, name=name, status=TaskStatus.COMPLETED, public=public)
    folder = storage.assets_dir(project.id, task.id)
    write_orthophoto(folder / "odm_orthophoto" / "odm_orthophoto.tif", colour)
    if dsm:
        write_dsm(folder / "odm_dem" / "dsm.tif")
    if dtm:
        write_dsm(folder / "odm_dem" / "dtm.tif")
    if shots:
        (folder / "odm_report").mkdir(parents=True, exist_ok=True)
        (folder / "odm_report" / "shots.geojson").write_text(shots_geojson())
        write_photos(storage.images_dir(project.id, task.id))
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


# A surface with two piles of known volume on a sloping ground, for volume measurements.
PILE_PIXEL = 0.1  # metres
PILE_SIZE = 400  # pixels each way: 40 m
GROUND = (100.0, 0.05, 0.02)  # height at ORIGIN, rise per metre eastwards, rise per metre northwards
CONE = {"centre": (12.0, 14.0), "radius": 8.0, "height": 4.0}  # metres east and south of ORIGIN
BOX = {"west": 29.0, "north": 27.0, "width": 4.0, "depth": 6.0, "height": 2.0}  # metres east and south of ORIGIN


def ground_height(east, south):
    """The sloping ground's height at a point given in metres east and south of ORIGIN."""
    base, east_slope, north_slope = GROUND
    return base + east_slope * east - north_slope * south


def write_pile_dsm(path, with_piles=True, pixel=PILE_PIXEL):
    """A float32 DSM (or, without piles, its DTM): the sloping ground with a cone and a box on it, 40 m a side in
    pixels of `pixel` metres."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = round(PILE_SIZE * PILE_PIXEL / pixel)
    centres = (numpy.arange(size) + 0.5) * pixel
    east, south = numpy.meshgrid(centres, centres)
    height = ground_height(east, south)
    if with_piles:
        cx, cy = CONE["centre"]
        height += numpy.clip(CONE["height"] * (1 - numpy.hypot(east - cx, south - cy) / CONE["radius"]), 0, None)
        in_box = (east > BOX["west"]) & (east < BOX["west"] + BOX["width"]) & \
                 (south > BOX["north"]) & (south < BOX["north"] + BOX["depth"])
        height += numpy.where(in_box, BOX["height"], 0.0)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs=UTM,
                   nodata=-9999, transform=from_origin(*ORIGIN, pixel, pixel))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(height.astype(numpy.float32), 1)


def lonlat_ring(corners):
    """A GeoJSON Polygon in WGS84 of corners given in metres east and south of ORIGIN."""
    xs = [ORIGIN[0] + east for east, _ in corners]
    ys = [ORIGIN[1] - south for _, south in corners]
    lons, lats = transform_points(UTM, "EPSG:4326", xs, ys)
    ring = [[lon, lat] for lon, lat in zip(lons, lats)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def square(centre, side):
    """The corners of a square around a point (metres east and south of ORIGIN)."""
    (east, south), half = centre, side / 2
    return [(east - half, south - half), (east + half, south - half), (east + half, south + half),
            (east - half, south + half)]


def pile_task(project, name="stockpiles", dtm=True):
    """A completed task whose DSM holds the piles (and whose DTM, if asked, is the bare ground)."""
    task = add_task(project, name=name, status=TaskStatus.COMPLETED)
    folder = storage.assets_dir(project.id, task.id)
    write_pile_dsm(folder / "odm_dem" / "dsm.tif")
    if dtm:
        write_pile_dsm(folder / "odm_dem" / "dtm.tif", with_piles=False)
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


def survey_task(project, name, with_piles, pixel=PILE_PIXEL):
    """A completed task whose DSM is the sloping ground, with the piles or without them (a flight before they were
    dumped, or after they were taken away), in pixels of `pixel` metres."""
    task = add_task(project, name=name, status=TaskStatus.COMPLETED)
    folder = storage.assets_dir(project.id, task.id)
    write_pile_dsm(folder / "odm_dem" / "dsm.tif", with_piles=with_piles, pixel=pixel)
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


CLOUD_POINTS = 1000


def write_point_cloud(path):
    """A LAZ of CLOUD_POINTS coloured points over the orthophoto's ground, with its CRS in the header."""
    import laspy
    from pyproj import CRS
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(3)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = [ORIGIN[0], ORIGIN[1] - SIZE * PIXEL, 0.0]
    header.scales = [0.001, 0.001, 0.001]
    header.add_crs(CRS.from_user_input(UTM))
    cloud = laspy.LasData(header)
    cloud.x = ORIGIN[0] + rng.uniform(0, SIZE * PIXEL, CLOUD_POINTS)
    cloud.y = ORIGIN[1] - rng.uniform(0, SIZE * PIXEL, CLOUD_POINTS)
    cloud.z = rng.uniform(100, 110, CLOUD_POINTS)
    cloud.red, cloud.green, cloud.blue = (numpy.full(CLOUD_POINTS, value * 256, dtype=numpy.uint16)
                                          for value in RED)
    cloud.write(path)
