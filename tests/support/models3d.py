"""Small 3D results made in the test, as ODM writes them: a coloured point cloud (LAZ), a textured model (OBJ, MTL
and a PNG texture, vertices minus the offset of coords.txt), cameras (shots.geojson) and results zips of them."""
import io
import json
import zipfile

import laspy
import numpy
from PIL import Image
from pyproj import CRS, Transformer

UTM = 32633  # UTM 33N, as tests/support/maps.py
OFFSET = (500100.0, 4999900.0)  # ODM's coords.txt offset: the model's vertices are relative to it
SIDE = 60.0  # metres: the ground covered, centred on OFFSET
GROUND = 100.0  # metres above the ellipsoid
HILL = 8.0  # metres: a bump in the middle
FLIGHT = 60.0  # metres above the ground
TEXTURE_PIXELS = 64


def height(x, y):
    """The ground's height at a point relative to OFFSET: flat with a round hill in the middle."""
    return GROUND + HILL * numpy.exp(-(x ** 2 + y ** 2) / (2 * 12.0 ** 2))


def write_point_cloud(path, points_per_side=120):
    """A LAS 1.4 point cloud (format 7, 16-bit colour, the CRS as WKT) of the ground: a red hill on green grass."""
    path.parent.mkdir(parents=True, exist_ok=True)
    axis = numpy.linspace(-SIDE / 2, SIDE / 2, points_per_side)
    x, y = (a.ravel() for a in numpy.meshgrid(axis, axis))
    z = height(x, y)
    hill = z > GROUND + HILL / 3
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = [OFFSET[0] - SIDE, OFFSET[1] - SIDE, 0.0]
    header.scales = [0.001, 0.001, 0.001]
    header.add_crs(CRS.from_epsg(UTM))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x + OFFSET[0], y + OFFSET[1], z
    las.red = numpy.where(hill, 220, 60).astype(numpy.uint16) * 257
    las.green = numpy.where(hill, 40, 170).astype(numpy.uint16) * 257
    las.blue = numpy.full(len(x), 50, dtype=numpy.uint16) * 257
    las.write(str(path))
    return len(x)


def write_coords(folder):
    """ODM's odm_georeferencing/coords.txt: the UTM zone, then the offset."""
    path = folder / "odm_georeferencing" / "coords.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"WGS84 UTM 33N\n{OFFSET[0]:.0f} {OFFSET[1]:.0f}\n")


def write_textured_model(folder, cells=30):
    """odm_texturing/odm_textured_model_geo.obj, .mtl and a checkerboard texture: a grid over the ground."""
    texturing = folder / "odm_texturing"
    texturing.mkdir(parents=True, exist_ok=True)
    checker = ((numpy.indices((TEXTURE_PIXELS, TEXTURE_PIXELS)) // 8).sum(axis=0) % 2).astype(numpy.uint8)
    pixels = numpy.stack([40 + 200 * checker, 90 + 100 * checker, 200 - 150 * checker], axis=-1).astype(numpy.uint8)
    Image.fromarray(pixels).save(texturing / "odm_textured_model_geo_material0000_map_Kd.png")
    (texturing / "odm_textured_model_geo.mtl").write_text(
        "newmtl material0000\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\n"
        "map_Kd odm_textured_model_geo_material0000_map_Kd.png\n")
    axis = numpy.linspace(-SIDE / 2, SIDE / 2, cells + 1)
    lines = ["mtllib odm_textured_model_geo.mtl"]
    for j, y in enumerate(axis):
        for i, x in enumerate(axis):
            lines.append(f"v {x:.3f} {y:.3f} {height(x, y) + 0.05:.3f}")
            lines.append(f"vt {i / cells:.4f} {j / cells:.4f}")
    lines.append("usemtl material0000")
    for j in range(cells):
        for i in range(cells):
            a = j * (cells + 1) + i + 1
            b, c, d = a + 1, a + cells + 2, a + cells + 1
            lines += [f"f {a}/{a} {b}/{b} {c}/{c}", f"f {a}/{a} {c}/{c} {d}/{d}"]
    (texturing / "odm_textured_model_geo.obj").write_text("\n".join(lines) + "\n")
    return 2 * cells * cells


def shots_geojson(count=4, odm_style=True):
    """Cameras looking straight down from FLIGHT m up, along a line: ODM's axis-angle rotations, or the built-in
    engine's 3x3 matrices."""
    to_wgs84 = Transformer.from_crs(f"EPSG:{UTM}", "EPSG:4326", always_xy=True)
    down = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]  # x east, y south (image down), z to the ground
    features = []
    for number in range(count):
        x, y = OFFSET[0] - 15 + 10 * number, OFFSET[1] + 5
        z = GROUND + FLIGHT
        lon, lat = to_wgs84.transform(x, y)
        properties = {"filename": f"DJI_{number:04d}.JPG", "translation": [x, y, z]}
        if odm_style:
            properties.update(rotation=[numpy.pi, 0.0, 0.0], focal=0.85, width=4000, height=3000)
        else:
            properties.update(rotation=down, focal_px=3400.0)
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat, z]},
                         "properties": properties})
    return json.dumps({"type": "FeatureCollection", "features": features})


def write_3d_results(folder, model=True, odm_style=True):
    """A task's assets folder with a point cloud, cameras, and (if asked) the textured model and coords.txt."""
    write_point_cloud(folder / "odm_georeferencing" / "odm_georeferenced_model.laz")
    (folder / "odm_report").mkdir(parents=True, exist_ok=True)
    (folder / "odm_report" / "shots.geojson").write_text(shots_geojson(odm_style=odm_style))
    write_coords(folder)
    if model:
        write_textured_model(folder)


def results_zip(folder):
    """The bytes of an all.zip of a results folder, as a node sends it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()
