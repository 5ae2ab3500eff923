"""Processing node pages: listed for everyone; added, edited, refreshed and removed by administrators only."""
import html

import pytest

from tests.support.livenode import LiveNode
from tests.support.web import free_port, post, signed_in
from tests.support.factories import add_user
from webapp.extensions import db
from webapp.models import ProcessingNode
from webapp.services import nodes

NODE_TOKEN = "node-secret-token"


@pytest.fixture(scope="module")
def live_node(tmp_path_factory):
    """A real built-in node that asks for a token, shared by the tests of this module."""
    node = LiveNode(tmp_path_factory.mktemp("node"), token=NODE_TOKEN)
    yield node
    node.stop()


@pytest.fixture
def root(app):
    """A logged-in administrator's client."""
    add_user("root", admin=True)
    return signed_in(app, "root")


@pytest.fixture
def bob(app):
    """A logged-in ordinary user's client."""
    add_user("bob")
    return signed_in(app, "bob")


def stored_nodes():
    """(hostname, port, token, label) of every stored node."""
    db.session.expire_all()
    return [(n.hostname, n.port, n.token, n.label) for n in ProcessingNode.query.order_by(ProcessingNode.id)]


def test_node_list_needs_login(client, app):
    add_user("root", admin=True)
    assert client.get("/nodes").headers["Location"].startswith("/login?next=")


def test_empty_list_tells_admins_how_to_add_a_node_and_users_to_ask(root, bob):
    admin_page = root.get("/nodes").get_data(as_text=True)
    assert "No processing node yet." in admin_page and "give its host name and port" in admin_page
    user_page = bob.get("/nodes").get_data(as_text=True)
    assert "Ask your administrator to add a processing node." in user_page and "Add a node" not in user_page


def test_admin_adds_a_live_node_and_sees_its_state_engine_and_options(root, live_node):
    response = post(root, "/nodes/new", {"hostname": "127.0.0.1", "port": str(live_node.port),
                                         "token": NODE_TOKEN, "label": "Built-in"})
    assert response.status_code == 302
    assert stored_nodes() == [("127.0.0.1", live_node.port, NODE_TOKEN, "Built-in")]
    page = root.get(response.headers["Location"]).get_data(as_text=True)
    version = live_node.get("/info").json()["engineVersion"]  # "0.1.0 (pycolmap X, CPU)": what the node says, shown as said
    assert version.startswith("0.1.0 (pycolmap ") and f"Built-in is online: aerie-engine {html.escape(version)}." in page
    assert 'id="node-state">Online' in page and NODE_TOKEN in page
    assert "<code>end-with</code>" in page  # one of the node's options, listed with its help
    listing = root.get("/nodes").get_data(as_text=True)
    assert "Built-in" in listing and "Online" in listing and "aerie-engine" in listing


def test_users_see_nodes_but_never_their_token(root, bob, live_node):
    node = nodes.add_node("127.0.0.1", live_node.port, token=NODE_TOKEN)
    for url in ("/nodes", f"/nodes/{node.id}"):
        page = bob.get(url).get_data(as_text=True)
        assert "aerie-engine" in page and NODE_TOKEN not in page, url
    assert "Edit" not in bob.get(f"/nodes/{node.id}").get_data(as_text=True)


def test_a_node_that_does_not_answer_is_stored_offline_with_a_warning(root):
    port = free_port()  # nothing listens there
    response = post(root, "/nodes/new", {"hostname": "127.0.0.1", "port": str(port)})
    assert response.status_code == 302
    page = root.get(response.headers["Location"]).get_data(as_text=True)
    assert "did not answer" in page and 'id="node-state">Offline' in page and "has not told its options" in page


def test_a_wrong_token_leaves_the_node_offline(root, live_node):
    response = post(root, "/nodes/new", {"hostname": "127.0.0.1", "port": str(live_node.port), "token": "wrong"})
    assert "did not answer" in root.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("hostname, port, message", [
    ("127.0.0.1", "abc", "Enter a port number from 1 to 65535."),
    ("127.0.0.1", "70000", "Enter a port number from 1 to 65535."),
    ("127.0.0.1", "", "This field is required."),
    ("", "3000", "This field is required."),
    ("http://host/x", "3000", "Enter a host name or address"),
])
def test_bad_address_shows_a_message_and_stores_nothing(root, hostname, port, message):
    response = post(root, "/nodes/new", {"hostname": hostname, "port": port})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored_nodes() == []


def test_a_second_node_at_the_same_address_is_refused(root, live_node):
    nodes.add_node("127.0.0.1", live_node.port, token=NODE_TOKEN)
    response = post(root, "/nodes/new", {"hostname": "127.0.0.1", "port": str(live_node.port)})
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)
    assert len(stored_nodes()) == 1


def test_admin_edits_a_node_and_bad_input_changes_nothing(root, live_node):
    node = nodes.add_node("127.0.0.1", live_node.port)  # no token yet: offline
    form = root.get(f"/nodes/{node.id}/edit").get_data(as_text=True)
    assert f'value="{live_node.port}"' in form
    bad = post(root, f"/nodes/{node.id}/edit", {"hostname": "127.0.0.1", "port": "0", "token": NODE_TOKEN})
    assert bad.status_code == 400 and "Enter a port number from 1 to 65535." in bad.get_data(as_text=True)
    assert stored_nodes() == [("127.0.0.1", live_node.port, "", "")]
    good = post(root, f"/nodes/{node.id}/edit", {"hostname": "127.0.0.1", "port": str(live_node.port),
                                                 "token": NODE_TOKEN, "label": "Renamed"})
    assert good.status_code == 302
    assert stored_nodes() == [("127.0.0.1", live_node.port, NODE_TOKEN, "Renamed")]
    assert "Renamed is online" in root.get(good.headers["Location"]).get_data(as_text=True)


def test_admin_refreshes_and_removes_a_node(root, live_node):
    node = nodes.add_node("127.0.0.1", live_node.port, token=NODE_TOKEN)
    response = post(root, f"/nodes/{node.id}/refresh")
    assert "is online" in root.get(response.headers["Location"]).get_data(as_text=True)
    response = post(root, f"/nodes/{node.id}/remove")
    assert response.status_code == 302 and stored_nodes() == []
    assert "removed" in root.get("/nodes").get_data(as_text=True)


def test_non_admins_get_403_on_every_change_and_nothing_changes(app, bob, live_node):
    node = nodes.add_node("127.0.0.1", live_node.port, token=NODE_TOKEN)
    before = stored_nodes()
    assert bob.get("/nodes/new").status_code == 403
    assert bob.get(f"/nodes/{node.id}/edit").status_code == 403
    assert post(bob, "/nodes/new", {"hostname": "10.0.0.1", "port": "3000"}).status_code == 403
    assert post(bob, f"/nodes/{node.id}/edit", {"hostname": "10.0.0.1", "port": "3000"}).status_code == 403
    assert post(bob, f"/nodes/{node.id}/refresh").status_code == 403
    assert post(bob, f"/nodes/{node.id}/remove").status_code == 403
    assert stored_nodes() == before


def test_unknown_node_is_404(root):
    assert root.get("/nodes/999").status_code == 404
    assert post(root, "/nodes/999/remove").status_code == 404
