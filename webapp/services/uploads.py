"""Uploaded files: checking them cheaply, writing them to disk in chunks, and resumable chunked uploads.

Nothing here reads a whole upload into memory: Werkzeug spools big request files to temporary files, and
we copy them in blocks. A file is written under a temporary name and renamed into place, so a failed request
never leaves a half-written file where a good one was.
"""
import json
import os
import re
import shutil
from pathlib import Path

from PIL import Image

from webapp import storage
from webapp.services.errors import ValidationError

BLOCK = 1024 * 1024
GCP_SUFFIX = ".txt"
# Text files NodeODM reads by name besides a GCP file: geolocation and image groups.
NODE_TEXT_FILES = ("geo.txt", "image_groups.txt")
DZ_FIELDS = ("dzuuid", "dzchunkindex", "dztotalchunkcount", "dzchunkbyteoffset", "dztotalfilesize")
DZ_UUID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def clean_name(name, field="images"):
    """A safe file name for an upload, or ValidationError naming the refused one."""
    try:
        return storage.safe_filename(name or "")
    except storage.UnsafePath:
        raise ValidationError(field_errors={field: [f"Invalid file name {name!r}."]}) from None


def is_text_file(name):
    """Whether a (clean) file name is a text file that travels with images (a GCP or geo file)."""
    return name.lower().endswith(GCP_SUFFIX)


def is_image(stream):
    """Whether the stream holds an image Pillow recognises, checked on its header without decoding it."""
    position = stream.tell()
    try:
        with Image.open(stream) as image:
            image.verify()
        return True
    except Exception:  # Pillow raises many kinds of errors on foreign data; all mean "not an image"
        return False
    finally:
        stream.seek(position)


def is_image_file(path):
    """Whether the file at path is an image (see is_image)."""
    with open(path, "rb") as stream:
        return is_image(stream)


def check_files(files, field="images"):
    """[(clean name, FileStorage)] for uploads that are images or text files, or ValidationError naming the rest."""
    checked, refused, seen = [], [], set()
    for upload in files:
        name = clean_name(upload.filename, field)
        if name.lower() in seen:
            raise ValidationError(field_errors={field: [f"The file {name} was sent twice."]})
        seen.add(name.lower())
        if not is_text_file(name) and not is_image(upload.stream):
            refused.append(upload.filename)
        checked.append((name, upload))
    if refused:
        raise ValidationError(field_errors={field: [f"Not an image: {', '.join(refused)}."]})
    return checked


def save_stream(stream, target):
    """Copy a file-like object to target in blocks, through a temporary name renamed into place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = storage.temporary_sibling(target)
    try:
        with open(temporary, "wb") as out:
            shutil.copyfileobj(stream, out, BLOCK)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _link_spooled(stream, target):
    """Give a spooled upload (webapp.upload_spool) its final name by a hard link, which writes no data again;
    False when it cannot be linked (an in-memory upload, or another filesystem)."""
    source = getattr(stream, "name", None)
    if not isinstance(source, str):
        return False
    stream.flush()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = storage.temporary_sibling(target)
    try:
        os.link(source, temporary)
    except OSError:
        return False
    os.replace(temporary, target)
    return True


def save_files(checked, folder):
    """Write checked uploads [(name, FileStorage)] into folder; {name: bytes written}."""
    written = {}
    for name, upload in checked:
        upload.stream.seek(0)
        if not _link_spooled(upload.stream, Path(folder) / name):
            save_stream(upload.stream, Path(folder) / name)
        written[name] = (Path(folder) / name).stat().st_size
    return written


def count_images(folder):
    """The number of images (files other than text files) in folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return sum(1 for f in folder.iterdir() if f.is_file() and not f.name.startswith(".") and not is_text_file(f.name))


def gcp_file_name(folder):
    """The name of the GCP file among a task's files (a .txt other than NodeODM's geo/groups files), or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    names = sorted(f.name for f in folder.iterdir() if f.is_file() and is_text_file(f.name))
    return next((n for n in names if n.lower() not in NODE_TEXT_FILES), None)


# Chunked uploads (Dropzone's fields): each chunk is written at its byte offset into a staging file, and a marker
# per chunk records its arrival, so a retried chunk is harmless and chunks may arrive in any order.

def is_chunk(form):
    """Whether a form carries a chunk of a chunked upload."""
    return "dzuuid" in form


def _int_field(form, name, minimum=0):
    """A non-negative integer field of a chunk, or ValidationError."""
    try:
        value = int(form.get(name, ""))
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValidationError(field_errors={name: ["A whole number is required."]})
    return value


def _chunk_fields(form):
    """The chunk's (uuid, index, count, offset, total size), validated against each other."""
    dz_uuid = form.get("dzuuid", "")
    if not DZ_UUID.match(dz_uuid):
        raise ValidationError(field_errors={"dzuuid": ["Use letters, digits, - and _ only (at most 64)."]})
    index, count = _int_field(form, "dzchunkindex"), _int_field(form, "dztotalchunkcount", 1)
    offset, total = _int_field(form, "dzchunkbyteoffset"), _int_field(form, "dztotalfilesize")
    if index >= count:
        raise ValidationError(field_errors={"dzchunkindex": ["The chunk index is beyond the chunk count."]})
    return dz_uuid, index, count, offset, total


def _stream_size(stream):
    """The size of a seekable stream, leaving it at its start."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _staging_meta(staging, name, count, total):
    """The upload's metadata (file name, chunk count, size), written by its first chunk and checked by the others."""
    meta_path = staging / "meta.json"
    wanted = {"name": name, "count": count, "total": total}
    # Written whole under another name, then linked into place: a concurrent first chunk never reads it half-written.
    temporary = storage.temporary_sibling(meta_path)
    temporary.write_text(json.dumps(wanted))
    try:
        os.link(temporary, meta_path)
        return wanted
    except FileExistsError:
        meta = json.loads(meta_path.read_text() or "{}")
    finally:
        temporary.unlink()
    if meta != wanted:
        raise ValidationError("This chunk does not belong to the upload with the same dzuuid "
                              "(its file name, chunk count or size differ).")
    return meta


def write_chunk(staging_root, form, upload):
    """Write one chunk at its offset; (file name, bytes received so far, complete staging file or None).

    A chunk of an upload already completed (a retry whose answer was lost) changes nothing.
    """
    dz_uuid, index, count, offset, total = _chunk_fields(form)
    name = clean_name(upload.filename)
    size = _stream_size(upload.stream)
    if offset + size > total:
        raise ValidationError(field_errors={"dzchunkbyteoffset": [
            f"The chunk ({size} bytes at offset {offset}) goes beyond the declared file size ({total} bytes)."]})
    staging = Path(staging_root) / dz_uuid
    (staging / "chunks").mkdir(parents=True, exist_ok=True)
    _staging_meta(staging, name, count, total)
    if (staging / "done").exists():
        return name, total, None
    data_path = staging / "data"
    fd = os.open(data_path, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+b") as out:
        out.seek(offset)
        shutil.copyfileobj(upload.stream, out, BLOCK)
    # Chunks of one file arrive at once on several threads and processes (tests/scaleout): a concurrent last chunk
    # may complete the file and remove the markers while this one counts them, and of two last chunks that both
    # see the file complete, one alone may take it (the other would find it gone, or move it twice).
    try:
        (staging / "chunks" / str(index)).write_text(str(size))  # the marker comes after the data
        markers = list((staging / "chunks").iterdir())
        received = sum(int(m.read_text() or 0) for m in markers)
    except FileNotFoundError:  # completed meanwhile by a concurrent chunk
        return name, total, None
    if len(markers) != count or received != total:
        return name, received, None
    claimed = staging / "complete"
    try:
        os.link(data_path, claimed)  # atomic: fails for every chunk but the first to get here
    except (FileExistsError, FileNotFoundError):
        return name, total, None
    os.unlink(data_path)
    return name, received, claimed


def take_completed(staging_root, form, data_path, target):
    """Move a completed staging file to target, once (a concurrent last chunk finds it gone); True if moved.

    The staging folder stays with a `done` marker, so that a retried chunk of this upload changes nothing.
    """
    staging = Path(staging_root) / form["dzuuid"]
    if not Path(data_path).exists():
        return False
    # done and the markers' removal first: a retried chunk arriving now cannot see the file complete again.
    (staging / "done").touch()
    storage.remove_tree(staging / "chunks")
    try:
        os.replace(data_path, target)
    except FileNotFoundError:
        return False
    return True


def discard_chunk_upload(staging_root, form):
    """Drop a chunked upload whose file was refused, so that it does not count as pending."""
    storage.remove_tree(Path(staging_root) / form["dzuuid"])


def pending_uploads(staging_root):
    """The file names of chunked uploads begun and not finished under staging_root."""
    root = Path(staging_root)
    if not root.is_dir():
        return []
    names = []
    for staging in sorted(root.iterdir()):
        if (staging / "done").exists():
            continue
        try:
            names.append(json.loads((staging / "meta.json").read_text())["name"])
        except (OSError, ValueError, KeyError):
            names.append(staging.name)
    return names


def stored_files(folder):
    """{file name: bytes} of the complete files in folder (hidden temporaries left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {f.name: f.stat().st_size for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".")}


def _chunk_markers(chunks_dir, count):
    """{chunk index: bytes, or None while its marker is being written} of the chunks recorded in chunks_dir."""
    markers = {}
    try:
        entries = list(chunks_dir.iterdir())
    except FileNotFoundError:  # the upload completed meanwhile
        return markers
    for marker in entries:
        if not marker.name.isdigit() or int(marker.name) >= count:
            continue
        try:
            text = marker.read_text()
        except FileNotFoundError:
            continue
        markers[int(marker.name)] = int(text) if text.isdigit() else None
    return markers


def _chunk_size(markers, count, total):
    """The size of the chunks of an upload (all but the last are equal), or None while no full-size one arrived."""
    if count == 1:
        return total
    return next((size for index, size in markers.items() if index < count - 1 and size), None)


def chunked_uploads(staging_root):
    """{dzuuid: {filename, received_chunks, total_chunks, total_size, chunk_size}} of the unfinished chunked
    uploads under staging_root: what a client on any machine needs to send only the missing chunks.

    A chunk's marker is written after its data, so a listed chunk is on disk.
    """
    root = Path(staging_root)
    if not root.is_dir():
        return {}
    states = {}
    for staging in sorted(root.iterdir()):
        if not DZ_UUID.match(staging.name) or (staging / "done").exists():
            continue
        try:
            meta = json.loads((staging / "meta.json").read_text())
            name, count, total = meta["name"], int(meta["count"]), int(meta["total"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # its first chunk is still being written: nothing of it is on disk yet
        markers = _chunk_markers(staging / "chunks", count)
        states[staging.name] = {"filename": name, "received_chunks": sorted(markers), "total_chunks": count,
                                "total_size": total, "chunk_size": _chunk_size(markers, count, total)}
    return states
