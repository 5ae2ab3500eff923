"""Signed tile URLs from TileJSON: they open their own task's layer without credentials, a tile through them (cached
or rendered) touches neither Flask's request handling, the session nor the database, and a wrong, foreign or expired
signature falls back to the normal permission check. JWT and session callers keep working without them
(test_tiles.py)."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import request_started
from sqlalchemy import event

from tests.api.conftest import PASSWORD
from tests.support import maps
from tests.support.web import auth
from webapp.extensions import db
from webapp.models import ProjectShare
from webapp.services import tile_links


@pytest.fixture
def task(project):
    """A completed private task with an orthophoto and a DSM."""
    return maps.completed_task(project, shots=False)


def tilejson(client, task, user, layer="orthophoto"):
    """The layer's TileJSON as user sees it."""
    response = client.get(f"/api/projects/{task.project_id}/tasks/{task.id}/{layer}/tiles.json", headers=auth(user))
    assert response.status_code == 200, response.data[:200]
    return response.json


def tile_path(document, layer="orthophoto"):
    """A tile with data at the layer's native maximum zoom, as a path with the template's query (its signature)."""
    parts = urlsplit(document["tiles"][0])
    lon, lat = maps.lonlat_of_pixel(200, 200, pixel=maps.PIXEL if layer == "orthophoto" else maps.DSM_PIXEL)
    tile, _ = maps.tile_and_pixel(lon, lat, document["maxzoom"] - 3)
    path = parts.path.replace("{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
    return f"{path}?{parts.query}"


def signature(path):
    """The sig parameter of a path."""
    return parse_qs(urlsplit(path).query)["sig"][0]


def with_signature(path, sig):
    """The path with another sig value."""
    return path.replace(signature(path), sig)


class Watch:
    """Counts SQL statements and Flask requests while it is open (real listeners on the real app)."""

    def __init__(self, app):
        self.app, self.statements, self.flask_requests = app, 0, 0

    def _statement(self, *args):
        self.statements += 1

    def _request(self, sender, **extra):
        self.flask_requests += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._statement)
        request_started.connect(self._request, self.app)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._statement)
        request_started.disconnect(self._request, self.app)


def test_tilejson_hands_out_signed_urls_that_open_tiles_without_credentials(client, users, task):
    path = tile_path(tilejson(client, task, users["viewer"]))
    plain = path.split("?")[0]
    with_jwt = client.get(plain, headers=auth(users["owner"]))
    assert with_jwt.status_code == 200
    cold = client.get(path)  # no credentials at all; the JWT request above cached the tile
    assert cold.status_code == 200 and cold.data == with_jwt.data
    assert cold.headers["ETag"] == with_jwt.headers["ETag"]
    assert "private" in cold.headers["Cache-Control"] and "max-age=60" in cold.headers["Cache-Control"]
    assert cold.headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in cold.headers[
        "Content-Security-Policy"]
    assert client.get(path, headers={"If-None-Match": cold.headers["ETag"]}).status_code == 304
    # The signature lasts at most TILE_LINK_SECONDS (and at least half of it).
    expires = int(signature(path).split("-", 2)[0])
    lifetime = client.application.config["TILE_LINK_SECONDS"]
    assert time.time() + lifetime / 2 - 1 <= expires <= time.time() + lifetime


def test_a_signed_tile_touches_neither_flask_the_session_nor_the_database(app, client, login, users, task):
    login("owner", PASSWORD)  # the browser's case: the session cookie comes along with every tile
    path = tile_path(tilejson(client, task, users["owner"]))
    with Watch(app) as cold:
        first = client.get(path)
    assert first.status_code == 200
    assert cold.statements == 0 and cold.flask_requests == 0  # rendered into the cache without Flask
    with Watch(app) as cached:
        again = client.get(path)
        not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data) == (200, first.data) and not_modified.status_code == 304
    assert cached.statements == 0 and cached.flask_requests == 0
    assert "Set-Cookie" not in again.headers and "Vary" not in again.headers


def test_a_signed_tile_the_service_refuses_gets_the_routes_answer_still_without_the_database(app, client, users,
                                                                                            task):
    path = tile_path(tilejson(client, task, users["owner"], "dsm"), "dsm")
    parts = urlsplit(path)
    outside = f"{parts.path.rsplit('/', 2)[0]}/0/0.png?{parts.query}"  # the tile x = y = 0: far from the raster
    with Watch(app) as watch:
        bad_colour_map = client.get(f"{path}&color_map=no-such-map")
        far_away = client.get(outside)
    assert bad_colour_map.status_code == 400 and "no-such-map" in bad_colour_map.get_data(as_text=True)
    assert far_away.status_code == 404
    assert watch.flask_requests == 2 and watch.statements == 0  # the route answered, with the checked signature


def test_a_signature_opens_only_its_own_task_and_layer(client, users, project, task):
    other = maps.completed_task(project, name="other", shots=False)
    own = tile_path(tilejson(client, task, users["owner"]))
    theirs = tile_path(tilejson(client, other, users["owner"]))
    assert client.get(theirs).status_code == 200  # now in the cache: only the signature stands in the way
    borrowed = with_signature(theirs, signature(own))
    assert client.get(borrowed).status_code == 403  # anonymous after the fallback
    assert client.get(borrowed, headers=auth(users["stranger"])).status_code == 404
    assert client.get(borrowed, headers=auth(users["owner"])).status_code == 200  # the normal check lets the owner in
    other_layer = tile_path(tilejson(client, task, users["owner"], "dsm"), "dsm")
    assert client.get(other_layer).status_code == 200
    assert client.get(with_signature(other_layer, signature(own))).status_code == 403
    other_project = own.replace(f"/projects/{task.project_id}/", f"/projects/{task.project_id + 1}/")
    assert client.get(other_project).status_code == 403
    expires, public, mac = signature(own).split("-", 2)
    for forged in (f"{expires}-1-{mac}", f"{int(expires) + 600}-{public}-{mac}", f"{expires}-{public}-{'A' * 22}",
                   "garbage", ""):
        assert client.get(with_signature(own, forged)).status_code == 403, forged


def test_an_expired_signature_falls_back_to_the_normal_check(app, client, users, task):
    path = tile_path(tilejson(client, task, users["owner"]))
    assert client.get(path).status_code == 200  # cached
    key = tile_links.link_key(app.config["SECRET_KEY"])
    expired = with_signature(path, tile_links.sign(key, task.project_id, task.id, "orthophoto", False,
                                                   int(time.time()) - 1))
    assert client.get(expired).status_code == 403
    assert client.get(expired, headers=auth(users["stranger"])).status_code == 404
    assert client.get(expired, headers=auth(users["viewer"])).status_code == 200


def test_a_revoked_share_keeps_the_links_it_holds_until_they_expire(client, users, project, task):
    path = tile_path(tilejson(client, task, users["viewer"]))
    ProjectShare.query.filter_by(project_id=project.id, user_id=users["viewer"].id).delete()
    db.session.commit()
    assert client.get(path.split("?")[0], headers=auth(users["viewer"])).status_code == 404
    assert client.get(path, headers=auth(users["viewer"])).status_code == 200  # the documented window
    assert client.get(f"/api/projects/{project.id}/tasks/{task.id}/orthophoto/tiles.json",
                      headers=auth(users["viewer"])).status_code == 404  # and no new link


def test_links_of_a_public_task_let_shared_caches_keep_its_tiles(client, users, task):
    task.public = True
    db.session.commit()
    path = tile_path(tilejson(client, task, users["stranger"]))
    for _ in ("cold", "cached"):
        response = client.get(path)
        assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
