"""Fetch one npm package's tarball from the npm registry, check its pinned integrity, unpack the files asked for.

No Node.js needed: the registry serves every version as a .tgz whose sha512 (the `integrity` of package-lock
files) is pinned in the Makefile. Only the listed files are unpacked, into a folder that git ignores.

    python tools/fetch_npm_package.py NAME VERSION sha512-BASE64 DEST FILE...
"""
import base64
import hashlib
import io
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path, PurePosixPath

REGISTRY = "https://registry.npmjs.org"
TIMEOUT = 120


def tarball_url(name, version):
    """The registry's address of a package version's tarball."""
    return f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def check_integrity(data, integrity):
    """Raise SystemExit unless data has the pinned sha512 integrity (npm's `sha512-<base64>`)."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"only sha512 integrities are supported, not {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"integrity mismatch: expected sha512-{expected}, got sha512-{actual}")


def unpack(data, files, dest):
    """Write the tarball's package/<file> entries for each listed file into dest; every one must be there."""
    wanted = {f"package/{name}": name for name in files}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            relative = wanted.pop(member.name, None)
            if relative is None or not member.isfile():
                continue
            target = dest / PurePosixPath(relative)
            if ".." in PurePosixPath(relative).parts:
                raise SystemExit(f"refusing a path that leaves {dest}: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.extractfile(member).read())
    if wanted:
        raise SystemExit(f"missing from the package: {', '.join(sorted(wanted.values()))}")


def main(argv):
    """Download, check and unpack; DEST is replaced as a whole, with a marker file .version-VERSION in it."""
    name, version, integrity, dest, *files = argv
    url = tarball_url(name, version)
    print(f"fetching {url}")
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        data = response.read()
    check_integrity(data, integrity)
    dest = Path(dest)
    staging = dest.with_name(f".{dest.name}.fetching")
    shutil.rmtree(staging, ignore_errors=True)
    unpack(data, files, staging)
    (staging / f".version-{version}").write_text(f"{name}@{version} {integrity}\n")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    print(f"{name}@{version}: {len(files)} files in {dest}")


if __name__ == "__main__":
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
