"""The signed tile's fast path: a WSGI layer in front of Flask that answers a signed tile URL (from TileJSON) from
the tile cache, or renders it into the cache, before any session, user or database is touched.

A map shows hundreds of tiles a minute: through Flask each one paid for the caller's user and the task from the
database (about three quarters of a cached tile's time), and for Flask's request handling (a third of a tile
rendered from the map's copy of the raster). Here a tile request whose `sig` is valid for its task and layer
(webapp.services.tile_links) is answered at once, with the same ETag, Cache-Control and security headers as the
Flask route. Everything else goes to Flask untouched: no signature, a wrong or expired one (the normal permission
check then decides), and anything the tile service refuses or fails on (a bad parameter, a tile outside the
raster, a missing raster), which the route answers with its 400 or 404 (the checked signature rides along, so the
route needs no database either).
"""
import re
from urllib.parse import parse_qsl

from werkzeug.http import is_resource_modified

from webapp import storage
from webapp.api.tiles import MAX_AGE, tile_style
from webapp.security import SECURITY_HEADERS
from webapp.services import tile_links, tiles

# The tile routes of webapp.api.tiles: {layer}/tiles/z/x/y[@Nx].fmt, and the older tiles/z/x/y[@Nx].fmt.
TILE_PATH = re.compile(r"/api/projects/(?P<project>\d{1,10})/tasks/(?P<task>\d{1,10})/(?:(?P<layer>[\w-]+)/)?"
                       r"tiles/(?P<z>\d{1,2})/(?P<x>\d{1,10})/(?P<y>\d{1,10})(?:@(?P<scale>\d)x)?\.(?P<fmt>\w+)")


class TileFastPath:
    """WSGI middleware: tiles of signed tile URLs from the tile cache (rendered into it first if need be), the rest
    to the Flask app."""

    def __init__(self, app):
        self.flask_app = app
        self.next_app = app.wsgi_app
        self.key = tile_links.link_key(app.config["SECRET_KEY"])
        self.folders = {}  # (project id, task id) -> (tile cache folder, assets folder): paths cost to build

    def __call__(self, environ, start_response):
        """Answer a signed tile, else pass the request on."""
        if environ.get("REQUEST_METHOD") == "GET" and tile_links.PARAMETER in environ.get("QUERY_STRING", "") \
                and _has_no_body(environ):
            match = TILE_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = self._signed_tile(environ, match)
                if answer is not None:
                    return answer(start_response)
        return self.next_app(environ, start_response)

    def _signed_tile(self, environ, match):
        """An answer for a tile the signature lets in, from the cache or rendered into it; None for the route to
        answer (noting a valid signature for it)."""
        args = {}
        for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            args.setdefault(name, value)  # the first value of each, as Flask's request.args.get
        layer = match["layer"] or "orthophoto"
        grant = tile_links.check(self.key, args.get(tile_links.PARAMETER), match["project"], match["task"], layer)
        if grant is None:
            return None
        environ[tile_links.ENVIRON_KEY] = grant
        try:
            tile = tiles.cached_tile(*self._task_folders(grant.project_id, grant.task_id), layer, int(match["z"]),
                                     int(match["x"]), int(match["y"]), int(match["scale"] or 1), match["fmt"],
                                     style=tile_style(args))
        except Exception:  # a bad parameter, no such tile, a missing raster, anything odd: the route answers it
            return None
        return _answer(environ, tile, grant.public)

    def _task_folders(self, project_id, task_id):
        """The task's tile cache and assets folders, as webapp.storage names them under the app's MEDIA_ROOT."""
        key = (project_id, task_id)
        folders = self.folders.get(key)
        if folders is None:
            if len(self.folders) > 10_000:
                self.folders.clear()
            with self.flask_app.app_context():
                folders = (storage.cache_dir(project_id, task_id, "tiles"), storage.assets_dir(project_id, task_id))
            self.folders[key] = folders
        return folders


def _has_no_body(environ):
    """Whether the request came without a body (one with a body goes to Flask, which drains it)."""
    return environ.get("CONTENT_LENGTH") in (None, "", "0") and "HTTP_TRANSFER_ENCODING" not in environ


def _answer(environ, tile, public):
    """The 200 (or 304 for a matching If-None-Match) a start_response gets, as the Flask route makes it."""
    etag = f'"{tile.etag}"'
    headers = [("ETag", etag), ("Cache-Control", f"{'public' if public else 'private'}, max-age={MAX_AGE}"),
               *SECURITY_HEADERS.items()]
    if not is_resource_modified(environ, etag=tile.etag):
        return lambda start_response: _send(start_response, "304 NOT MODIFIED", headers, b"")
    headers += [("Content-Type", tile.media_type), ("Content-Length", str(len(tile.content)))]
    return lambda start_response: _send(start_response, "200 OK", headers, tile.content)


def _send(start_response, status, headers, body):
    """Start the response and return its body."""
    start_response(status, headers)
    return [body]
