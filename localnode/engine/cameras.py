"""Focal length in pixels from photo metadata: sensor width table, FocalPlaneXResolution, 35 mm equivalent.

Why it matters: with nadir photos, bundle adjustment cannot separate focal length from flying height, so the
engine keeps the focal fixed at the value found here. A wrong focal puts the ground at the wrong height.
"""

# Sensor widths in mm, keyed by (make, model) as EXIF spells them, lower case. Published specifications of
# common mapping cameras; the width is that of the full 4:3 (or 3:2) sensor, which 16:9 photos crop in height.
SENSOR_WIDTH_MM = {
    ("dji", "fc300s"): 6.16,      # Phantom 3 Standard
    ("dji", "fc300x"): 6.16,      # Phantom 3 Professional / 4K
    ("dji", "fc300c"): 6.16,      # Phantom 3 Advanced
    ("dji", "fc330"): 6.17,       # Phantom 4
    ("dji", "fc6310"): 13.2,      # Phantom 4 Pro / Advanced
    ("dji", "fc6310s"): 13.2,     # Phantom 4 Pro V2
    ("dji", "fc6310r"): 13.2,     # Phantom 4 RTK
    ("dji", "fc6360"): 4.96,      # Phantom 4 Multispectral
    ("dji", "fc220"): 6.17,       # Mavic Pro
    ("dji", "fc2103"): 6.17,      # Mavic Air
    ("dji", "fc3170"): 6.4,       # Mavic Air 2
    ("dji", "fc3411"): 13.2,      # Air 2S
    ("dji", "l1d-20c"): 13.2,     # Mavic 2 Pro
    ("dji", "fc2220"): 6.17,      # Mavic 2 Zoom
    ("dji", "fc2204"): 6.17,      # Mavic 2 Enterprise
    ("dji", "fc7203"): 6.17,      # Mavic Mini
    ("dji", "fc7303"): 6.3,       # Mini 2
    ("dji", "fc3582"): 9.7,       # Mini 3 Pro
    ("dji", "fc8482"): 9.7,       # Mini 4 Pro
    ("dji", "l2d-20c"): 17.3,     # Mavic 3
    ("dji", "m3e"): 17.3,         # Mavic 3 Enterprise
    ("dji", "m3m"): 17.3,         # Mavic 3 Multispectral (RGB)
    ("dji", "fc6510"): 13.2,      # Zenmuse X4S
    ("dji", "fc6520"): 17.3,      # Zenmuse X5S
    ("dji", "fc6540"): 23.5,      # Zenmuse X7
    ("dji", "zenmusep1"): 35.9,   # Zenmuse P1
    ("dji", "fc550"): 17.3,       # Zenmuse X5
    ("dji", "fc350"): 6.17,       # Zenmuse X3
    ("canon", "canon powershot sx260 hs"): 6.17,
    ("canon", "canon powershot s100"): 7.44,
    ("canon", "canon powershot s110"): 7.44,
    ("canon", "canon powershot elph 110 hs"): 6.17,
    ("gopro", "hero4 black"): 6.17,
    ("gopro", "hero4 silver"): 6.17,
    ("sony", "dsc-rx100m2"): 13.2,
    ("sony", "ilce-6000"): 23.5,
    ("sony", "dsc-wx220"): 6.17,
    ("parrot", "anafi"): 6.17,
    ("sensefly", "s.o.d.a."): 13.2,
}

FULL_FRAME_DIAGONAL_MM = 43.27  # the 36 x 24 mm frame the "35 mm equivalent" focal refers to
INCH_MM = 25.4
FOCAL_PLANE_UNITS_MM = {2: INCH_MM, 3: 10.0, 4: 1.0}  # EXIF FocalPlaneResolutionUnit: inch, cm, mm


def sensor_width_mm(make, model):
    """The sensor width from the table, or None for an unknown camera."""
    return SENSOR_WIDTH_MM.get(((make or "").strip().lower(), (model or "").strip().lower()))


def focal_px(meta, width, height):
    """Focal length in pixels for an image of width x height, and how it was found (for the console).

    `meta`: make, model, focal_mm, focal_35mm, and focal_plane_x_res / focal_plane_unit / exif_width (the
    image width the FocalPlaneXResolution refers to).
    """
    width, height = max(width, height), min(width, height)  # sensor widths are of the long side
    focal_mm = meta.get("focal_mm")
    sensor_mm = sensor_width_mm(meta.get("make"), meta.get("model"))
    if focal_mm and sensor_mm:
        return focal_mm / sensor_mm * width, f"sensor width {sensor_mm} mm (camera table)"
    resolution = meta.get("focal_plane_x_res")
    unit_mm = FOCAL_PLANE_UNITS_MM.get(meta.get("focal_plane_unit") or 2)
    if focal_mm and resolution and unit_mm:
        # Pixels per unit on the sensor, for the image size the EXIF was written for.
        sensor_mm = (meta.get("exif_width") or width) / resolution * unit_mm
        if 1.0 < sensor_mm < 60.0:
            return focal_mm / sensor_mm * width, f"sensor width {sensor_mm:.2f} mm (FocalPlaneXResolution)"
    focal_35 = meta.get("focal_35mm")
    if focal_35:
        # The 35 mm equivalent refers to the diagonal of the whole sensor. Wide (16:9) frames are usually a
        # crop of a 4:3 sensor of the same width, so take the diagonal of a 4:3 frame at least.
        diagonal_px = (width ** 2 + max(height, width * 3 / 4) ** 2) ** 0.5
        return focal_35 / FULL_FRAME_DIAGONAL_MM * diagonal_px, "35 mm equivalent focal"
    if focal_mm and focal_mm < 12:
        # Small focal lengths come with small sensors; 1/2.3 inch is the most common one in drones.
        return focal_mm / 6.17 * width, "focal length with an assumed 6.17 mm (1/2.3 inch) sensor"
    # Nothing known: a typical drone camera (about 80 degrees diagonal field of view).
    return 0.85 * max(width, height), "a guess (no focal length in EXIF)"
