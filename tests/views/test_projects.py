"""The project settings page: rename, describe, share, delete; for the owner, shared users, strangers, admins."""
import pytest

from tests.support.factories import add_task, add_user
from tests.support.web import post, signed_in
from webapp import storage
from webapp.extensions import db
from webapp.models import Project, ProjectShare, Task
from webapp.services import projects, sharing


@pytest.fixture
def owner(app):
    """Olga, who owns the project."""
    return add_user("olga")


@pytest.fixture
def project(owner):
    """Olga's project."""
    return projects.create_project(owner, "Quarry", "East face")


def share(project, username, permissions):
    """Share the project through the service (the pages are tested separately)."""
    entries = [e for e in sharing.project_sharing(project) if not e["owner"] and e["username"] != username]
    sharing.set_sharing(project, entries + [{"username": username, "permissions": permissions}])


def settings_url(project):
    """The settings page of project."""
    return f"/projects/{project.id}/settings"


def reload(project):
    """The project as now stored (None when deleted)."""
    db.session.expire_all()
    return db.session.get(Project, project.id)


def shares_of(project):
    """{username: permissions} of the project's shares as stored."""
    db.session.expire_all()
    return {s.user.username: s.permissions for s in ProjectShare.query.filter_by(project_id=project.id)}


def test_settings_need_login(client, project):
    assert client.get(settings_url(project)).headers["Location"].startswith("/login?next=")


def test_owner_sees_settings_with_empty_sharing(app, project):
    page = signed_in(app, "olga").get(settings_url(project)).get_data(as_text=True)
    assert "Settings of “Quarry”" in page and 'value="Quarry"' in page and "East face" in page
    assert "Only olga can see this project" in page and "Delete project" in page


def test_owner_renames_and_describes(app, project):
    client = signed_in(app, "olga")
    response = post(client, settings_url(project), {"name": " Quarry 2 ", "description": "West face"})
    assert response.status_code == 302
    assert (reload(project).name, reload(project).description) == ("Quarry 2", "West face")
    assert "Project saved." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_empty_name_shows_a_message_and_changes_nothing(app, project):
    response = post(signed_in(app, "olga"), settings_url(project), {"name": "   ", "description": "changed"})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert (reload(project).name, reload(project).description) == ("Quarry", "East face")


def test_tags_are_edited_on_the_settings_page_and_odd_ones_get_a_message(app, project):
    client = signed_in(app, "olga")
    response = post(client, settings_url(project), {"name": "Quarry", "tags": "survey #2026"})
    assert response.status_code == 302 and reload(project).tags == "survey 2026"
    assert 'value="survey 2026"' in client.get(settings_url(project)).get_data(as_text=True)
    refused = post(client, settings_url(project), {"name": "Renamed", "tags": "survey a/b"})
    assert refused.status_code == 400
    assert "“a/b” is not a valid tag" in refused.get_data(as_text=True)
    assert (reload(project).name, reload(project).tags) == ("Quarry", "survey 2026")


def test_form_without_csrf_token_changes_nothing(app, project):
    client = signed_in(app, "olga")
    response = client.post(settings_url(project), data={"name": "Hijacked"})
    assert response.status_code == 302
    assert "Your form had expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(project).name == "Quarry"


def test_share_with_a_user_at_each_level_then_remove(app, project):
    add_user("bob")
    client = signed_in(app, "olga")
    response = post(client, settings_url(project).replace("settings", "sharing"), {"username": "Bob", "level": "view"})
    assert response.status_code == 302
    assert shares_of(project) == {"bob": ["view"]}
    assert "Project shared with Bob." in client.get(settings_url(project)).get_data(as_text=True)

    post(client, f"/projects/{project.id}/sharing/bob", {"level": "change"})
    assert shares_of(project) == {"bob": ["view", "add", "change"]}
    post(client, f"/projects/{project.id}/sharing/bob", {"level": "delete"})
    assert shares_of(project) == {"bob": ["view", "add", "change", "delete"]}
    page = client.get(settings_url(project)).get_data(as_text=True)
    assert 'data-username="bob"' in page and '<option selected value="delete">' in page

    post(client, f"/projects/{project.id}/sharing/bob/remove")
    assert shares_of(project) == {}


def test_share_with_unknown_user_shows_a_message_and_stores_nothing(app, project):
    response = post(signed_in(app, "olga"), f"/projects/{project.id}/sharing", {"username": "nobody", "level": "view"})
    assert response.status_code == 400
    assert "No user named &#39;nobody&#39;." in response.get_data(as_text=True)
    assert shares_of(project) == {}


def test_share_with_empty_name_or_the_owner_or_a_bad_level_is_refused(app, project):
    client = signed_in(app, "olga")
    url = f"/projects/{project.id}/sharing"
    empty = post(client, url, {"username": " ", "level": "view"})
    assert empty.status_code == 400 and "This field is required." in empty.get_data(as_text=True)
    itself = post(client, url, {"username": "olga", "level": "view"})
    assert itself.status_code == 400 and "olga owns this project" in itself.get_data(as_text=True)
    bad_level = post(client, url, {"username": "olga", "level": "root"})
    assert bad_level.status_code == 400 and "Not a valid choice" in bad_level.get_data(as_text=True)
    assert shares_of(project) == {}


def test_shared_view_only_user_sees_the_project_but_not_its_settings(app, project):
    add_user("bob")
    share(project, "bob", ["view"])
    bob = signed_in(app, "bob")
    assert "Quarry" in bob.get("/").get_data(as_text=True)
    assert bob.get(settings_url(project)).status_code == 404
    assert post(bob, settings_url(project), {"name": "Bob's"}).status_code == 404
    assert post(bob, f"/projects/{project.id}/sharing", {"username": "bob", "level": "delete"}).status_code == 404
    assert post(bob, f"/projects/{project.id}/delete").status_code == 404
    assert reload(project).name == "Quarry" and shares_of(project) == {"bob": ["view"]}


def test_shared_change_user_renames_and_shares_but_cannot_delete(app, project):
    add_user("bob"), add_user("carol")
    share(project, "bob", ["view", "add", "change"])
    bob = signed_in(app, "bob")
    page = bob.get(settings_url(project)).get_data(as_text=True)
    assert "shared with you" in page and "Delete project" not in page and "Remove from my projects" not in page
    assert post(bob, settings_url(project), {"name": "Quarry (Bob)", "description": ""}).status_code == 302
    assert post(bob, f"/projects/{project.id}/sharing", {"username": "carol", "level": "view"}).status_code == 302
    assert reload(project).name == "Quarry (Bob)"
    assert shares_of(project) == {"bob": ["view", "add", "change"], "carol": ["view"]}
    assert post(bob, f"/projects/{project.id}/delete").status_code == 404
    assert reload(project) is not None


def test_shared_delete_user_only_leaves_the_project(app, project):
    add_user("bob")
    share(project, "bob", ["view", "add", "change", "delete"])
    bob = signed_in(app, "bob")
    assert "Remove from my projects" in bob.get(settings_url(project)).get_data(as_text=True)
    response = post(bob, f"/projects/{project.id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "removed from your projects" in bob.get("/").get_data(as_text=True)
    assert reload(project) is not None and shares_of(project) == {}


def test_stranger_gets_404_everywhere_and_changes_nothing(app, project):
    add_user("eve")
    eve = signed_in(app, "eve")
    assert eve.get(settings_url(project)).status_code == 404
    for url, data in [(settings_url(project), {"name": "Eve's"}),
                      (f"/projects/{project.id}/sharing", {"username": "eve", "level": "delete"}),
                      (f"/projects/{project.id}/sharing/eve", {"level": "delete"}),
                      (f"/projects/{project.id}/delete", {})]:
        assert post(eve, url, data).status_code == 404, url
    assert reload(project).name == "Quarry" and shares_of(project) == {}
    assert eve.get("/projects/9999/settings").status_code == 404


def test_admin_manages_any_project(app, project):
    add_user("root", admin=True)
    root = signed_in(app, "root")
    assert "Settings of “Quarry”" in root.get(settings_url(project)).get_data(as_text=True)
    assert post(root, settings_url(project), {"name": "Audited", "description": ""}).status_code == 302
    assert reload(project).name == "Audited"


def test_owner_deletes_the_project_with_its_tasks_and_files(app, project):
    task = add_task(project, name="Flight 1")
    image = storage.images_dir(project.id, task.id) / "a.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"jpeg")
    client = signed_in(app, "olga")
    response = post(client, f"/projects/{project.id}/delete")
    assert response.status_code == 302
    assert "deleted, with its tasks and files" in client.get("/").get_data(as_text=True)
    assert reload(project) is None and Task.query.count() == 0
    assert not storage.project_dir(project.id).exists()


def test_bad_access_change_is_flashed_and_changes_nothing(app, project):
    add_user("bob")
    share(project, "bob", ["view"])
    client = signed_in(app, "olga")
    response = post(client, f"/projects/{project.id}/sharing/bob", {"level": "root"})
    assert "Not a valid choice." in client.get(response.headers["Location"]).get_data(as_text=True)
    response = post(client, f"/projects/{project.id}/sharing/ghost", {"level": "view"})
    assert "No user named &#39;ghost&#39;." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert shares_of(project) == {"bob": ["view"]}


def test_owner_makes_the_project_public_and_private_again(app, project):
    client = signed_in(app, "olga")
    post(client, settings_url(project), {"name": "Quarry", "description": "", "public": "y"})
    assert reload(project).public is True
    page = client.get(settings_url(project)).get_data(as_text=True)
    assert f"/projects/{project.id}/map" in page and 'id="public-project-link"' in page
    assert app.test_client().get(f"/projects/{project.id}/map").status_code == 200  # anyone with the link
    post(client, settings_url(project), {"name": "Quarry", "description": ""})  # the box unticked
    assert reload(project).public is False
    assert app.test_client().get(f"/projects/{project.id}/map").status_code == 302  # to the login page
