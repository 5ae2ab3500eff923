"""The Makefile's npm fetcher (tools/fetch_npm_package.py), on a tarball made here: the pinned integrity is checked
before anything is unpacked, only the listed files are written, and a listed file missing from the package fails."""
import base64
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "fetch_npm_package.py"
spec = importlib.util.spec_from_file_location("fetch_npm_package", SCRIPT)
fetcher = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetcher)


def tarball(files):
    """A .tgz as the npm registry serves it: every file under package/."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data):
    """npm's integrity string of some bytes."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_the_pinned_integrity_is_checked():
    data = tarball({"LICENSE": b"MIT"})
    fetcher.check_integrity(data, integrity(data))
    with pytest.raises(SystemExit, match="integrity mismatch"):
        fetcher.check_integrity(data + b"tampered", integrity(data))
    with pytest.raises(SystemExit, match="only sha512"):
        fetcher.check_integrity(data, "sha1-abc")


def test_only_the_listed_files_are_unpacked(tmp_path):
    data = tarball({"LICENSE": b"MIT", "build/three.module.js": b"export {};", "src/other.js": b"x"})
    fetcher.unpack(data, ["LICENSE", "build/three.module.js"], tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "LICENSE", "build/three.module.js"]
    assert (tmp_path / "build" / "three.module.js").read_bytes() == b"export {};"


def test_a_listed_file_missing_from_the_package_fails(tmp_path):
    with pytest.raises(SystemExit, match="missing from the package: build/gone.js"):
        fetcher.unpack(tarball({"LICENSE": b"MIT"}), ["LICENSE", "build/gone.js"], tmp_path)


def test_the_registry_address_of_a_tarball():
    assert fetcher.tarball_url("three", "0.187.0") == "https://registry.npmjs.org/three/-/three-0.187.0.tgz"
    assert fetcher.tarball_url("@scope/lib", "1.0.0") == "https://registry.npmjs.org/@scope/lib/-/lib-1.0.0.tgz"
