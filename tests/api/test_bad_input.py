"""Bodies of the wrong shape or types get a JSON 400 on every writing endpoint, never a server error."""
import pytest

from tests.support.factories import add_node, add_task
from tests.support.web import auth

from webapp.extensions import db
from webapp.models import Project, TaskStatus

ODD_VALUES = [None, 7, 1.5, True, [], {}, ["x"], {"a": 1}]


@pytest.fixture
def targets(users, project):
    """A task and a node to aim at."""
    task = add_task(project, name="kept", status=TaskStatus.FAILED)
    node = add_node(hostname="n.example")
    return {"p": project.id, "t": task.id, "n": node.id}


ENDPOINTS = [
    ("post", "/api/token-auth/", ["username", "password"], "anyone"),
    ("post", "/api/tokens/", ["name"], "owner"),
    ("post", "/api/projects/", ["name", "description"], "owner"),
    ("patch", "/api/projects/{p}/", ["name", "description", "public"], "owner"),
    ("post", "/api/projects/{p}/edit/", ["name", "description", "permissions"], "owner"),
    ("post", "/api/projects/{p}/tasks/", ["name", "options", "processing_node", "auto_processing_node", "partial"],
     "owner"),
    ("patch", "/api/projects/{p}/tasks/{t}/", ["name", "options", "processing_node", "auto_processing_node",
                                               "public"], "owner"),
    ("post", "/api/projects/{p}/tasks/{t}/restart/", ["options"], "owner"),
    ("post", "/api/projects/{p}/tasks/import", ["url", "name"], "owner"),
    ("post", "/api/processingnodes/", ["hostname", "port", "token", "label"], "admin"),
    ("patch", "/api/processingnodes/{n}/", ["hostname", "port", "token", "label"], "admin"),
]


@pytest.mark.parametrize("method, path, fields, who", ENDPOINTS)
def test_odd_json_values_are_answered_without_a_server_error(client, users, targets, method, path, fields, who):
    headers = auth(users[who]) if who != "anyone" else {}
    url = path.format(**targets)
    for field in fields:
        for value in ODD_VALUES:
            response = getattr(client, method)(url, json={field: value}, headers=headers)
            assert response.status_code < 500, (field, value, response.get_data(as_text=True))
            assert response.is_json, (field, value)
    for body in ("[1, 2]", '"text"', "{broken"):
        response = getattr(client, method)(url, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400 and "detail" in response.json


def test_odd_values_left_the_stored_objects_readable(client, users, targets):
    for value in ODD_VALUES:
        client.patch(f"/api/projects/{targets['p']}/tasks/{targets['t']}/", json={"options": value},
                     headers=auth(users["owner"]))
    task = client.get(f"/api/projects/{targets['p']}/tasks/{targets['t']}/", headers=auth(users["owner"])).json
    assert isinstance(task["options"], list)
    assert db.session.get(Project, targets["p"]) is not None
