"""The groups pages (administrators only) and sharing a project with a group on its settings page."""
import pytest

from tests.support.factories import add_group, add_project, add_user, share_with_group
from tests.support.web import csrf_token_of, post, signed_in
from webapp.extensions import db
from webapp.models import Group, ProjectGroupShare


@pytest.fixture
def root(app):
    """A logged-in administrator's client."""
    add_user("root", admin=True)
    return signed_in(app, "root")


@pytest.fixture
def team(app):
    """The group "Surveyors" with Bob in it."""
    return add_group("Surveyors", [add_user("bob")])


def stored_groups():
    """{name: [usernames]} as stored."""
    db.session.expire_all()
    return {group.name: [user.username for user in group.members] for group in Group.query.all()}


def test_an_administrator_creates_renames_fills_and_deletes_a_group(root, team):
    add_user("carol")
    created = post(root, "/admin/groups", {"name": "  Pilots "})
    group = Group.query.filter_by(name="Pilots").one()
    assert created.status_code == 302 and created.headers["Location"] == f"/admin/groups/{group.id}"
    page = root.get(f"/admin/groups/{group.id}").get_data(as_text=True)
    assert "Nobody is in this group yet." in page
    assert post(root, f"/admin/groups/{group.id}/members", {"username": "Carol"}).status_code == 302
    assert post(root, f"/admin/groups/{group.id}/members", {"username": "bob"}).status_code == 302
    assert post(root, f"/admin/groups/{group.id}/rename", {"name": "Drone pilots"}).status_code == 302
    assert stored_groups() == {"Surveyors": ["bob"], "Drone pilots": ["bob", "carol"]}
    listing = root.get("/admin/groups").get_data(as_text=True)
    assert "Drone pilots" in listing and "bob, carol" in listing
    users_page = root.get("/admin/users").get_data(as_text=True)
    assert f'<a href="/admin/groups/{group.id}">Drone pilots</a>, <a href="/admin/groups/{team.id}">Surveyors</a>' \
        in users_page  # bob's groups, by name
    carol = group.members[1]
    assert post(root, f"/admin/groups/{group.id}/members/{carol.id}/remove").status_code == 302
    assert stored_groups()["Drone pilots"] == ["bob"]
    assert post(root, f"/admin/groups/{group.id}/members/{carol.id}/remove").status_code == 404  # not a member
    assert post(root, f"/admin/groups/{group.id}/delete").status_code == 302
    assert stored_groups() == {"Surveyors": ["bob"]}
    assert root.get(f"/admin/groups/{group.id}").status_code == 404


BAD_INPUT = [
    ("/admin/groups", {"name": ""}, "This field is required."),
    ("/admin/groups", {"name": "surveyors"}, "A group named “Surveyors” already exists."),
    ("/admin/groups", {"name": "x" * 151}, "Field cannot be longer than 150 characters."),
    ("/admin/groups/{id}/rename", {"name": " "}, "This field is required."),
    ("/admin/groups/{id}/rename", {"name": "OTHER"}, "A group named “Other” already exists."),
    ("/admin/groups/{id}/members", {"username": "nobody"}, "No user named “nobody”."),
    ("/admin/groups/{id}/members", {"username": ""}, "This field is required."),
]


def test_bad_group_input_shows_the_form_again_with_a_message_and_changes_nothing(root, team):
    add_group("Other")
    before = stored_groups()
    for url, data, message in BAD_INPUT:  # one app for every case: an app per case costs a second or two
        response = post(root, url.format(id=team.id), data)
        assert response.status_code == 400, (url, data)
        assert message in response.get_data(as_text=True), (url, data)
        assert stored_groups() == before


def test_non_administrators_get_403_and_nothing_changes(app, team):
    bob = signed_in(app, "bob")
    for url in ("/admin/groups", f"/admin/groups/{team.id}"):
        assert bob.get(url).status_code == 403
    for url, data in [("/admin/groups", {"name": "Mine"}), (f"/admin/groups/{team.id}/rename", {"name": "Mine"}),
                      (f"/admin/groups/{team.id}/members", {"username": "bob"}),
                      (f"/admin/groups/{team.id}/members/{team.members[0].id}/remove", {}),
                      (f"/admin/groups/{team.id}/delete", {})]:
        assert post(bob, url, data).status_code == 403, url
    assert stored_groups() == {"Surveyors": ["bob"]}
    assert 'href="/admin/groups"' not in bob.get("/").get_data(as_text=True)


def test_the_owner_shares_a_project_with_a_group_changes_its_level_and_removes_it(app, team):
    project = add_project(add_user("olga"), name="Quarry")
    owner = signed_in(app, "olga")
    bob = signed_in(app, "bob")
    settings = f"/projects/{project.id}/settings"
    assert bob.get(settings).status_code == 404
    assert "Surveyors" in owner.get(settings).get_data(as_text=True)  # offered in the group list
    shared = post(owner, f"/projects/{project.id}/sharing/groups", {"group": team.id, "level": "view"})
    assert shared.status_code == 302
    assert 'data-groupname="Surveyors"' in owner.get(settings).get_data(as_text=True)
    assert "Quarry" in bob.get("/").get_data(as_text=True)  # on Bob's dashboard
    assert bob.get(settings).status_code == 404  # viewing only
    post(owner, f"/projects/{project.id}/sharing/groups/{team.id}", {"level": "change"})
    assert bob.get(settings).status_code == 200
    post(owner, f"/projects/{project.id}/sharing/groups/{team.id}/remove")
    assert bob.get(f"/projects/{project.id}/tasks/new").status_code == 404
    assert "Quarry" not in bob.get("/").get_data(as_text=True)
    assert ProjectGroupShare.query.count() == 0


def test_sharing_with_an_unknown_group_is_refused_on_the_form(app, team):
    project = add_project(add_user("olga"), name="Quarry")
    owner = signed_in(app, "olga")
    response = post(owner, f"/projects/{project.id}/sharing/groups", {"group": team.id + 100, "level": "view"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert ProjectGroupShare.query.count() == 0


def test_a_member_who_may_delete_cannot_drop_the_groups_access_from_the_page(app, team):
    project = add_project(add_user("olga"), name="Quarry")
    share_with_group(project, team, can_delete=True)
    bob = signed_in(app, "bob")
    token = csrf_token_of(bob.get("/account").get_data(as_text=True))
    response = bob.post(f"/projects/{project.id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "You see this project through your group Surveyors" in response.get_data(as_text=True)
    assert bob.get(f"/projects/{project.id}/map").status_code == 200


def test_the_settings_page_says_when_there_are_no_groups(app):
    project = add_project(add_user("olga"), name="Quarry")
    page = signed_in(app, "olga").get(f"/projects/{project.id}/settings").get_data(as_text=True)
    assert "There are no groups yet" in page and 'id="group-share-form"' not in page

