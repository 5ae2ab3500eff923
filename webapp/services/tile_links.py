"""Signed tile links: the tile URLs TileJSON hands out carry `sig=`, an HMAC over the task, the layer and an
expiry, made with the app's SECRET_KEY. A tile request with a valid signature is let in without the database
(the caller was checked when TileJSON was asked for); an expired or wrong one falls back to the normal check.

Whoever holds a signed link sees that layer's tiles until the expiry, even if the task is made private or the
share revoked in the meantime: links live at most TILE_LINK_SECONDS (README, "The map and its tools").
"""
import base64
import hashlib
import hmac
import time
from typing import NamedTuple

PARAMETER = "sig"
MAC_BYTES = 16  # 128 bits: forging one is out of reach, and the URL stays short
ENVIRON_KEY = "aerie.tile_grant"  # where the fast path leaves a checked TileGrant for the Flask route (WSGI environ)


class TileGrant(NamedTuple):
    """What a valid signature lets in: one task's layer; public says whether shared caches may keep its tiles."""

    project_id: int
    task_id: int
    public: bool


def link_key(secret_key):
    """The signing key: derived from SECRET_KEY so that it signs tile links only."""
    return hashlib.sha256(b"aerie-tile-links:" + secret_key.encode()).digest()


def _mac(key, project_id, task_id, layer, expires, public):
    """The signature's MAC, base64url without padding."""
    message = f"{int(project_id)}/{int(task_id)}/{layer}/{expires}/{int(public)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def expiry(lifetime, now=None):
    """When a link handed out now expires: between lifetime/2 and lifetime ahead, on a lifetime/2 step, so that
    links handed out within one step are the same URL (browsers keep their cached tiles across page loads)."""
    now = time.time() if now is None else now
    step = max(1, lifetime // 2)
    return (int(now) // step + 2) * step


def sign(key, project_id, task_id, layer, public, expires):
    """The `sig` value of a link to a task's layer, valid until `expires` (Unix seconds)."""
    return f"{expires}-{int(bool(public))}-{_mac(key, project_id, task_id, layer, expires, bool(public))}"


def check(key, signature, project_id, task_id, layer, now=None):
    """The TileGrant a `sig` value gives for this task's layer, or None (malformed, wrong, or expired)."""
    try:
        expires_text, public_text, mac = signature.split("-", 2)
        expires = int(expires_text)
    except (AttributeError, ValueError):
        return None
    if public_text not in ("0", "1") or expires < (time.time() if now is None else now):
        return None
    expected = _mac(key, project_id, task_id, layer, expires, public_text == "1")
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    return TileGrant(int(project_id), int(task_id), public_text == "1")
