"""Fixtures of the API tests: users in every role on one project, made fast (one password hash per session)."""
import pytest
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.models import Project, ProjectShare, User

PASSWORD = "a-good-password"


@pytest.fixture(scope="session")
def password_hash():
    """One scrypt hash of PASSWORD, reused by every test user (hashing is slow on purpose)."""
    return generate_password_hash(PASSWORD)


@pytest.fixture
def users(app, password_hash):
    """owner, viewer (shared: view), editor (shared: view, add, change), deleter (shared: all), stranger, admin."""
    made = {}
    for name in ("owner", "viewer", "editor", "deleter", "stranger", "admin"):
        made[name] = User(username=name, password_hash=password_hash, is_admin=name == "admin")
        db.session.add(made[name])
    db.session.commit()
    return made


@pytest.fixture
def project(users):
    """A project of owner, shared with viewer (view), editor (view, add, change) and deleter (everything)."""
    project = Project(owner_id=users["owner"].id, name="Survey", description="Field 1")
    db.session.add(project)
    db.session.commit()
    shares = {"viewer": {}, "editor": {"can_add": True, "can_change": True},
              "deleter": {"can_add": True, "can_change": True, "can_delete": True}}
    for name, flags in shares.items():
        db.session.add(ProjectShare(project_id=project.id, user_id=users[name].id, can_view=True, **flags))
    db.session.commit()
    return project
