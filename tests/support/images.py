"""Files for the tests: small real images with GPS EXIF, results zips."""
import io
import zipfile

from PIL import Image

GPS_IFD = 0x8825


def _rational(value):
    """Degrees as EXIF (degrees, minutes, seconds)."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (degrees, minutes, seconds)


def jpeg_bytes(lat=46.84, lon=-91.99, size=(64, 48), color=(120, 160, 90)):
    """A small JPEG with a GPS position in its EXIF, as a drone would write it."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "Aerie test camera"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N" if lat >= 0 else "S", 2: _rational(abs(lat)),
                                  3: "E" if lon >= 0 else "W", 4: _rational(abs(lon)), 6: 120.0})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def image_files(count=2, prefix="img"):
    """Form file tuples (stream, name) of count small distinct JPEGs."""
    return [(io.BytesIO(jpeg_bytes(46.84 + i * 0.0001, -91.99, color=(i * 20 % 255, 100, 90))), f"{prefix}{i}.jpg")
            for i in range(count)]


def results_zip(entries):
    """A zip held in memory with entries {name: bytes}."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()
