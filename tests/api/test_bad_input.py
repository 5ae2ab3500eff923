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


@pytest.mark.parametrize("value", [["a", "b"], {"a": 1}, True])
def test_a_name_that_is_not_text_is_refused_and_nothing_changes(client, users, targets, value):
    owner = auth(users["owner"])
    created = client.post("/api/projects/", json={"name": value}, headers=owner)
    assert created.status_code == 400 and created.json["name"] == ["Not a valid string."]
    renamed = client.patch(f"/api/projects/{targets['p']}/tasks/{targets['t']}/", json={"name": value}, headers=owner)
    assert renamed.status_code == 400 and renamed.json["name"] == ["Not a valid string."]
    task = client.get(f"/api/projects/{targets['p']}/tasks/{targets['t']}/", headers=owner).json
    assert task["name"] == "kept"


def test_a_number_is_a_name_as_webodm_takes_it(client, users):
    created = client.post("/api/projects/", json={"name": 2026}, headers=auth(users["owner"]))
    assert created.status_code == 201 and created.json["name"] == "2026"
