"""Secrets never reach anyone but administrators: every GET route, asked by each other role, is searched for
node tokens, password hashes, API tokens (secret and stored hash) and the SECRET_KEY."""
import secrets

import pytest

from tests.support.factories import add_node
from tests.support.apps import running_app
from tests.security.test_matrix import MATRIX, _url, _values
from webapp.models import ApiToken, ProcessingNode, User
from webapp.services import tokens

SECRET_KEY = "key-" + secrets.token_hex(24)
NODE_TOKEN = "node-token-" + secrets.token_hex(16)
GET_RULES = sorted(rule for rule, method in MATRIX if method == "GET")
NOT_ADMIN = ("owner", "viewer", "stranger", "anonymous")


@pytest.fixture(scope="module")
def secure_app(tmp_path_factory, redis_url):
    """The module's app, with a SECRET_KEY of its own that can be searched for."""
    with running_app(tmp_path_factory.mktemp("instance"), redis_url, SECRET_KEY=SECRET_KEY,
                     LOCALNODE_TOKEN=NODE_TOKEN) as application:
        yield application


@pytest.fixture(scope="module")
def secret_values(secure_app, people):
    """Every secret stored: node tokens, password hashes, API token secrets and hashes, the SECRET_KEY."""
    add_node(token=NODE_TOKEN, label="with token")
    _, api_secret = tokens.create_api_token(people["owner"].user, "owner's script")
    values = {"SECRET_KEY": SECRET_KEY, "node token": NODE_TOKEN, "API token": api_secret}
    values.update({f"password hash of {u.username}": u.password_hash for u in User.query.all()})
    values.update({f"API token hash {t.id}": t.token_hash for t in ApiToken.query.all()})
    return values


def _leaks(body, values):
    """The names of the secrets found in a response body (bytes: tiles and downloads are binary)."""
    return [name for name, value in values.items() if value and value.encode() in body]


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_no_get_route_shows_a_secret_to_a_non_administrator(secure_app, people, secret_values, role):
    """Crawl every GET route (pages and API) as this role; no body holds a secret value."""
    found = []
    for number, rule in enumerate(GET_RULES):
        values = _values(people, role, [3000 + NOT_ADMIN.index(role) * 100 + number])
        secret_values.update({f"node token {n.id}": n.token for n in ProcessingNode.query.all()})
        url = _url(rule, values)
        person = people[role]
        response = person.client.get(url, headers=person.api_headers)
        leaks = _leaks(response.get_data(), secret_values)
        if leaks:
            found.append(f"{url}: {leaks}")
    assert not found


def test_the_crawl_would_see_a_secret(secure_app, people, secret_values):
    """The search works: an administrator is shown the node token on the node's page."""
    node = ProcessingNode.query.filter_by(token=NODE_TOKEN).one()
    assert "node token" in _leaks(people["admin"].client.get(f"/nodes/{node.id}").get_data(), secret_values)


def test_an_api_token_is_shown_once(secure_app, people):
    """The secret of a new API token is in the creation answer, never again in the account page or the API."""
    owner = people["owner"]
    created = owner.client.post("/api/tokens/", json={"name": "once"}, headers=owner.api_headers).get_json()
    assert created["token"].startswith("aerie_")
    assert created["token"] not in owner.client.get("/account").get_data(as_text=True)
    assert created["token"] not in owner.client.get("/api/tokens/", headers=owner.api_headers).get_data(as_text=True)
