"""Thumbnails of a task's orthophoto: a small PNG rendered from the raster's overviews, cached on disk."""
import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy
from rio_tiler.io import Reader

from webapp import storage
from webapp.services.tiles import LAYER_FILES, TileNotFound

DEFAULT_SIZE = 256  # pixels on the longer side
MAX_SIZE = 1024
MEDIA_TYPE = "image/png"


class Thumbnail(NamedTuple):
    """A rendered thumbnail with its HTTP validator; `hit` says whether it came from the cache."""

    content: bytes
    etag: str
    hit: bool


def thumbnail(cache_dir, assets_dir, size=DEFAULT_SIZE):
    """The orthophoto's thumbnail (PNG, at most size px a side), rendered once per orthophoto version.

    TileNotFound when the task has no orthophoto; ValueError for a size outside 16..MAX_SIZE.
    """
    if not isinstance(size, int) or not 16 <= size <= MAX_SIZE:
        raise ValueError(f"thumbnail size must be a whole number from 16 to {MAX_SIZE}")
    source = Path(assets_dir) / LAYER_FILES["orthophoto"]
    try:
        stat = source.stat()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise TileNotFound("this task has no orthophoto") from error
    # The orthophoto's version is in the name: new assets never meet the thumbnail of the old ones.
    version = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    cached = Path(cache_dir) / f"thumbnail-{version}-{size}.png"
    etag = hashlib.sha256(cached.name.encode()).hexdigest()[:32]
    try:
        return Thumbnail(cached.read_bytes(), etag, True)
    except FileNotFoundError:
        pass
    content = render_thumbnail(source, size)
    _drop_other_versions(cached.parent, version)
    storage.write_atomically(cached, content)
    return Thumbnail(content, etag, False)


def render_thumbnail(path, size):
    """A PNG preview of an orthophoto, read from its overviews (rio-tiler's preview), transparent outside data."""
    with Reader(str(path)) as reader:
        bands = [i for i, kind in zip(reader.dataset.indexes, reader.dataset.colorinterp) if kind.name != "alpha"]
        image = reader.preview(indexes=bands[:3] if len(bands) >= 3 else bands[:1], max_size=size)
        if image.array.dtype.name != "uint8":
            image.rescale(in_range=[_value_range(image.array.dtype)] * image.count)
    return image.render(img_format="PNG")


def _value_range(dtype):
    """The value range of an integer data type, (0, 1) for floats: to bring a raster to 8 bits."""
    if numpy.issubdtype(dtype, numpy.integer):
        return (numpy.iinfo(dtype).min, numpy.iinfo(dtype).max)
    return (0.0, 1.0)


def _drop_other_versions(folder, version):
    """Remove thumbnails of older orthophoto versions from the cache folder."""
    if folder.is_dir():
        for old in folder.glob("thumbnail-*.png"):
            if not old.name.startswith(f"thumbnail-{version}-"):
                old.unlink(missing_ok=True)
