"""Configuration, read once from the environment. Every default is an environment variable away from production."""
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env_int(name, default):
    """An integer setting from the environment."""
    return int(os.environ.get(name, default))


# The map's base layers: OpenStreetMap first (the default), then satellite imagery. BASEMAPS replaces the list
# with a JSON array of {"name", "url" (an XYZ template), "attribution"}; "[]" shows no base layer.
DEFAULT_BASEMAPS = [
    {"name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     "attribution": "&copy; OpenStreetMap contributors"},
    {"name": "Satellite", "url": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/"
                                 "{z}/{y}/{x}",
     "attribution": "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community"},
]


def _basemaps(text):
    """The base layers from BASEMAPS (JSON), or the defaults; a malformed value stops the start with its reason."""
    if text is None:
        return DEFAULT_BASEMAPS
    layers = json.loads(text)
    if not isinstance(layers, list) or not all(
            isinstance(layer, dict) and isinstance(layer.get("name"), str) and isinstance(layer.get("url"), str)
            for layer in layers):
        raise ValueError('BASEMAPS must be a JSON array of {"name", "url", "attribution"} objects')
    return layers


class Config:
    """Settings for a running Aerie, each overridable by the environment variable of the same name."""

    INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", ROOT / "instance"))
    SECRET_KEY = os.environ.get("SECRET_KEY")  # None: create_app makes and keeps one in INSTANCE_DIR
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'aerie.sqlite'}")
    REDIS_URL = os.environ.get("REDIS_URL")  # None: the embedded Redis server of `make run`
    MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", INSTANCE_DIR / "media"))
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "aerie")
    # Seconds between two runs of the reconciler, which re-derives all pending work from the database.
    SCHEDULER_INTERVAL = float(os.environ.get("SCHEDULER_INTERVAL", 10))
    NODE_REFRESH_SECONDS = _env_int("NODE_REFRESH_SECONDS", 30)
    NODE_OFFLINE_SECONDS = _env_int("NODE_OFFLINE_SECONDS", 300)
    # The processing pipeline: how long a node may fail to answer before its task fails; the timeout of one request
    # to a node; the TTL of a task's lock (a dead worker's lock frees itself after this); the address nodes call back
    # when a task ends (empty: no webhook, polling alone).
    NODE_GRACE_SECONDS = _env_int("NODE_GRACE_SECONDS", 600)
    NODE_TIMEOUT_SECONDS = _env_int("NODE_TIMEOUT_SECONDS", 30)
    TASK_LOCK_SECONDS = _env_int("TASK_LOCK_SECONDS", 30)
    WEBHOOK_BASE_URL = os.environ.get("WEBHOOK_BASE_URL", "")
    JWT_EXPIRATION_SECONDS = _env_int("JWT_EXPIRATION_SECONDS", 6 * 3600)
    # The longest a signed tile URL from TileJSON lets its tiles in without asking the database (see
    # webapp/services/tile_links.py): a revoked share still sees tiles through links it holds for at most this.
    TILE_LINK_SECONDS = _env_int("TILE_LINK_SECONDS", 600)
    # Failed logins allowed per account and per address within the window, before 429 / a form message.
    LOGIN_MAX_FAILURES_PER_ACCOUNT = _env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 10)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
    LOGIN_FAILURE_WINDOW_SECONDS = _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
    # Imports by URL may not reach loopback or private addresses (SSRF) unless this lists networks ("10.0.0.0/8,...").
    IMPORT_ALLOW_PRIVATE = [net.strip() for net in os.environ.get("IMPORT_ALLOW_PRIVATE", "").split(",") if net.strip()]
    MAX_CONTENT_LENGTH = _env_int("MAX_UPLOAD_BYTES", 0) or None  # None: no limit on request size
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session, so a long upload never goes stale
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # What `make run` (flask run-all) starts; every port and folder can be moved so two instances run side by side.
    HOST = os.environ.get("HOST", "127.0.0.1")
    PORT = _env_int("PORT", 8000)
    WEB_WORKERS = _env_int("WEB_WORKERS", 2)
    WORKERS = _env_int("WORKERS", 2)
    REDIS_PORT = _env_int("REDIS_PORT", 6479)  # the embedded Redis server, when REDIS_URL is unset
    LOCALNODE_ENABLED = os.environ.get("LOCALNODE_ENABLED", "1") not in ("0", "false", "no")
    LOCALNODE_PORT = _env_int("LOCALNODE_PORT", 3001)
    LOCALNODE_TOKEN = os.environ.get("LOCALNODE_TOKEN", "")
    LOCALNODE_DATA = Path(os.environ.get("LOCALNODE_DATA", INSTANCE_DIR / "localnode"))
    LOCALNODE_PARALLEL = _env_int("LOCALNODE_PARALLEL", 1)
    BASEMAPS = _basemaps(os.environ.get("BASEMAPS"))


class TestConfig(Config):
    """Settings for tests: everything under one temporary folder; Redis is given by the test session."""

    __test__ = False  # not a test class, despite its name
    TESTING = True
    SECRET_KEY = "test-secret"
    BASEMAPS = []  # tests run without internet: no base layer unless a test gives one

    def __init__(self, instance_dir, redis_url=None, **overrides):
        self.INSTANCE_DIR = Path(instance_dir)
        self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{self.INSTANCE_DIR / 'aerie.sqlite'}"
        self.MEDIA_ROOT = self.INSTANCE_DIR / "media"
        self.REDIS_URL = redis_url
        for key, value in overrides.items():
            setattr(self, key, value)
