"""Fixtures of the API tests: users in every role on one project."""
import pytest

from tests.support.factories import add_project, add_user, share

PASSWORD = "a-good-password"


@pytest.fixture
def users(app):
    """owner, viewer (shared: view), editor (shared: view, add, change), deleter (shared: all), stranger, admin."""
    return {name: add_user(name, admin=name == "admin", password=PASSWORD)
            for name in ("owner", "viewer", "editor", "deleter", "stranger", "admin")}


def shared_project(users, **fields):
    """A project of owner, shared with viewer (view), editor (view, add, change) and deleter (everything)."""
    project = add_project(users["owner"], **fields)
    share(project, users["viewer"])
    share(project, users["editor"], can_add=True, can_change=True)
    share(project, users["deleter"], can_add=True, can_change=True, can_delete=True)
    return project


@pytest.fixture
def project(users):
    """Owner's project 'Field 1', shared as shared_project says."""
    return shared_project(users, description="Field 1")
