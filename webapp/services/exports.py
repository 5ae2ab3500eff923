"""Exports of a task's rasters and point cloud, as WebODM's `POST .../{asset}/export` makes them.

Rasters (orthophoto, dsm, dtm): `gtiff` (the values, or an index's values, optionally reprojected to an EPSG),
`gtiff-rgb`, `png` and `jpg` (rendered colours, PNG and JPEG with a world file, zipped with it), `kmz` (the
orthophoto as a KML super-overlay). The point cloud (georeferenced_model): `laz`, `las`, `ply`, `csv`, reprojected
when an EPSG is given. An export that needs no work answers the download URL at once; the others run as jobs.
"""
import shutil
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

import laspy
import numexpr
import numpy
import rasterio
import rasterio.shutil
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.enums import ColorInterp, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform
from rio_tiler.colormap import cmap as COLOR_MAPS

from webapp import storage
from webapp.services import plant_health, tiles, workers
from webapp.services.errors import ServiceError, ValidationError

RASTER_FORMATS = ("gtiff", "gtiff-rgb", "jpg", "png", "kmz")
POINT_CLOUD_FORMATS = ("laz", "las", "ply", "csv")
ASSETS = ("orthophoto", "dsm", "dtm", "georeferenced_model")
POINT_CLOUD_FILE = "odm_georeferencing/odm_georeferenced_model.laz"
EXTENSIONS = {"gtiff": "tif", "gtiff-rgb": "tif", "jpg": "zip", "png": "zip", "kmz": "kmz", "laz": "laz",
              "las": "las", "ply": "ply", "csv": "csv"}
BLOCK_ROWS = 512  # rows read and written at once: exports of any size in bounded memory
POINTS_PER_CHUNK = 1_000_000
EXPORT_KEEP_SECONDS = 24 * 3600  # as long as the job's answer is kept (services.workers.RESULT_SECONDS)
DEFAULT_HILLSHADE = True  # DEM colour exports are hillshaded unless asked otherwise, as WebODM's


class ExportRequest(NamedTuple):
    """A checked export request."""

    asset: str
    format: str
    epsg: int | None
    formula: str | None
    bands: str | None
    rescale: tuple | None
    color_map: str | None
    hillshade: bool


def check_request(asset, data, assets_dir):
    """An ExportRequest from WebODM's fields (format, epsg, formula, bands, rescale, color_map, hillshade).

    ValidationError with the field's name for bad values; tiles.TileNotFound when the asset's file is missing.
    """
    if asset not in ASSETS:
        raise tiles.TileNotFound(asset)
    field = lambda name: (str(data.get(name)).strip() if data.get(name) not in (None, "") else None)  # noqa: E731
    is_cloud = asset == "georeferenced_model"
    export_format = (field("format") or ("laz" if is_cloud else "gtiff")).lower()
    offered = POINT_CLOUD_FORMATS if is_cloud else RASTER_FORMATS
    if export_format not in offered:
        raise ValidationError(field_errors={"format": [f"Unsupported format {export_format!r}; use one of "
                                                       f"{', '.join(offered)}."]})
    if export_format == "kmz" and asset != "orthophoto":
        raise ValidationError(field_errors={"format": ["KMZ is made of the orthophoto only."]})
    source = source_path(assets_dir, asset)
    if not source.is_file():
        raise tiles.TileNotFound(asset)
    formula, bands = field("formula"), field("bands")
    if bool(formula) != bool(bands) and not is_cloud:
        raise ValidationError(field_errors={"bands" if formula else "formula": [
            "Both formula and bands parameters are required."]})
    if formula and asset != "orthophoto":
        raise ValidationError(field_errors={"formula": ["Formulas apply to the orthophoto."]})
    rescale = tiles.parse_rescale(field("rescale")) if field("rescale") else None
    color_map = field("color_map")
    if color_map and color_map.lower() not in COLOR_MAPS.data:
        raise ValidationError(field_errors={"color_map": [f"Unknown colour map {color_map!r}."]})
    hillshade = (field("hillshade") or "").lower() not in ("0", "false", "no", "off") \
        if field("hillshade") is not None else DEFAULT_HILLSHADE
    request = ExportRequest(asset, export_format, _epsg(field("epsg")), formula, bands, rescale,
                            color_map.lower() if color_map else None, hillshade)
    if formula:
        with rasterio.open(source) as dataset:
            _expression(request, dataset)  # refuses a formula the raster's bands cannot give
    return request


def source_path(assets_dir, asset):
    """The file an asset is exported from."""
    relative = POINT_CLOUD_FILE if asset == "georeferenced_model" else tiles.LAYER_FILES[asset]
    return Path(assets_dir) / relative


def file_name(task, request):
    """The download's name: the task's name, the asset, the formula, the extension (WebODM's pattern)."""
    base = "".join(c if c.isalnum() or c in "-_" else "-" for c in (task.name or f"task-{task.id}")).strip("-")
    formula = f"-{request.formula}" if request.formula else ""
    formula = "".join(c if c.isalnum() or c in "-_" else "-" for c in formula)
    return f"{base or 'task'}-{request.asset}{formula}.{EXTENSIONS[request.format]}"


def ready_download(task, request, assets_dir):
    """The download URL when the export is the asset as it is (no reprojection, no formula), else None."""
    if request.formula or request.format not in ("gtiff", "laz"):
        return None
    if request.epsg is not None and request.epsg != _source_epsg(source_path(assets_dir, request.asset)):
        return None
    asset = "georeferenced_model.laz" if request.asset == "georeferenced_model" else f"{request.asset}.tif"
    return f"/api/projects/{task.project_id}/tasks/{task.id}/download/{asset}"


def export(project_id, task_id, request, name, key, progress=None):
    """Make the export's file in the task's export folder (under key, the job's id), dropping exports older than
    a day; the job's answer {"file", "filename"} or {"error"}."""
    request = ExportRequest(*request)
    assets_dir = storage.assets_dir(project_id, task_id)
    exports_dir = storage.task_dir(project_id, task_id) / "cache" / "exports"
    _drop_old_exports(exports_dir)
    folder = exports_dir / "".join(c for c in str(key) if c.isalnum() or c == "-")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    progress = progress or (lambda fraction: None)
    try:
        if request.asset == "georeferenced_model":
            _export_point_cloud(source_path(assets_dir, request.asset), target, request, progress)
        else:
            _export_raster(source_path(assets_dir, request.asset), target, request, progress)
    except ServiceError as error:
        target.unlink(missing_ok=True)
        return {"error": workers.error_text(error)}
    return {"file": str(target), "filename": name}


def _drop_old_exports(exports_dir):
    """Remove the export folders older than the time their jobs' answers are kept."""
    if not exports_dir.is_dir():
        return
    oldest = time.time() - EXPORT_KEEP_SECONDS
    for folder in exports_dir.iterdir():
        try:
            if folder.stat().st_mtime < oldest:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass  # another worker removed it first


# --- checks ------------------------------------------------------------------------------------------------

def _epsg(value):
    """An EPSG code as an int, or None; ValidationError for one that does not exist."""
    if value is None:
        return None
    try:
        code = int(value)
        CRS.from_epsg(code)
    except (ValueError, CRSError):
        raise ValidationError(field_errors={"epsg": [f"Unknown EPSG code {value!r}."]}) from None
    return code


def _source_epsg(path):
    """The EPSG code of a raster's or point cloud's CRS, or None."""
    if path.suffix == ".laz":
        with laspy.open(path) as reader:
            crs = reader.header.parse_crs()
        return crs.to_epsg() if crs is not None else None
    with rasterio.open(path) as dataset:
        return dataset.crs.to_epsg() if dataset.crs else None


def _expression(request, dataset):
    """The rio-tiler style expression (b1, b2, ...) of the request's formula on this raster."""
    count = sum(1 for interp in dataset.colorinterp if interp != ColorInterp.alpha)
    bands = request.bands
    if bands == plant_health.AUTO:
        names = [dataset.descriptions[i] or dataset.colorinterp[i].name for i in range(count)]
        bands, _ = plant_health.auto_band_order(request.formula, names, count)
    return plant_health.expression(request.formula, bands, count)


# --- rasters -----------------------------------------------------------------------------------------------

def _export_raster(source, target, request, progress):
    """Write a raster export: values (gtiff) or colours (gtiff-rgb, png, jpg, kmz)."""
    with rasterio.open(source) as dataset:
        crs = CRS.from_epsg(4326) if request.format == "kmz" else (
            CRS.from_epsg(request.epsg) if request.epsg else None)
        with _reprojected(dataset, crs) as view:
            if request.format == "gtiff":
                _write_values(view, dataset, target, request, progress)
                return
            rendered = target.with_suffix(".render.tif")
            try:
                _write_colours(view, dataset, rendered, request, progress)
                _convert(rendered, target, request.format)
            finally:
                rendered.unlink(missing_ok=True)


class _Unchanged:
    """A context manager giving back the dataset itself (no reprojection)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __enter__(self):
        return self.dataset

    def __exit__(self, *exc):
        return False


def _reprojected(dataset, crs):
    """The dataset seen in another CRS (a warped view), or itself."""
    if crs is None or (dataset.crs and CRS.from_user_input(dataset.crs) == crs):
        return _Unchanged(dataset)
    transform, width, height = calculate_default_transform(dataset.crs, crs, dataset.width, dataset.height,
                                                           *dataset.bounds)
    resampling = Resampling.bilinear if dataset.count == 1 else Resampling.nearest
    return WarpedVRT(dataset, crs=crs, transform=transform, width=width, height=height, resampling=resampling)


def _blocks(view):
    """The windows of BLOCK_ROWS rows covering a raster."""
    for top in range(0, view.height, BLOCK_ROWS):
        yield rasterio.windows.Window(0, top, view.width, min(BLOCK_ROWS, view.height - top))


def _index_block(view, window, expression):
    """An index's values over a window (float32, NaN where there is no data or the formula has none)."""
    data = view.read(window=window, masked=True).astype(numpy.float32)
    bands = {f"b{i + 1}": data[i].filled(numpy.nan) for i in range(data.shape[0])}
    mask = numpy.ma.getmaskarray(data).any(axis=0)
    with numpy.errstate(all="ignore"):
        values = numexpr.evaluate(expression, local_dict=bands).astype(numpy.float32)
    values[mask | ~numpy.isfinite(values)] = numpy.nan
    return values


def _write_values(view, source, target, request, progress):
    """A GeoTIFF of the raster's values (or of the index's), tiled and compressed."""
    expression = _expression(request, source) if request.formula else None
    count = 1 if expression else view.count
    profile = dict(driver="GTiff", width=view.width, height=view.height, count=count, crs=view.crs,
                   transform=view.transform, tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                   BIGTIFF="IF_SAFER", dtype="float32" if expression else view.dtypes[0],
                   nodata=numpy.nan if expression else view.nodata)
    blocks = list(_blocks(view))
    with rasterio.open(target, "w", **profile) as out:
        if not expression:
            out.colorinterp = view.colorinterp
        for number, window in enumerate(blocks, start=1):
            if expression:
                out.write(_index_block(view, window, expression), 1, window=window)
            else:
                out.write(view.read(window=window), window=window)
            progress(number / len(blocks))


def _write_colours(view, source, target, request, progress):
    """An RGBA GeoTIFF of what the map shows: the orthophoto, an index or a DEM through a colour map."""
    expression = _expression(request, source) if request.formula else None
    is_dem = request.asset in tiles.DEM_LAYERS
    low, high = (request.rescale or _default_range(source, request, is_dem)) if expression or is_dem else (0, 1)
    colours = COLOR_MAPS.get(request.color_map or ("viridis" if is_dem else tiles.DEFAULT_INDEX_COLOR_MAP))
    lookup = numpy.array([colours[i] for i in range(256)], dtype=numpy.uint8)
    profile = dict(driver="GTiff", width=view.width, height=view.height, count=4, dtype="uint8", crs=view.crs,
                   transform=view.transform, tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                   BIGTIFF="IF_SAFER")
    resolution = abs(view.transform.a)
    blocks = list(_blocks(view))
    with rasterio.open(target, "w", **profile) as out:
        out.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        for number, window in enumerate(blocks, start=1):
            if expression or is_dem:
                values = _index_block(view, window, expression) if expression else \
                    view.read(1, window=window, masked=True).astype(numpy.float32).filled(numpy.nan)
                rgba = _colour(values, low, high, lookup)
                if is_dem and request.hillshade:
                    rgba = _shade(view, window, rgba, resolution)
            else:
                rgba = _true_colour(view, window)
            out.write(rgba, window=window)
            progress(number / len(blocks))


def _default_range(source, request, is_dem):
    """The stretch when none is given: the DEM's range, or the formula's (NDVI's -1..1)."""
    if is_dem:
        stats = source.stats(indexes=1, approx=True)[0]
        return stats.min, max(stats.max, stats.min + 1e-6)
    return plant_health.formula(request.formula).range or tiles.DEFAULT_INDEX_RANGE


def _colour(values, low, high, lookup):
    """RGBA bands of values stretched over low..high through a 256-entry colour table; NaN is transparent."""
    valid = numpy.isfinite(values)
    scaled = numpy.clip((numpy.nan_to_num(values, nan=low) - low) / (high - low), 0, 1)
    rgba = lookup[(scaled * 255).round().astype(numpy.uint8)].transpose(2, 0, 1).copy()
    rgba[3] = numpy.where(valid, 255, 0)
    return rgba


def _shade(view, window, rgba, resolution):
    """The block's colours darkened by the relief's hillshade (the map tiles' formula)."""
    padded = rasterio.windows.Window(0, max(window.row_off - 1, 0), view.width,
                                     min(window.height + 2, view.height - max(window.row_off - 1, 0)))
    elevation = view.read(1, window=padded, masked=True)
    shade = tiles.hillshade(elevation, resolution)
    first = window.row_off - padded.row_off
    shade = shade[first:first + window.height]
    factor = tiles.HILLSHADE_AMBIENT + (1 - tiles.HILLSHADE_AMBIENT) * shade
    rgba[:3] = (rgba[:3].astype(numpy.float32) * factor).round().astype(numpy.uint8)
    return rgba


def _true_colour(view, window):
    """The orthophoto's RGB with its alpha (or opaque where it has none)."""
    count = sum(1 for interp in view.colorinterp if interp != ColorInterp.alpha)
    data = view.read(indexes=[1, 2, 3] if count >= 3 else [1, 1, 1], window=window, masked=True)
    if data.dtype != numpy.uint8:
        data = numpy.ma.clip(data, 0, 255)
    rgba = numpy.empty((4,) + data.shape[1:], dtype=numpy.uint8)
    rgba[:3] = data.filled(0)
    rgba[3] = numpy.where(numpy.ma.getmaskarray(data).any(axis=0), 0, 255)
    return rgba


def _convert(rendered, target, export_format):
    """The rendered RGBA GeoTIFF as the asked format: itself, PNG/JPEG zipped with a world file, or KMZ."""
    if export_format == "gtiff-rgb":
        rendered.replace(target)
        return
    if export_format == "kmz":
        rasterio.shutil.copy(rendered, target, driver="KMLSUPEROVERLAY", FORMAT="AUTO")
        return
    driver, extension, world = {"png": ("PNG", "png", "pgw"), "jpg": ("JPEG", "jpg", "jgw")}[export_format]
    image = target.with_suffix(f".{extension}")
    try:
        rasterio.shutil.copy(rendered, image, driver=driver, WORLDFILE="YES",
                             **({"QUALITY": 90} if driver == "JPEG" else {}))
        with rasterio.open(rendered) as dataset:
            projection = dataset.crs.to_wkt() if dataset.crs else ""
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(image, f"{target.stem}.{extension}")
            archive.write(image.with_suffix(".wld"), f"{target.stem}.{world}")  # GDAL writes .wld
            archive.writestr(f"{target.stem}.prj", projection)
    finally:
        for leftover in (image, image.with_suffix(".wld"), Path(f"{image}.aux.xml")):
            leftover.unlink(missing_ok=True)


# --- point clouds ------------------------------------------------------------------------------------------

def _export_point_cloud(source, target, request, progress):
    """The point cloud as LAZ, LAS, PLY or CSV, reprojected when an EPSG is asked for."""
    with laspy.open(source) as reader:
        header = reader.header
        source_crs = header.parse_crs()
        if request.epsg is not None and source_crs is None:
            raise ValidationError("Cannot use epsg on a point cloud that is not georeferenced.")
        transformer = None
        if request.epsg is not None and source_crs.to_epsg() != request.epsg:
            transformer = Transformer.from_crs(source_crs, CRS.from_epsg(request.epsg), always_xy=True)
        total = max(header.point_count, 1)
        if request.format in ("laz", "las"):
            _write_las(reader, target, request, transformer, total, progress)
        else:
            writer = _write_ply if request.format == "ply" else _write_csv
            writer(reader, target, transformer, total, progress)


def _xyz(points, transformer):
    """x, y, z of a chunk of points, reprojected when asked."""
    x, y, z = numpy.asarray(points.x), numpy.asarray(points.y), numpy.asarray(points.z)
    if transformer is not None:
        x, y = transformer.transform(x, y)
    return x, y, z


def _rgb(points):
    """8-bit red, green, blue of a chunk (LAS stores 16 bits), or grey when it has no colours."""
    names = set(points.point_format.dimension_names)
    if not {"red", "green", "blue"} <= names:
        grey = numpy.full(len(points), 128, dtype=numpy.uint8)
        return grey, grey, grey
    colours = [numpy.asarray(points[name]) for name in ("red", "green", "blue")]
    scale = 256 if max(int(c.max(initial=0)) for c in colours) > 255 else 1
    return tuple((c // scale).astype(numpy.uint8) for c in colours)


def _write_las(reader, target, request, transformer, total, progress):
    """LAS or LAZ, the header's CRS replaced by the asked EPSG's when reprojecting."""
    header = laspy.LasHeader(point_format=reader.header.point_format, version=reader.header.version)
    header.scales = reader.header.scales
    if transformer is not None:
        target_crs = CRS.from_epsg(request.epsg)
        header.add_crs(target_crs)
        # Integers of the new coordinates: about 1 cm in degrees, the source's scale in metres; the offset
        # near the data, so that they fit LAS's 32 bits.
        if target_crs.is_geographic:
            header.scales = [1e-7, 1e-7, reader.header.scales[2]]
        corner_x, corner_y = transformer.transform(reader.header.mins[0], reader.header.mins[1])
        header.offsets = [numpy.floor(corner_x), numpy.floor(corner_y), reader.header.offsets[2]]
    else:
        header.offsets = reader.header.offsets
        crs = reader.header.parse_crs()
        if crs is not None:
            header.add_crs(crs)
    backend = laspy.LazBackend.detect_available()[0] if request.format == "laz" else None
    done = 0
    with laspy.open(target, mode="w", header=header, do_compress=request.format == "laz",
                    laz_backend=backend) as writer:
        for points in reader.chunk_iterator(POINTS_PER_CHUNK):
            chunk = laspy.ScaleAwarePointRecord.zeros(len(points), header=header)
            for name in points.point_format.dimension_names:
                if name not in ("X", "Y", "Z"):
                    chunk[name] = points[name]
            chunk.x, chunk.y, chunk.z = _xyz(points, transformer)
            writer.write_points(chunk)
            done += len(points)
            progress(done / total)


def _write_ply(reader, target, transformer, total, progress):
    """A binary PLY: x, y, z as doubles and red, green, blue as bytes."""
    record = numpy.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    with open(target, "wb") as out:
        out.write((f"ply\nformat binary_little_endian 1.0\nelement vertex {reader.header.point_count}\n"
                   "property double x\nproperty double y\nproperty double z\nproperty uchar red\n"
                   "property uchar green\nproperty uchar blue\nend_header\n").encode("ascii"))
        done = 0
        for points in reader.chunk_iterator(POINTS_PER_CHUNK):
            rows = numpy.empty(len(points), dtype=record)
            rows["x"], rows["y"], rows["z"] = _xyz(points, transformer)
            rows["red"], rows["green"], rows["blue"] = _rgb(points)
            out.write(rows.tobytes())
            done += len(points)
            progress(done / total)


def _write_csv(reader, target, transformer, total, progress):
    """A CSV of X, Y, Z, Red, Green, Blue, one point a line."""
    with open(target, "w", newline="") as out:
        out.write("X,Y,Z,Red,Green,Blue\n")
        done = 0
        for points in reader.chunk_iterator(POINTS_PER_CHUNK):
            x, y, z = _xyz(points, transformer)
            red, green, blue = _rgb(points)
            numpy.savetxt(out, numpy.column_stack([x, y, z, red, green, blue]), fmt="%.3f,%.3f,%.3f,%d,%d,%d")
            done += len(points)
            progress(done / total)
