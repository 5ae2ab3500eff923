"""Users for tests, made fast: a one-round password hash instead of scrypt (0.2 s per hash and per login).

The accounts tests cover the real hashing; here only who may do what matters.
"""
from werkzeug.security import generate_password_hash

from tests.support.web import csrf_token_of
from webapp.extensions import db
from webapp.models import Project, User

FAST_HASH = "pbkdf2:sha256:1"


def add_user(name, admin=False):
    """A user named name, with the password '<name>-password'."""
    user = User(username=name, is_admin=admin,
                password_hash=generate_password_hash(f"{name}-password", method=FAST_HASH))
    db.session.add(user)
    db.session.commit()
    return user


def add_project(owner_name="owner", name="Survey"):
    """A project of a new user."""
    project = Project(owner_id=add_user(owner_name).id, name=name)
    db.session.add(project)
    db.session.commit()
    return project


def signed_in(app, name):
    """A new test client (its own cookies) logged in as name."""
    client = app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": name, "password": f"{name}-password", "csrf_token": token})
    assert response.status_code == 302, f"login of {name} failed"
    return client


def post(client, url, data=None):
    """POST a form to url with the session's CSRF token (taken from the account page)."""
    token = csrf_token_of(client.get("/account").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})
