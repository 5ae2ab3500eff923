"""Photo metadata: EXIF (GPS, focal, camera) with exifread, DJI XMP (relative altitude, gimbal), geo.txt."""
import re
from pathlib import Path

import exifread
from pyproj import CRS, Transformer

XMP_FIELDS = {  # XMP name (any namespace) -> our key
    "RelativeAltitude": "relative_alt",
    "GimbalPitchDegree": "gimbal_pitch",
    "GimbalYawDegree": "gimbal_yaw",
    "FlightYawDegree": "flight_yaw",
}


def read_metadata(path):
    """Metadata of one photo as a dict (keys missing when unknown)."""
    with open(path, "rb") as f:
        tags = exifread.process_file(f, details=False)
    meta = {
        "make": _text(tags.get("Image Make")),
        "model": _text(tags.get("Image Model")),
        "focal_mm": _number(tags.get("EXIF FocalLength")),
        "focal_35mm": _number(tags.get("EXIF FocalLengthIn35mmFilm")),
        "focal_plane_x_res": _number(tags.get("EXIF FocalPlaneXResolution")),
        "focal_plane_unit": _number(tags.get("EXIF FocalPlaneResolutionUnit")),
        "exif_width": _number(tags.get("EXIF ExifImageWidth")),
        "orientation": _number(tags.get("Image Orientation")) or 1,
        "capture_time": _text(tags.get("EXIF DateTimeOriginal")),
        "exposure_time": _number(tags.get("EXIF ExposureTime")),
        "f_number": _number(tags.get("EXIF FNumber")),
        "iso": _number(tags.get("EXIF ISOSpeedRatings")),
    }
    lat = _degrees(tags.get("GPS GPSLatitude"), _text(tags.get("GPS GPSLatitudeRef")), "S")
    lon = _degrees(tags.get("GPS GPSLongitude"), _text(tags.get("GPS GPSLongitudeRef")), "W")
    if lat is not None and lon is not None and not (lat == 0 and lon == 0):
        meta["lat"], meta["lon"] = lat, lon
        alt = _number(tags.get("GPS GPSAltitude"))
        below_sea = _number(tags.get("GPS GPSAltitudeRef")) == 1
        meta["alt"] = (-alt if below_sea else alt) if alt is not None else None
    meta.update(read_xmp(path))
    return {k: v for k, v in meta.items() if v not in (None, "")}


def read_xmp(path):
    """The DJI XMP fields we use, from the XMP packet near the start of the file."""
    with open(path, "rb") as f:
        head = f.read(256 * 1024)
    start, end = head.find(b"<x:xmpmeta"), head.find(b"</x:xmpmeta")
    if start < 0 or end < 0:
        return {}
    xmp = head[start:end].decode("utf-8", "replace")
    found = {}
    for name, key in XMP_FIELDS.items():
        # Attribute form (drone-dji:Name="+1.0") or element form (<drone-dji:Name>+1.0</...>).
        match = re.search(rf':{name}\s*=\s*"([^"]+)"', xmp) or re.search(rf':{name}>([^<]+)<', xmp)
        if match:
            try:
                found[key] = float(match.group(1))
            except ValueError:
                pass
    return found


def read_geo_txt(path):
    """Positions from an ODM-style geo.txt (first line: CRS; then `name x y [z] ...`) as {name: (lat, lon, alt)}."""
    lines = [ln.split("#")[0].strip() for ln in Path(path).read_text(errors="replace").splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return {}
    to_wgs84 = Transformer.from_crs(CRS.from_user_input(lines[0]), CRS.from_epsg(4326), always_xy=True)
    positions = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) < 3:
            continue
        x, y = float(parts[1]), float(parts[2])
        z = float(parts[3]) if len(parts) > 3 else None
        lon, lat = to_wgs84.transform(x, y)
        positions[parts[0]] = (lat, lon, z)
    return positions


def _text(tag):
    """A tag's value as stripped text, or None."""
    return str(tag.values if isinstance(tag.values, str) else tag).strip().strip("\x00") if tag else None


def _number(tag):
    """A tag's first value as a float, or None (also for 0/0 ratios)."""
    if tag is None:
        return None
    try:
        value = tag.values
        while isinstance(value, (list, tuple)):  # exifread nests some values: [(6557.37,)]
            value = value[0]
        value = float(value.num) / float(value.den) if hasattr(value, "den") else float(value)
    except (ZeroDivisionError, TypeError, ValueError, IndexError):
        return None
    return value


def _degrees(tag, ref, negative_ref):
    """Degrees from an EXIF (deg, min, sec) triple, negative for S/W."""
    if tag is None:
        return None
    try:
        d, m, s = (float(v.num) / float(v.den) for v in tag.values[:3])
    except (ZeroDivisionError, TypeError, ValueError):
        return None
    value = d + m / 60 + s / 3600
    return -value if (ref or "").upper().startswith(negative_ref) else value
