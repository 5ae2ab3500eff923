"""The Aerie web app: create_app builds it from a configuration."""
import logging
import secrets
from pathlib import Path

from flask import Flask

from webapp.config import ROOT, Config
from webapp.extensions import csrf, db, login_manager, migrate
from webapp.sqlite import tune_sqlite
from webapp.upload_spool import BufferedRequestBody, MediaSpooledRequest


def _secret_key(instance_dir):
    """A secret key kept in the instance folder, made on first start, so sessions survive restarts."""
    path = Path(instance_dir) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config=None):
    """Build the app: configuration, extensions, blueprints, error handlers and CLI commands."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_object(config or Config())
    app.request_class = MediaSpooledRequest  # big uploads land beside the media: stored by a link, not a copy
    instance_dir = Path(app.config["INSTANCE_DIR"])
    instance_dir.mkdir(parents=True, exist_ok=True)
    Path(app.config["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database file never drops a connection: no "SELECT 1" before each checkout (a quarter of the statements
        # of a short API request). A server database keeps the ping, which outlives its restarts.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            tune_sqlite(engine)  # WAL, busy timeout, BEGIN IMMEDIATE (webapp/sqlite.py)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    from webapp import models  # noqa: F401  (registers the models with SQLAlchemy)
    from webapp.api import register_api
    from webapp.cli import register_commands
    from webapp.connections import keep_connection_usable
    from webapp.errors import register_error_handlers
    from webapp.security import register_security_headers, register_url_converters
    from webapp.views import register_views

    register_url_converters(app)
    register_views(app)
    register_api(app)
    register_error_handlers(app)
    register_commands(app)
    register_security_headers(app)
    app.after_request(keep_connection_usable)  # a refused upload must not break the client's next request
    from webapp.api.tile_fast_path import TileFastPath
    app.wsgi_app = TileFastPath(app)  # cached tiles of signed tile URLs skip Flask's session and the database
    app.wsgi_app = BufferedRequestBody(app.wsgi_app)  # big bodies taken from the server 1 MB at a time
    return app
