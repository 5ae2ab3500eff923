"""Stage dataset: read each photo's metadata, drop unusable photos, resize into work/images/."""
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageOps

from localnode.engine.cameras import focal_px
from localnode.engine.console import Counter, EngineError, say, warn
from localnode.engine.geo import LocalFrame, utm_epsg
from localnode.engine.gcp import find_gcp_file, read_gcp_file
from localnode.engine.metadata import read_geo_txt, read_metadata
from localnode.engine.workspace import atomic_path, write_json

STAGE = "dataset"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
COMPANION_SUFFIXES = (".txt",)  # geo.txt, a GCP file, image_groups.txt: read where needed, never photos
Image.MAX_IMAGE_PIXELS = 300_000_000  # large photos are normal here; Pillow's default warns at 89 Mpx


def run(ws, options, report):
    """Read, check and resize the photos; write work/dataset.json."""
    uploaded = sorted(p for p in ws.input_dir.iterdir() if p.is_file()) if ws.input_dir.is_dir() else []
    files = [p for p in uploaded if p.suffix.lower() in IMAGE_SUFFIXES]
    _say_ignored([p for p in uploaded if p.suffix.lower() not in IMAGE_SUFFIXES + COMPANION_SUFFIXES])
    if len(files) < 2:
        raise EngineError(f"{_count(len(files), 'image')} uploaded; at least 2 overlapping photos are needed.")
    say(STAGE, f"Reading {len(files)} images")
    geo_txt = _geo_txt_positions(ws)
    if ws.images.exists():
        shutil.rmtree(ws.images)
    ws.images.mkdir(parents=True)
    counter = Counter(STAGE, len(files), "Images read and resized", report, 0.0, 0.95)

    def prepare_one(path):
        result = _prepare(path, ws.images, options["resize-to"], geo_txt)
        counter.add()
        return result

    with ThreadPoolExecutor(max(1, options["max-concurrency"])) as pool:
        prepared = list(pool.map(prepare_one, files))
    images = _usable_images(prepared)
    frame = _local_frame(images)
    for image in images:
        image["x"], image["y"], image["z"] = frame.local_from_wgs84(image["lat"], image["lon"], image["alt"])
    _check_spread(images)
    _describe(images)
    gcps = _control_points(ws, frame, images)
    write_json(ws.dataset_json, {"frame": frame.to_dict(), "images": images, "gcps": gcps,
                                 "skipped": [p["name"] for p in prepared if p.get("problem")]})
    return {"images": len(images), "skipped": len(files) - len(images)}


def _prepare(path, out_dir, resize_to, geo_txt):
    """Metadata and a resized copy of one photo; a dict with 'problem' set when the photo is unusable."""
    name = path.name
    try:
        meta = read_metadata(path)
        with Image.open(path) as img:
            scale = _scale(img.size, resize_to)
            if scale < 1.0:
                img.draft("RGB", (int(img.width * scale), int(img.height * scale)))  # faster JPEG decoding
            img.load()  # decodes everything: a truncated or corrupt JPEG fails here
            img = ImageOps.exif_transpose(img).convert("RGB")
    except Exception as exc:  # Pillow raises many types for bad files
        return {"name": name, "problem": f"cannot be read ({type(exc).__name__}: {exc})"}
    if name in geo_txt:
        meta["lat"], meta["lon"], alt = geo_txt[name]
        meta["alt"] = alt if alt is not None else meta.get("alt")
    if "lat" not in meta:
        return {"name": name, "problem": "has no GPS position"}
    orig_w, orig_h = _original_size(path)
    width, height = round(orig_w * scale), round(orig_h * scale)
    target = out_dir / name
    with atomic_path(target) as tmp:
        if scale == 1.0 and meta.get("orientation", 1) == 1 and path.suffix.lower() in (".jpg", ".jpeg"):
            shutil.copyfile(path, tmp)
        else:
            img = img.resize((width, height), Image.Resampling.LANCZOS) if img.size != (width, height) else img
            img.save(tmp, format="JPEG", quality=92)
    focal, source = focal_px(meta, orig_w, orig_h)
    meta.setdefault("alt", 0.0)
    meta.update(name=name, width=width, height=height, orig_width=orig_w, orig_height=orig_h,
                focal_px=focal * scale, focal_source=source)
    return meta


def _scale(size, resize_to):
    """The factor that brings the longest side down to resize_to (never up; -1 keeps the size)."""
    return 1.0 if resize_to <= 0 or max(size) <= resize_to else resize_to / max(size)


def _original_size(path):
    """The photo's size as seen upright (EXIF orientation applied)."""
    with Image.open(path) as img:
        width, height = img.size
        rotated = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (height, width) if rotated else (width, height)


def _say_ignored(paths):
    """A console warning naming the uploaded files that are neither photos nor known companions."""
    if paths:
        what = "is not a photo" if len(paths) == 1 else "are not photos"
        warn(STAGE, f"Ignoring {_count(len(paths), 'file')} that {what} ({_names([{'name': p.name} for p in paths])}): "
                    f"only {', '.join(IMAGE_SUFFIXES)} files are processed")


def _usable_images(prepared):
    """The photos that can be processed; warn about the others, fail when fewer than 2 remain."""
    unreadable = [p for p in prepared if p.get("problem", "").startswith("cannot")]
    no_gps = [p for p in prepared if p.get("problem") == "has no GPS position"]
    for p in unreadable:
        warn(STAGE, f"Skipping {p['name']}: it {p['problem']}")
    if no_gps:
        warn(STAGE, f"Skipping {_count(len(no_gps), 'image')} without GPS position: {_names(no_gps)}")
    images = [p for p in prepared if not p.get("problem")]
    if len(images) >= 2:
        return images
    readable = len(prepared) - len(unreadable)
    if readable < 2:
        raise EngineError(f"Only {_count(readable, 'image')} of {len(prepared)} could be read "
                          f"({_names(unreadable)} corrupt or not an image); at least 2 are needed.")
    having = f"Only {_count(len(images), 'image')} of {len(prepared)} has" if images else \
        f"None of the {len(prepared)} images has"
    raise EngineError(f"{having} GPS coordinates; at least 2 are needed. "
                      "Upload geotagged photos, or add a geo.txt with their positions.")


def _local_frame(images):
    """The UTM zone of the photos' mean position, with a rounded origin near them."""
    lat = float(np.mean([i["lat"] for i in images]))
    lon = float(np.mean([i["lon"] for i in images]))
    frame = LocalFrame(utm_epsg(lat, lon), (0, 0, 0))
    e, n, _ = frame.local_from_wgs84(lat, lon, 0.0)
    return LocalFrame(frame.epsg, (round(e, -2), round(n, -2), 0.0))


def _check_spread(images):
    """Fail when the GPS positions are all in one spot: the model could not be scaled or placed."""
    xy = np.array([(i["x"], i["y"]) for i in images])
    spread = float(np.max(np.linalg.norm(xy - xy.mean(axis=0), axis=1)))
    if spread < 1.0:
        raise EngineError("All photos have the same GPS position (within 1 m), so the result cannot be placed "
                          "on the map. Check that the camera recorded GPS for each photo.")


def _describe(images):
    """Console lines about cameras and image sizes."""
    cameras = {}
    for i in images:
        key = (i.get("make", "?"), i.get("model", "?"), i["orig_width"], i["orig_height"], i["width"],
               i["height"], round(i["focal_px"]), i["focal_source"])
        cameras[key] = cameras.get(key, 0) + 1
    for (make, model, ow, oh, w, h, focal, source), count in cameras.items():
        resized = f", resized to {w}x{h}" if (w, h) != (ow, oh) else ""
        say(STAGE, f"{_count(count, 'image')} from {make} {model}, {ow}x{oh}{resized}, "
                   f"focal {focal} px from {source}")


def _geo_txt_positions(ws):
    """Positions from images/geo.txt when uploaded (they take precedence over EXIF GPS)."""
    path = ws.input_dir / "geo.txt"
    if not path.is_file():
        return {}
    try:
        positions = read_geo_txt(path)
    except Exception as exc:
        raise EngineError(f"geo.txt could not be read: {exc}. Its first line must be a CRS such as "
                          "EPSG:4326, then one line per image: name x y [z].") from exc
    say(STAGE, f"geo.txt gives positions for {_count(len(positions), 'image')}")
    return positions


def _control_points(ws, frame, images):
    """The ground control points of the task's GCP file (none without one)."""
    path = find_gcp_file(ws.input_dir) if ws.input_dir.is_dir() else None
    if path is None:
        return []
    points = read_gcp_file(path, frame, images)
    sightings = sum(len(p["sightings"]) for p in points)
    say(STAGE, f"{path.name}: {_count(len(points), 'ground control point')} in {_count(sightings, 'sighting')}")
    return points


def _count(n, noun):
    """'1 image', '3 images'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(items, limit=5):
    """A short list of image names for a message."""
    names = [i["name"] for i in items]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
