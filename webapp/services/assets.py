"""A task's results on disk: the asset table of docs/API.md, safe extraction of a results zip, streamed zips,
and fetching a results zip from a URL for an import.

`extract_results_zip` and `available_assets` are shared by the API's import and the processing pipeline.
"""
import ipaddress
import os
import shutil
import socket
import stat
import uuid as uuidlib
import zipfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import requests
from zipstream import ZIP_STORED, ZipStream

from webapp import storage
from webapp.services import models3d, tile_pyramids
from webapp.services.errors import ValidationError

ALL_ZIP = "all.zip"

# Asset name -> (path inside the task's assets folder, whether it is a folder zipped while streaming).
ASSETS = {
    "all.zip": ("", True),
    "orthophoto.tif": ("odm_orthophoto/odm_orthophoto.tif", False),
    "orthophoto.png": ("odm_orthophoto/odm_orthophoto.png", False),
    "georeferenced_model.laz": ("odm_georeferencing/odm_georeferenced_model.laz", False),
    "georeferenced_model.las": ("odm_georeferencing/odm_georeferenced_model.las", False),
    "georeferenced_model.ply": ("odm_georeferencing/odm_georeferenced_model.ply", False),
    "georeferenced_model.csv": ("odm_georeferencing/odm_georeferenced_model.csv", False),
    "textured_model.zip": ("odm_texturing", True),
    "textured_model.glb": ("odm_texturing/odm_textured_model_geo.glb", False),
    "dsm.tif": ("odm_dem/dsm.tif", False),
    "dtm.tif": ("odm_dem/dtm.tif", False),
    "cameras.json": ("cameras.json", False),
    "shots.geojson": ("odm_report/shots.geojson", False),
    "report.pdf": ("odm_report/report.pdf", False),
    "orthophoto.mbtiles": ("odm_orthophoto/odm_orthophoto.mbtiles", False),
    "orthophoto.kmz": ("odm_orthophoto/odm_orthophoto.kmz", False),
    "cutline.gpkg": ("odm_orthophoto/cutline.gpkg", False),
    "orthophoto_tiles.zip": ("orthophoto_tiles", True),
    "dsm_tiles.zip": ("dsm_tiles", True),
    "dtm_tiles.zip": ("dtm_tiles", True),
    "ground_control_points.geojson": ("odm_georeferencing/ground_control_points.geojson", False),
}

COPY_BLOCK = 1024 * 1024
MAX_REDIRECTS = 5


class InvalidResultsZip(ValidationError):
    """A results zip that cannot be used: not a zip, damaged, or with entries that would leave their folder."""


class ExtractedResults(NamedTuple):
    """What extract_results_zip found: the asset names now available and the assets folder's size in MB."""

    available_assets: list
    size: float


def _has_files(folder):
    """Whether a folder holds at least one file, at any depth."""
    return any(path.is_file() for path in folder.rglob("*"))


def asset_location(assets_dir, name):
    """(path, is_folder) of an asset that exists in assets_dir, or None for an unknown or absent asset."""
    if name not in ASSETS:
        return None
    relative, is_folder = ASSETS[name]
    path = Path(assets_dir) / relative if relative else Path(assets_dir)
    if is_folder and path.is_dir() and _has_files(path):
        return path, True
    if not is_folder and path.is_file():
        return path, False
    return None


def available_assets(assets_dir):
    """The names of the asset table present in assets_dir, in the table's order ([] for a missing folder)."""
    return [name for name in ASSETS if asset_location(assets_dir, name) is not None]


def _safe_member_path(info):
    """The relative path of a zip entry, or InvalidResultsZip if it is absolute, climbs out, or is a link."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts or "\x00" in name:
        raise InvalidResultsZip(f"The zip entry {info.filename!r} would be written outside the task's folder.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidResultsZip(f"The zip entry {info.filename!r} is a symbolic link, which is not allowed.")
    return PurePosixPath(*[part for part in parts if part not in ("", ".")])


def _check_members(archive):
    """Check every entry before writing anything: (info, relative path) for each."""
    members = []
    for info in archive.infolist():
        relative = _safe_member_path(info)
        if str(relative) in ("", "."):
            continue
        members.append((info, relative))
    return members


def extract_results_zip(zip_path, assets_dir):
    """Extract a results zip (a processing node's all.zip) into assets_dir; ExtractedResults.

    Every entry is checked before anything is written: an absolute path, a `..`, or a symbolic link makes the
    whole zip refused (InvalidResultsZip), as does a file that is not a zip. Entries are copied in blocks, never
    read whole. The files go to a new folder beside assets_dir that then replaces it, so a zip that fails
    half-way leaves the previous assets as they were.
    """
    assets_dir = Path(assets_dir)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InvalidResultsZip(f"The results file is not a valid zip file ({error}).") from None
    staging = assets_dir.with_name(f".{assets_dir.name}.{uuidlib.uuid4().hex}.extracting")
    try:
        with archive:
            members = _check_members(archive)
            staging.mkdir(parents=True)
            for info, relative in members:
                target = storage.safe_join(staging, str(relative))  # a second guard, on the resolved path
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, COPY_BLOCK)
        models3d.prepare(staging)  # the 3D page's files (and textured_model.glb when the node gave only the OBJ)
        _replace_folder(staging, assets_dir)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as error:
        raise InvalidResultsZip(f"The results zip is damaged or uses an unsupported format ({error}).") from None
    except storage.UnsafePath as error:
        raise InvalidResultsZip(f"The zip entry {str(error)!r} would be written outside the task's folder.") from None
    finally:
        storage.remove_tree(staging)
    return ExtractedResults(available_assets(assets_dir), storage.tree_size_mb(assets_dir))


def _replace_folder(new, current):
    """Put folder new in the place of folder current (which may not exist), dropping the old one."""
    old = current.with_name(f".{current.name}.{uuidlib.uuid4().hex}.old")
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    storage.remove_tree(old)


def zip_folder_stream(folder, arc_prefix=""):
    """A ZipStream of every file under folder, stored (not compressed) so that its length is known up front.

    Results are mostly already compressed (TIFF, LAZ, PNG, JPEG, GLB), so deflating would cost CPU for little gain,
    and a known length gives download progress bars. Files are read block by block while the zip streams.
    """
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if path.relative_to(folder).parts[0] in (models3d.VIEWER_DIR, tile_pyramids.PYRAMID_DIR):
            continue  # the 3D page's and the map's own files, made from the results: not part of them
        if path.is_file() and not path.is_symlink():
            stream.add_path(str(path), arcname=str(PurePosixPath(arc_prefix) / path.relative_to(folder).as_posix()))
    return stream


# Fetching an import URL. Only public addresses are fetched (no loopback, private, link-local or reserved ones),
# so that an import cannot be used to probe the server's own network. IMPORT_ALLOW_PRIVATE lifts this: True for
# every address, or a list of networks ("10.0.0.0/8", "127.0.0.1/32") that may be reached besides public ones.

def _address_allowed(address, allow_private):
    """Whether an IP address may be fetched: a public one, or one that allow_private lets through."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if allow_private is True:
        return True
    if any(ip in ipaddress.ip_network(network) for network in (allow_private or ())):
        return True
    return ip.is_global and not ip.is_multicast


def check_import_url(url, allow_private=False):
    """The URL if it is http(s) to a host whose every address is allowed (see above), else ValidationError."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(field_errors={"url": ["Enter an http:// or https:// address."]})
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443,
                                                                 proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError, ValueError):
        raise ValidationError(field_errors={"url": [f"The host {parts.hostname} cannot be found."]}) from None
    if not addresses or not all(_address_allowed(a, allow_private) for a in addresses):
        raise ValidationError(field_errors={"url": [
            "Imports from private, loopback or local network addresses are not allowed."]})
    return url


def download_results(url, target, allow_private=False, timeout=60):
    """Download url to target in blocks, checking every redirect's address too; ValidationError on failure."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(MAX_REDIRECTS + 1):
        check_import_url(url, allow_private)
        try:
            with requests.get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise ValidationError(field_errors={"url": [
                        f"The server answered {response.status_code} for {url}."]})
                with open(target, "wb") as out:
                    for block in response.iter_content(COPY_BLOCK):
                        out.write(block)
                return target
        except requests.RequestException as error:
            raise ValidationError(field_errors={"url": [f"Could not download {url}: {error}"]}) from None
    raise ValidationError(field_errors={"url": ["Too many redirects."]})


def prepare_3d_of_completed_tasks(again=False):
    """Make the 3D files of the completed tasks that lack them (all of them, again): tasks extracted before Aerie
    had a 3D page. Their asset lists are refreshed (textured_model.glb may appear). [(task id, shown), ...]"""
    from webapp.extensions import db
    from webapp.models import Task, TaskStatus

    done = []
    for task in Task.query.filter(Task.status == TaskStatus.COMPLETED).order_by(Task.id).all():
        folder = storage.assets_dir(task.project_id, task.id)
        if not folder.is_dir() or (models3d.has_3d(folder) and not again):
            continue
        shown = models3d.prepare(folder) is not None
        task.available_assets = available_assets(folder)
        db.session.commit()
        done.append((task.id, shown))
    return done
