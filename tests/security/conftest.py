"""Fixtures of the security tests: one app per module with users in every role, logged in once each."""
import pytest

from tests.support.apps import running_app
from tests.support.web import csrf_token_of, signed_in
from tests.support.factories import add_group, add_user
from webapp.services import tokens

# Users of the matrix; the project of each case is owned by `owner` and shared with viewer, changer and deleter,
# and with a group of each group_ role's own (the role is its only member) at the same levels.
SHARED = {"viewer": {}, "changer": {"can_add": True, "can_change": True}, "deleter": {"can_delete": True}}
GROUP_SHARED = {f"group_{name}": flags for name, flags in SHARED.items()}
LOGGED_IN = ("owner", "viewer", "changer", "deleter", "stranger", "admin", *GROUP_SHARED)


@pytest.fixture(scope="module")
def secure_app(tmp_path_factory, redis_url):
    """An app on a fresh database, shared by the tests of one module (each case makes its own objects)."""
    with running_app(tmp_path_factory.mktemp("instance"), redis_url) as application:
        yield application


class Person:
    """A role: a test client with its session (None user: anonymous), its CSRF token and API headers."""

    def __init__(self, app, name, user=None):
        self.app, self.name, self.user = app, name, user
        self.group = None  # the group the role is in, for the group_ roles
        self.client = signed_in(app, name) if user else app.test_client()
        page = "/account" if user else "/login"
        self.csrf = csrf_token_of(self.client.get(page).get_data(as_text=True))
        self.api_headers = {"Authorization": f"JWT {tokens.issue_jwt(user)}"} if user else {}

    def again(self):
        """The same role in a new session (for a request that ends its session, as logging out does)."""
        person = Person(self.app, self.name, self.user)
        person.group = self.group
        return person


@pytest.fixture(scope="module")
def people(secure_app):
    """{role: Person} for every logged-in role and `anonymous`."""
    users = {name: add_user(name, admin=name == "admin") for name in LOGGED_IN}
    made = {name: Person(secure_app, name, user) for name, user in users.items()}
    for name in GROUP_SHARED:
        made[name].group = add_group(f"team of {name}", [users[name]])
    made["anonymous"] = Person(secure_app, "anonymous")
    return made
