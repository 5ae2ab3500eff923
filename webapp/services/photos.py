"""The task's photos on the map: a thumbnail of one (made on demand and cached on disk) and the original."""
import hashlib
import io
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageOps, UnidentifiedImageError

from webapp import storage
from webapp.services.errors import NotFound

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
DEFAULT_SIZE = 512
MAX_SIZE = 2048
MEDIA_TYPE = "image/jpeg"


class Thumbnail(NamedTuple):
    """A thumbnail's JPEG bytes and its HTTP validator."""

    content: bytes
    etag: str


def photo_path(project_id, task_id, filename):
    """The photo of that name among the task's images; NotFound for anything else (folders, other files)."""
    if not filename or "/" in filename or "\\" in filename or Path(filename).suffix.lower() not in PHOTO_SUFFIXES:
        raise NotFound()
    try:
        path = storage.safe_join(storage.images_dir(project_id, task_id), filename)
    except storage.UnsafePath:
        raise NotFound() from None
    if not path.is_file():
        raise NotFound()
    return path


def thumbnail(project_id, task_id, filename, size=DEFAULT_SIZE):
    """A JPEG of the photo, size px on its longer side, upright (EXIF orientation applied), cached per size."""
    source = photo_path(project_id, task_id, filename)
    stat = source.stat()
    version = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    cached = storage.task_dir(project_id, task_id) / "cache" / "photos" / str(size) / f"{source.name}.{version}.jpg"
    etag = hashlib.sha256(f"{source.name}|{size}|{version}".encode()).hexdigest()[:32]
    try:
        return Thumbnail(cached.read_bytes(), etag)
    except FileNotFoundError:
        pass
    content = _render(source, size)
    storage.write_atomically(cached, content)
    return Thumbnail(content, etag)


def _render(source, size):
    """The thumbnail's bytes; NotFound when the file is not an image Pillow can read."""
    try:
        with Image.open(source) as image:
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((size, size))
            out = io.BytesIO()
            upright.convert("RGB").save(out, "JPEG", quality=85)
            return out.getvalue()
    except (UnidentifiedImageError, OSError):
        raise NotFound() from None
