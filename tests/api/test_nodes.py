"""Processing nodes: list, get, options for users; create (after a first refresh), update, delete for admins."""
import pytest

from tests.support.web import auth
from tests.support.factories import add_node, add_task
from tests.support.livenode import LiveNode

from webapp.extensions import db
from webapp.models import ProcessingNode, Task

NODE_FIELDS = ["id", "hostname", "port", "label", "online", "api_version", "engine", "engine_version",
               "queue_count", "max_images", "last_refreshed", "available_options"]


@pytest.fixture(scope="module")
def live_node(tmp_path_factory):
    """A real built-in processing node for this module, with a token."""
    node = LiveNode(tmp_path_factory.mktemp("node"), token="node-secret")
    yield node
    node.stop()


def test_list_hides_the_token_from_users_and_shows_it_to_admins(client, users):
    node = add_node(label="Fast one", engine="odm", queue_count=2, token="t0ken", online=True)
    as_user = client.get("/api/processingnodes/", headers=auth(users["viewer"])).json
    assert [list(n) for n in as_user] == [NODE_FIELDS]
    assert as_user[0]["label"] == "Fast one" and as_user[0]["online"] is True and as_user[0]["queue_count"] == 2
    as_admin = client.get("/api/processingnodes", headers=auth(users["admin"])).json
    assert as_admin[0]["token"] == "t0ken" and list(as_admin[0]) == NODE_FIELDS + ["token"]
    assert client.get(f"/api/processingnodes/{node.id}/", headers=auth(users["viewer"])).json["label"] == "Fast one"
    assert "token" not in client.get(f"/api/processingnodes/{node.id}", headers=auth(users["viewer"])).json
    assert client.get("/api/processingnodes/").status_code == 403
    assert client.get("/api/processingnodes/999/", headers=auth(users["viewer"])).json == {"detail": "Not found."}


def test_label_defaults_to_host_and_port_and_offline_nodes_say_so(client, users):
    add_node(hostname="n1.example", port=3001)
    listed = client.get("/api/processingnodes/", headers=auth(users["owner"])).json
    assert listed[0]["label"] == "n1.example:3001" and listed[0]["online"] is False
    assert listed[0]["last_refreshed"] is None


def test_has_available_options_and_ordering(client, users):
    bare = add_node(hostname="a.example", online=True)
    rich = add_node(hostname="b.example", online=True, available_options=[
        {"name": "dsm", "type": "bool", "value": "false", "domain": "bool", "help": "DSM"}])
    headers = auth(users["owner"])
    assert [n["id"] for n in client.get("/api/processingnodes/?has_available_options=true",
                                        headers=headers).json] == [rich.id]
    assert [n["id"] for n in client.get("/api/processingnodes/?ordering=-hostname", headers=headers).json] == \
        [rich.id, bare.id]


def test_options_are_those_every_online_node_offers(client, users):
    dsm = {"name": "dsm", "type": "bool", "value": "false", "domain": "bool", "help": "Make a DSM"}
    fast = {"name": "fast-orthophoto", "type": "bool", "value": "false", "domain": "bool", "help": "Skip"}
    add_node(hostname="a.example", available_options=[dsm, fast], online=True)
    add_node(hostname="b.example", available_options=[dsm], online=True)
    add_node(hostname="c.example", available_options=[])  # offline nodes do not count
    assert client.get("/api/processingnodes/options/", headers=auth(users["owner"])).json == [dsm]
    assert client.get("/api/processingnodes/options/").status_code == 403


def test_options_are_empty_with_no_online_node(client, users):
    add_node(available_options=[{"name": "dsm"}])
    assert client.get("/api/processingnodes/options", headers=auth(users["owner"])).json == []


def test_admin_adds_a_real_node_which_is_refreshed_before_the_answer(client, users, live_node):
    response = client.post("/api/processingnodes/", headers=auth(users["admin"]), json={
        "hostname": "127.0.0.1", "port": live_node.port, "token": "node-secret", "label": "Built-in"})
    assert response.status_code == 201
    node = response.json
    assert node["online"] is True and node["label"] == "Built-in" and node["token"] == "node-secret"
    assert node["api_version"] and node["available_options"]
    assert any(option["name"] == "end-with" for option in node["available_options"])
    names = [o["name"] for o in client.get("/api/processingnodes/options/", headers=auth(users["owner"])).json]
    assert names == [o["name"] for o in node["available_options"]]
    again = client.post("/api/processingnodes/", headers=auth(users["admin"]),
                        data={"hostname": "127.0.0.1", "port": str(live_node.port)})
    assert again.status_code == 400 and "hostname" in again.json


def test_a_node_that_does_not_answer_is_added_offline(client, users):
    from tests.support.web import free_port
    response = client.post("/api/processingnodes/", headers=auth(users["admin"]),
                           json={"hostname": "127.0.0.1", "port": free_port()})
    assert response.status_code == 201 and response.json["online"] is False


@pytest.mark.parametrize("data, field", [({"hostname": "", "port": 3000}, "hostname"),
                                         ({"hostname": "a b", "port": 3000}, "hostname"),
                                         ({"hostname": "h.example", "port": "70000"}, "port"),
                                         ({"hostname": "h.example"}, "port")])
def test_create_refuses_bad_addresses(client, users, data, field):
    response = client.post("/api/processingnodes/", headers=auth(users["admin"]), json=data)
    assert response.status_code == 400 and field in response.json
    assert ProcessingNode.query.count() == 0


def test_only_admins_create_update_or_delete(client, users):
    node = add_node(online=True)
    for who, status in (("owner", 403), (None, 403)):
        headers = auth(users[who]) if who else {}
        assert client.post("/api/processingnodes/", headers=headers,
                           json={"hostname": "x.example", "port": 1}).status_code == status
        assert client.patch(f"/api/processingnodes/{node.id}/", headers=headers,
                            json={"label": "mine"}).status_code == status
        assert client.delete(f"/api/processingnodes/{node.id}/", headers=headers).status_code == status
    refused = client.patch(f"/api/processingnodes/{node.id}/", headers=auth(users["owner"]), json={"label": "x"})
    assert refused.json == {"detail": "You do not have permission to perform this action."}
    db.session.refresh(node)
    assert node.label == "" and ProcessingNode.query.count() == 1


def test_admin_updates_a_node_against_the_real_one(client, users, live_node):
    node = add_node(hostname="127.0.0.1", port=1)
    response = client.patch(f"/api/processingnodes/{node.id}/", headers=auth(users["admin"]),
                            json={"port": live_node.port, "token": "node-secret", "label": "Moved"})
    assert response.status_code == 200
    assert response.json["port"] == live_node.port and response.json["online"] is True
    assert response.json["label"] == "Moved"
    bad = client.put(f"/api/processingnodes/{node.id}", headers=auth(users["admin"]), json={"port": "x"})
    assert bad.status_code == 400 and "port" in bad.json
    db.session.refresh(node)
    assert node.port == live_node.port


def test_admin_deletes_a_node_and_its_tasks_forget_it(client, users, project):
    node = add_node(online=True)
    task = add_task(project, processing_node_id=node.id)
    assert client.delete(f"/api/processingnodes/{node.id}/", headers=auth(users["admin"])).status_code == 204
    db.session.expire_all()
    assert db.session.get(ProcessingNode, node.id) is None
    assert db.session.get(Task, task.id).processing_node_id is None
    assert client.delete(f"/api/processingnodes/{node.id}/", headers=auth(users["admin"])).status_code == 404
