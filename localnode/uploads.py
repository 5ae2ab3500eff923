"""Files coming into a task: uploaded images and a zip of images fetched from a URL, all kept inside images/."""
import shutil
import tempfile
import zipfile
from pathlib import PurePosixPath

import requests
from werkzeug.utils import secure_filename

ZIPURL_TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1024 * 1024


class UploadError(ValueError):
    """Files a client sent that cannot be stored; str() is the message for the client."""


def safe_name(filename):
    """A file name that cannot leave its folder ("../../x.jpg" -> "x.jpg"), or UploadError if nothing is left."""
    name = secure_filename(PurePosixPath((filename or "").replace("\\", "/")).name)
    if not name:
        raise UploadError(f"Invalid file name: {filename!r}.")
    return name


def save_uploads(files, images_dir):
    """Save uploaded files (werkzeug FileStorage) into images_dir under safe names; how many were saved."""
    names = [safe_name(upload.filename) for upload in files]  # check every name before storing any file
    for upload, name in zip(files, names):
        upload.save(images_dir / name, buffer_size=CHUNK_BYTES)
    return len(names)


def fetch_zip(url, images_dir):
    """Download a zip of images from url to a temporary file and extract its files flat into images_dir."""
    if not url.startswith(("http://", "https://")):
        raise UploadError(f"Invalid zipurl {url!r}: expected an http or https URL.")
    with tempfile.TemporaryFile(dir=images_dir) as archive_file:
        try:
            with requests.get(url, stream=True, timeout=ZIPURL_TIMEOUT_SECONDS) as response:
                response.raise_for_status()
                for chunk in response.iter_content(CHUNK_BYTES):
                    archive_file.write(chunk)
        except requests.RequestException as problem:
            raise UploadError(f"Could not download zipurl {url}: {problem}") from None
        archive_file.seek(0)
        return _extract_flat(archive_file, images_dir)


def _extract_flat(archive_file, images_dir):
    """Extract every file of a zip into images_dir under its safe base name; how many were extracted."""
    try:
        archive = zipfile.ZipFile(archive_file)
    except zipfile.BadZipFile:
        raise UploadError("The zipurl file is not a valid zip archive.") from None
    count = 0
    with archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            name = secure_filename(PurePosixPath(member.filename).name)
            if not name or name.startswith("."):
                continue
            with archive.open(member) as source, open(images_dir / name, "wb") as target:
                shutil.copyfileobj(source, target, CHUNK_BYTES)
            count += 1
    return count
