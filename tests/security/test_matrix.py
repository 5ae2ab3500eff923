"""The permission matrix: every route of the app, asked by every role, answers exactly the expected status.

Roles: the project's owner; users it is shared with for view, for change (view, add, change) and for delete
(view, delete); members of groups it is shared with at these levels (group_viewer, group_changer,
group_deleter: each the only member of its group, shared with nothing itself); a logged-in stranger; an
anonymous visitor; an administrator; and anonymous visitors of a public task (in a private project) and of a
public project. Each case acts on objects made for it alone, so a case that
deletes or changes something never affects another.

`test_every_route_is_in_the_matrix` fails for a new route that has no row here (or a commented exemption).
"""
import json
import re

import pytest

from tests.support.maps import lonlat_of_pixel, tile_and_pixel, write_orthophoto
from tests.support.models3d import write_point_cloud
from tests.support.web import free_port
from tests.support.factories import add_node, add_user
from tests.security.conftest import GROUP_SHARED, SHARED
from webapp import storage
from webapp.extensions import db
from webapp.models import Group, Preset, Project, ProjectGroupShare, ProjectShare, Task, TaskStatus
from webapp.services import assets, models3d, tokens

ROLES = ("owner", "viewer", "changer", "deleter", "group_viewer", "group_changer", "group_deleter", "stranger",
         "anonymous", "admin", "public_task", "public_project")
LOGIN = "login"  # expected: a redirect to the login page
ALLOWED = {"view": {"owner", "viewer", "changer", "deleter", "group_viewer", "group_changer", "group_deleter",
                    "admin"},
           "change": {"owner", "changer", "group_changer", "admin"},
           "delete": {"owner", "deleter", "group_deleter", "admin"}}
ANONYMOUS = {"anonymous", "public_task", "public_project"}
ZOOM = 18
TILE, _ = tile_and_pixel(*lonlat_of_pixel(256, 256), ZOOM)
ORTHOPHOTO = "odm_orthophoto/odm_orthophoto.tif"


def api(permission, ok=200, public_task=False, public_project=False, allowed_ok=None):
    """Expected statuses of an API route needing a project permission: 404 for a user without it, 403 anonymous."""
    expected = {}
    for role in ROLES:
        if role in ALLOWED[permission]:
            expected[role] = allowed_ok or ok
        elif role == "public_task" and public_task:
            expected[role] = ok
        elif role == "public_project" and public_project:
            expected[role] = ok
        else:
            expected[role] = 403 if role in ANONYMOUS else 404
    return expected


def page(permission, ok=200, public_task=False, public_project=False):
    """Expected statuses of a page needing a project permission: 404 for a user without it, login for visitors."""
    expected = api(permission, ok, public_task, public_project)
    return {role: LOGIN if code == 403 else code for role, code in expected.items()}


def everyone(logged_in, anonymous):
    """The same answer for every logged-in role, another for every anonymous one."""
    return {role: anonymous if role in ANONYMOUS else logged_in for role in ROLES}


def admin_only(ok, anonymous=LOGIN):
    """Administrators get ok, other users 403, visitors anonymous."""
    return {role: ok if role == "admin" else anonymous if role in ANONYMOUS else 403 for role in ROLES}


def own_only(ok, anonymous):
    """Something of the owner's own (a token, a preset): ok for them, 404 for everyone else, even administrators."""
    return {role: ok if role == "owner" else anonymous if role in ANONYMOUS else 404 for role in ROLES}


def all_roles(code):
    """The same answer for everyone."""
    return {role: code for role in ROLES}


PUBLIC_VIEW = dict(public_task=True, public_project=True)
TASK = "/api/projects/<int:project_id>/tasks/<int:task_id>"
PAGE_TASK = "/projects/<int:project_id>/tasks/<int:task_id>"

# (rule, method) -> (request body or None, expected status per role). Bodies of pages get the CSRF token added.
MATRIX = {
    # Pages
    ("/", "GET"): (None, everyone(200, LOGIN)),
    ("/account", "GET"): (None, everyone(200, LOGIN)),
    ("/api-docs", "GET"): (None, all_roles(200)),  # the reference of the API, public like /api/openapi.json
    ("/account/password", "GET"): (None, everyone(200, LOGIN)),
    ("/account/password", "POST"): ({"current_password": "x"}, everyone(200, LOGIN)),  # incomplete: shown again
    ("/account/tokens", "POST"): ({"name": "script"}, everyone(200, LOGIN)),
    ("/account/tokens/<int:token_id>/revoke", "POST"): ({}, own_only(302, LOGIN)),
    ("/admin/queues", "GET"): (None, admin_only(200)),
    ("/admin/queues/failed/<job_id>/delete", "POST"): ({}, admin_only(404)),  # no such job
    ("/admin/queues/failed/<job_id>/requeue", "POST"): ({}, admin_only(404)),
    ("/admin/groups", "GET"): (None, admin_only(200)),
    ("/admin/groups", "POST"): ({"name": ""}, admin_only(400)),  # no name: the form again
    ("/admin/groups/<int:group_id>", "GET"): (None, admin_only(200)),
    ("/admin/groups/<int:group_id>/delete", "POST"): ({}, admin_only(302)),
    ("/admin/groups/<int:group_id>/members", "POST"): ({"username": "stranger"}, admin_only(302)),
    ("/admin/groups/<int:group_id>/members/<int:user_id>/remove", "POST"): ({}, admin_only(302)),
    ("/admin/groups/<int:group_id>/rename", "POST"): ({"name": "Renamed <group_id>"}, admin_only(302)),
    ("/admin/users", "GET"): (None, admin_only(200)),
    ("/admin/users/<int:user_id>/disable", "POST"): ({}, admin_only(302)),
    ("/admin/users/<int:user_id>/enable", "POST"): ({}, admin_only(302)),
    ("/admin/users/<int:user_id>/make-admin", "POST"): ({}, admin_only(302)),
    ("/admin/users/<int:user_id>/revoke-admin", "POST"): ({}, admin_only(302)),
    ("/admin/users/<int:user_id>/password", "GET"): (None, admin_only(200)),
    ("/admin/users/<int:user_id>/password", "POST"): ({"new_password": "x"}, admin_only(400)),
    ("/admin/users/new", "GET"): (None, admin_only(200)),
    ("/admin/users/new", "POST"): ({"username": ""}, admin_only(200)),
    ("/login", "GET"): (None, everyone(302, 200)),
    ("/login", "POST"): ({"username": "nobody-page", "password": "wrong"}, everyone(302, 200)),
    ("/logout", "POST"): ({}, all_roles(302)),
    ("/setup", "GET"): (None, all_roles(302)),  # the administrator exists: setup is over
    ("/setup", "POST"): ({"username": "intruder", "password": "long-enough-pw", "confirm": "long-enough-pw"},
                         all_roles(302)),
    ("/nodes", "GET"): (None, everyone(200, LOGIN)),
    ("/nodes/<int:node_id>", "GET"): (None, everyone(200, LOGIN)),
    ("/nodes/<int:node_id>/edit", "GET"): (None, admin_only(200)),
    ("/nodes/<int:node_id>/edit", "POST"): ({"hostname": ""}, admin_only(400)),
    ("/nodes/<int:node_id>/refresh", "POST"): ({}, admin_only(302)),
    ("/nodes/<int:node_id>/remove", "POST"): ({}, admin_only(302)),
    ("/nodes/new", "GET"): (None, admin_only(200)),
    ("/nodes/new", "POST"): ({"hostname": ""}, admin_only(400)),
    ("/presets", "POST"): ({"name": "mine", "options": "[]"}, everyone(302, LOGIN)),
    ("/presets/<int:preset_id>/delete", "POST"): ({}, own_only(302, LOGIN)),
    ("/projects/new", "POST"): ({"name": "New"}, everyone(302, LOGIN)),
    # A member of a group the project is shared with cannot drop the group's access: told so (on the dashboard).
    ("/projects/<int:project_id>/delete", "POST"): ({}, page("delete", 302)),
    ("/projects/<int:project_id>/map", "GET"): (None, page("view", public_project=True)),
    ("/projects/<int:project_id>/settings", "GET"): (None, page("change")),
    ("/projects/<int:project_id>/settings", "POST"): ({"name": "Renamed", "description": ""}, page("change", 302)),
    ("/projects/<int:project_id>/sharing", "POST"): ({"username": "stranger", "level": "view"}, page("change", 302)),
    ("/projects/<int:project_id>/sharing/<username>", "POST"): ({"level": "change"}, page("change", 302)),
    ("/projects/<int:project_id>/sharing/<username>/remove", "POST"): ({}, page("change", 302)),
    ("/projects/<int:project_id>/sharing/groups", "POST"): ({"group": "<group_id>", "level": "view"},
                                                           page("change", 302)),
    ("/projects/<int:project_id>/sharing/groups/<int:group_id>", "POST"): ({"level": "change"}, page("change", 302)),
    ("/projects/<int:project_id>/sharing/groups/<int:group_id>/remove", "POST"): ({}, page("change", 302)),
    ("/projects/<int:project_id>/tasks/new", "GET"): (None, page("change")),
    ("/projects/<int:project_id>/tasks/new", "POST"): ({}, page("change", 400)),  # no images: the form again
    ("/projects/<int:project_id>/tasks/import", "GET"): (None, page("change")),
    ("/projects/<int:project_id>/tasks/import", "POST"): ({}, page("change", 400)),  # no zip: the form again
    (f"{PAGE_TASK}/", "GET"): (None, page("view")),  # a public task's page is its map; this one needs a login
    (f"{PAGE_TASK}/cancel", "POST"): ({}, page("change", 302)),
    (f"{PAGE_TASK}/edit", "POST"): ({"name": "Renamed"}, page("change", 302)),
    (f"{PAGE_TASK}/duplicate", "POST"): ({}, page("change", 302)),
    (f"{PAGE_TASK}/move", "POST"): ({}, page("change", 302)),  # no project chosen: back to the page
    (f"{PAGE_TASK}/public", "POST"): ({"public": "true"}, page("change", 302)),
    (f"{PAGE_TASK}/map", "GET"): (None, page("view", **PUBLIC_VIEW)),
    (f"{PAGE_TASK}/3d", "GET"): (None, page("view", **PUBLIC_VIEW)),
    (f"{PAGE_TASK}/remove", "POST"): ({}, page("delete", 302)),
    (f"{PAGE_TASK}/restart", "POST"): ({}, page("change", 302)),
    # API
    ("/api/openapi.json", "GET"): (None, all_roles(200)),
    (f"{TASK}/duplicate/", "POST"): ({}, api("change")),
    ("/api/groups/", "GET"): (None, everyone(200, 403)),
    ("/api/admin/groups/", "GET"): (None, admin_only(200, 403)),
    ("/api/admin/groups/", "POST"): ({"name": ""}, admin_only(400, 403)),
    ("/api/admin/groups/<int:group_id>/", "GET"): (None, admin_only(200, 403)),
    ("/api/admin/groups/<int:group_id>/", "PATCH"): ({"name": "Renamed <group_id>"}, admin_only(200, 403)),
    ("/api/admin/groups/<int:group_id>/", "PUT"): ({"name": "Renamed <group_id>"}, admin_only(200, 403)),
    ("/api/admin/groups/<int:group_id>/", "DELETE"): (None, admin_only(204, 403)),
    ("/api/presets/", "GET"): (None, everyone(200, 403)),
    ("/api/presets/", "POST"): ({"name": "mine", "options": "[]"}, everyone(201, 403)),
    # The owner's own preset: everyone else (administrators too) gets 404; tests/api/test_presets.py checks
    # that system presets are readable by all and changeable by none.
    ("/api/presets/<int:preset_id>/", "GET"): (None, own_only(200, 403)),
    ("/api/presets/<int:preset_id>/", "PATCH"): ({"name": "renamed"}, own_only(200, 403)),
    ("/api/presets/<int:preset_id>/", "PUT"): ({"name": "renamed"}, own_only(200, 403)),
    ("/api/presets/<int:preset_id>/", "DELETE"): (None, own_only(204, 403)),
    # An account per case: more than LOGIN_MAX_FAILURES_PER_ACCOUNT roles would meet the limiter's 429.
    ("/api/token-auth/", "POST"): ({"username": "nobody-api-<case>", "password": "wrong"}, all_roles(400)),
    ("/api/webhooks/task/<int:task_id>/<token>", "POST"): ({}, all_roles(404)),  # a wrong token
    ("/api/tokens/", "GET"): (None, everyone(200, 403)),
    ("/api/tokens/", "POST"): ({"name": "script"}, everyone(201, 403)),
    ("/api/tokens/<int:token_id>/", "DELETE"): (None, own_only(204, 403)),
    ("/api/processingnodes/", "GET"): (None, everyone(200, 403)),
    ("/api/processingnodes/", "POST"): ({"hostname": "", "port": ""}, admin_only(201, 403)),
    ("/api/processingnodes/options/", "GET"): (None, everyone(200, 403)),
    ("/api/processingnodes/<int:node_id>/", "GET"): (None, everyone(200, 403)),
    ("/api/processingnodes/<int:node_id>/", "PATCH"): ({"label": "renamed"}, admin_only(200, 403)),
    ("/api/processingnodes/<int:node_id>/", "PUT"): ({"label": "renamed"}, admin_only(200, 403)),
    ("/api/processingnodes/<int:node_id>/", "DELETE"): (None, admin_only(204, 403)),
    ("/api/projects/", "GET"): (None, everyone(200, 403)),
    ("/api/projects/", "POST"): ({"name": "New"}, everyone(201, 403)),
    ("/api/projects/<int:project_id>/", "GET"): (None, api("view", public_project=True)),
    ("/api/projects/<int:project_id>/", "PATCH"): ({"name": "Renamed"}, api("change")),
    ("/api/projects/<int:project_id>/", "PUT"): ({"name": "Renamed"}, api("change")),
    # A member of a group the project is shared with cannot drop the group's access: 400 that says who can.
    ("/api/projects/<int:project_id>/", "DELETE"): (None, {**api("delete", 204), "group_deleter": 400}),
    ("/api/projects/<int:project_id>/edit/", "POST"): ({"name": "Renamed"}, api("change")),
    ("/api/projects/<int:project_id>/permissions/", "GET"): (None, api("change")),
    ("/api/projects/<int:project_id>/tasks/", "GET"): (None, api("view", public_project=True)),
    ("/api/projects/<int:project_id>/tasks/", "POST"): ({"partial": "true"}, api("change", 201)),
    ("/api/projects/<int:project_id>/tasks/import/", "POST"): ({}, api("change", 400)),  # nothing to import
    (f"{TASK}/", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/", "PATCH"): ({"name": "Renamed"}, api("change")),
    (f"{TASK}/", "PUT"): ({"name": "Renamed"}, api("change")),
    (f"{TASK}/", "DELETE"): (None, api("delete", 204)),
    (f"{TASK}/<layer>/bounds", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/<layer>/tiles.json", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/<layer>/metadata", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/<layer>/tiles/<int:z>/<int:x>/<int:y>.<fmt>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/<layer>/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/tiles/<int:z>/<int:x>/<int:y>.<fmt>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/thumbnail.png", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/3d/<name>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/assets/<path:path>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/download/<asset>", "GET"): (None, api("view", **PUBLIC_VIEW)),
    (f"{TASK}/output/", "GET"): (None, api("view", public_project=True)),  # the console is not part of a public task
    (f"{TASK}/cancel/", "POST"): ({}, api("change")),
    (f"{TASK}/commit/", "POST"): ({}, api("change", 400)),  # the task is completed: nothing to commit
    (f"{TASK}/restart/", "POST"): ({}, api("change")),
    (f"{TASK}/upload/", "POST"): ({}, api("change", 400)),  # the task is completed: no more images
    (f"{TASK}/upload/", "GET"): ({}, api("change", 400)),  # the task is completed: no upload to resume
    (f"{TASK}/remove/", "POST"): ({}, api("delete")),
    # Map tools. The target task has no DSM: a valid volume request is refused (400) once the task is found.
    ("/api/plugins/measure/task/<int:task_id>/volume", "POST"): (
        {"area": json.dumps({"type": "Polygon", "coordinates": [[[15, 45], [15.001, 45], [15, 45.001], [15, 45]]]})},
        api("view", 400)),
    # No such job (real jobs of real tasks are checked role by role in tests/api/test_volumes.py).
    ("/api/plugins/measure/task/<int:task_id>/volume/get/<job_id>", "GET"): (None, everyone(404, 403)),
    (f"{TASK}/<asset_type>/export", "POST"): ({}, api("view")),  # a GeoTIFF as it is: the download URL at once
    (f"{TASK}/profile", "POST"): (  # the target task has no DEM: a valid line is refused (400) once it is found
        {"line": json.dumps({"type": "LineString", "coordinates": [[15, 45], [15.001, 45]]})},
        api("view", 400, **PUBLIC_VIEW)),
    # The target task has no DEM: the request is refused (400) once the task is found.
    ("/api/plugins/contours/task/<int:task_id>/contours/generate", "POST"): ({"layer": "DSM"}, api("view", 400)),
    ("/api/plugins/contours/task/<int:task_id>/contours/download/<job_id>", "GET"): (None, everyone(404, 403)),
    # The DSM difference of two tasks: <earlier_id> is the target task itself, which has no DSM either: refused
    # (400) once both are found (tests/api/test_differences.py checks tasks the caller may not view, role by role).
    (f"{TASK}/difference/<int:earlier_id>/tiles.json", "GET"): (None, api("view", 400, **PUBLIC_VIEW)),
    (f"{TASK}/difference/<int:earlier_id>/tiles/<int:z>/<int:x>/<int:y>.<fmt>", "GET"): (
        None, api("view", 400, **PUBLIC_VIEW)),
    (f"{TASK}/difference/<int:earlier_id>/tiles/<int:z>/<int:x>/<int:y>@<int:scale>x.<fmt>", "GET"): (
        None, api("view", 400, **PUBLIC_VIEW)),
    (f"{TASK}/difference/<int:earlier_id>/volume", "POST"): (  # for logged-in users, as the other volumes
        {"area": json.dumps({"type": "Polygon", "coordinates": [[[15, 45], [15.001, 45], [15, 45.001], [15, 45]]]})},
        api("view", 400)),
    # The target task keeps no photos: 404 once it is found (tests/api/test_photos.py checks real ones per role).
    (f"{TASK}/images/thumbnail/<path:filename>", "GET"): (None, api("view", 404)),  # anonymous: 403 for 404
    (f"{TASK}/images/download/<path:filename>", "GET"): (None, api("view", 404)),
    ("/api/workers/check/<job_id>", "GET"): (None, everyone(404, 403)),
    ("/api/workers/get/<job_id>", "GET"): (None, everyone(404, 403)),
}

# Routes outside the matrix, each with the reason.
EXEMPT = {
    # Our own CSS and scripts, public by nature; path traversal on them is tested in test_traversal.py.
    ("/static/<path:filename>", "GET"),
    # Third-party front-end files from pip packages, public by nature; traversal tested in test_traversal.py.
    ("/vendor/<library>/<path:filename>", "GET"),
}


def _routes(app):
    """Every (rule, method) the app serves, HEAD and OPTIONS aside (Flask adds them to every GET route)."""
    return {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods
            if method not in ("HEAD", "OPTIONS")}


def test_every_route_is_in_the_matrix(secure_app):
    """A route without a row (or an exemption) fails here, and so does a row for a route that is gone."""
    routes = _routes(secure_app)
    covered = set(MATRIX) | EXEMPT
    assert sorted(routes - covered) == [], "routes with no row in the permission matrix"
    assert sorted(covered - routes) == [], "rows of the matrix for routes the app does not serve"


def _new_target(people, kind, owner="owner", with_3d=False):
    """A project of owner shared with viewer, changer and deleter and with the groups of the group_ roles, with a
    completed task holding an orthophoto (and, with_3d, a small point cloud, prepared for its 3D page: 25 ms, so
    only for the 3D routes).

    kind: "private", "public_task" (the task is public, its project is not) or "public_project".
    """
    users = {name: person.user for name, person in people.items()}
    # Everything in one commit (flushes give the ids): a commit costs about 15 ms, and a case makes 12 targets.
    project = Project(owner_id=users[owner].id, name="Target", public=kind == "public_project")
    db.session.add(project)
    db.session.flush()
    db.session.add_all([ProjectShare(project_id=project.id, user_id=users[name].id, can_view=True, **flags)
                        for name, flags in SHARED.items()])
    db.session.add_all([ProjectGroupShare(project_id=project.id, group_id=people[name].group.id, can_view=True,
                                          **flags) for name, flags in GROUP_SHARED.items()])
    task = Task(project_id=project.id, name="target", status=TaskStatus.COMPLETED, public=kind == "public_task")
    db.session.add(task)
    db.session.flush()
    folder = storage.assets_dir(project.id, task.id)
    write_orthophoto(folder / ORTHOPHOTO)
    if with_3d:
        write_point_cloud(folder / models3d.POINT_CLOUD, points_per_side=4)
        assert models3d.prepare(folder) is not None
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return project, task


def _values(people, role, counter, with_3d=False):
    """The value of every placeholder of the rules, for objects made for this one request."""
    kind = role if role in ("public_task", "public_project") else "private"
    project, task = _new_target(people, kind, with_3d=with_3d)
    owner = people["owner"].user
    counter[0] += 1
    other = add_user(f"target{counter[0]}", admin=True)  # admin: so that revoke-admin has a role to revoke
    token, _ = tokens.create_api_token(owner, "target")
    preset = Preset(owner_id=owner.id, name=f"preset{counter[0]}", options=[])
    group = Group(name=f"team{counter[0]}", members=[other])  # other: a member to remove
    db.session.add_all([preset, group])
    db.session.commit()
    node = add_node(hostname=_loopback(counter[0]), port=free_port(), label="target node")
    return {"project_id": project.id, "task_id": task.id, "token_id": token.id, "user_id": other.id,
            "earlier_id": task.id, "group_id": group.id, "case": counter[0],
            "node_id": node.id, "preset_id": preset.id, "job_id": "no-such-job", "username": "viewer",
            "token": "wrong-token", "layer": "orthophoto", "z": ZOOM, "x": TILE.x, "y": TILE.y, "scale": 2,
            "fmt": "png", "path": ORTHOPHOTO, "asset": "orthophoto.tif",
            "asset_type": "orthophoto", "filename": "DJI_0000.JPG", "name": "points.bin"}


def _loopback(number):
    """A distinct loopback address per number (nodes are unique per address; nothing listens there)."""
    return f"127.0.{number // 250}.{number % 250 + 1}"


def _url(rule, values):
    """The rule with its placeholders filled in."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), rule)


def _ask(person, method, url, body):
    """Send one request as person: the API with the person's JWT, pages with the session and its CSRF token."""
    if url == "/logout":  # logging out ends the session: use a new one, not the one the other cases share
        person = person.again()
    if url.startswith("/api/"):
        if body and "port" in body:  # a new address where nothing listens: the first refresh fails at once
            body = {**body, "hostname": _loopback(10000 + free_port()), "port": free_port()}
        return person.client.open(url, method=method, headers=person.api_headers, data=body)
    data = None if body is None else {**body, "csrf_token": person.csrf}
    return person.client.open(url, method=method, data=data)


def _matches(expected, response):
    """Whether a response is the expected status (or a redirect to the login page)."""
    if expected == LOGIN:
        return response.status_code == 302 and response.headers["Location"].startswith("/login")
    return response.status_code == expected


@pytest.mark.parametrize("rule, method", sorted(MATRIX), ids=[f"{m} {r}" for r, m in sorted(MATRIX)])
def test_permission_matrix(secure_app, people, rule, method):
    """Every role gets exactly the expected status from this route."""
    body, expected = MATRIX[(rule, method)]
    counter = [secure_app.config.setdefault("MATRIX_COUNTER", 0)]
    wrong = []
    for role in ROLES:
        person = people["anonymous" if role in ANONYMOUS else role]
        values = _values(people, role, counter, with_3d="/3d" in rule)
        url = _url(rule, values)
        response = _ask(person, method, url, body and {key: _url(str(value), values) for key, value in body.items()})
        if not _matches(expected[role], response):
            wrong.append(f"{role}: expected {expected[role]}, got {response.status_code} "
                         f"{response.headers.get('Location', '')} {response.get_data(as_text=True)[:120]!r}")
    secure_app.config["MATRIX_COUNTER"] = counter[0]
    assert not wrong, f"{method} {rule}:\n" + "\n".join(wrong)
