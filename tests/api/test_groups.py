"""Groups through the API: administrators manage them (WebODM's /api/admin/groups/), a project shared with a group
gives its members that access (the highest of it and their own), and taking it away works at once."""
import pytest

from tests.support.factories import add_group, add_project, add_task, share, share_with_group
from tests.support.web import auth
from webapp.extensions import db
from webapp.models import Group, ProjectGroupShare, group_member

ADMIN_GROUPS = "/api/admin/groups/"


@pytest.fixture
def team(users):
    """The group "Survey team" with stranger (who has no share of their own) in it."""
    return add_group("Survey team", [users["stranger"]])


def groups_stored():
    """{name: [usernames]} of the groups as stored."""
    db.session.expire_all()
    return {group.name: [user.username for user in group.members] for group in Group.query.all()}


def test_an_administrator_creates_lists_renames_and_deletes_groups(client, users):
    headers = auth(users["admin"])
    created = client.post(ADMIN_GROUPS, json={"name": " Pilots ", "members": ["viewer", "Editor"]}, headers=headers)
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "name": "Pilots", "members": ["editor", "viewer"]}
    group_url = f"{ADMIN_GROUPS}{created.json['id']}/"
    client.post(ADMIN_GROUPS, data={"name": "Analysts"}, headers=headers)  # a form works too
    assert [g["name"] for g in client.get(ADMIN_GROUPS, headers=headers).json] == ["Analysts", "Pilots"]
    assert [g["name"] for g in client.get(f"{ADMIN_GROUPS}?name=Pilots", headers=headers).json] == ["Pilots"]
    assert client.get(group_url, headers=headers).json["members"] == ["editor", "viewer"]
    renamed = client.patch(group_url, json={"name": "Drone pilots"}, headers=headers)
    assert renamed.json["name"] == "Drone pilots" and renamed.json["members"] == ["editor", "viewer"]
    replaced = client.put(group_url, data={"name": "Pilots", "members": '["stranger"]'}, headers=headers)
    assert replaced.status_code == 200 and replaced.json["members"] == ["stranger"]
    assert client.delete(group_url, headers=headers).status_code == 204
    assert groups_stored() == {"Analysts": []}
    assert client.get(group_url, headers=headers).status_code == 404


BAD_GROUPS = [
    ({"name": "survey TEAM"}, "name"),  # another group's name, whatever the case
    ({"name": "   "}, "name"),
    ({}, "name"),
    ({"name": "x" * 151}, "name"),
    ({"name": ["a list"]}, "name"),
    ({"name": "New", "members": ["nobody"]}, "members"),
    ({"name": "New", "members": "not json"}, "members"),
    ({"name": "New", "members": {"viewer": True}}, "members"),
]


def test_bad_group_input_is_a_clear_400_and_stores_nothing(client, users, team):
    before = groups_stored()
    for body, field in BAD_GROUPS:  # one app for every case: an app per case costs a second or two
        response = client.post(ADMIN_GROUPS, json=body, headers=auth(users["admin"]))
        assert response.status_code == 400 and field in response.json, (body, response.json)
        assert groups_stored() == before
        changed = client.patch(f"{ADMIN_GROUPS}{team.id}/", json={"members": ["viewer"], **body},
                               headers=auth(users["admin"]))
        if body and body.get("name") != "survey TEAM":  # PATCH may leave the name out, or change its case
            assert changed.status_code == 400 and field in changed.json, (body, changed.json)
            assert groups_stored() == before  # all or nothing: the members did not change either
        else:
            client.patch(f"{ADMIN_GROUPS}{team.id}/", json={"name": "Survey team", "members": ["stranger"]},
                         headers=auth(users["admin"]))  # back as it was for the next case


def test_only_administrators_manage_groups_but_anyone_logged_in_lists_their_names(client, users, team):
    add_group("Analysts")
    for name in ("owner", "viewer", "stranger"):
        headers = auth(users[name])
        for method in ("get", "post"):
            refused = getattr(client, method)(ADMIN_GROUPS, json={"name": "Mine"}, headers=headers)
            assert refused.status_code == 403 and "detail" in refused.json
        for method in ("get", "patch", "put", "delete"):
            assert getattr(client, method)(f"{ADMIN_GROUPS}{team.id}/", json={"name": "Mine"},
                                           headers=headers).status_code == 403
        names = client.get("/api/groups/", headers=headers).json
        assert names == [{"name": "Analysts", "id": names[0]["id"]}, {"name": "Survey team", "id": team.id}]
    headers = auth(users["viewer"])
    assert [g["name"] for g in client.get("/api/groups/?search=surv", headers=headers).json] == ["Survey team"]
    assert len(client.get("/api/groups/?limit=1", headers=headers).json) == 1
    assert client.get("/api/groups/?limit=-1", headers=headers).status_code == 400
    assert client.get("/api/groups/").status_code == 403
    assert groups_stored() == {"Survey team": ["stranger"], "Analysts": []}


@pytest.mark.parametrize("flags, permissions", [
    ({}, ["view"]),
    ({"can_add": True, "can_change": True}, ["view", "add", "change"]),
    ({"can_add": True, "can_change": True, "can_delete": True}, ["view", "add", "change", "delete"]),
])
def test_a_group_share_gives_its_members_that_access_everywhere(client, users, team, flags, permissions):
    project = add_project(users["owner"], name="Team project")
    task = add_task(project, name="flight")
    share_with_group(project, team, **flags)
    headers = auth(users["stranger"])
    listed = client.get("/api/projects/", headers=headers).json
    assert [(p["id"], p["permissions"]) for p in listed] == [(project.id, permissions)]
    assert client.get(f"/api/projects/{project.id}/", headers=headers).json["permissions"] == permissions
    assert [t["id"] for t in client.get(f"/api/projects/{project.id}/tasks/", headers=headers).json] == [task.id]
    task_url = f"/api/projects/{project.id}/tasks/{task.id}/"
    renamed = client.patch(task_url, json={"name": "renamed"}, headers=headers)
    assert renamed.status_code == (200 if "change" in permissions else 404)
    sharing = client.get(f"/api/projects/{project.id}/permissions/", headers=headers)
    assert sharing.status_code == (200 if "change" in permissions else 404)
    # Not a member: nothing, though the group can see it.
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["viewer"])).status_code == 404


def test_a_members_access_is_the_highest_of_their_own_and_their_groups(client, users, team):
    cases = [  # (own share, the group's share, what the member may do)
        ({}, {"can_add": True, "can_change": True}, ["view", "add", "change"]),
        ({"can_add": True, "can_change": True, "can_delete": True}, {}, ["view", "add", "change", "delete"]),
        ({"can_delete": True}, {"can_add": True, "can_change": True}, ["view", "add", "change", "delete"]),
        ({"can_view": False, "can_change": True}, {}, ["view"]),  # a share without view gives nothing
        ({}, {"can_view": False, "can_delete": True}, ["view"]),  # and the other way round
    ]
    for number, (own, through_group, expected) in enumerate(cases):
        project = add_project(users["owner"], name=f"Case {number}")
        share(project, users["stranger"], **own)
        share_with_group(project, team, **through_group)
        seen = client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).json["permissions"]
        assert seen == expected, (own, through_group)
    listed = client.get("/api/projects/?ordering=name", headers=auth(users["stranger"])).json
    assert [p["permissions"] for p in listed] == [expected for _, _, expected in cases]  # the list says the same


def test_leaving_the_group_or_deleting_it_ends_the_access_at_once(client, users, team):
    project = add_project(users["owner"], name="Team project")
    share_with_group(project, team, can_add=True, can_change=True)
    second = add_group("Second team", [users["stranger"]])
    share_with_group(project, second)
    member, admin = auth(users["stranger"]), auth(users["admin"])
    url = f"/api/projects/{project.id}/"
    assert client.get(url, headers=member).json["permissions"] == ["view", "add", "change"]
    client.patch(f"{ADMIN_GROUPS}{team.id}/", json={"members": []}, headers=admin)
    assert client.get(url, headers=member).json["permissions"] == ["view"]  # still in the second group
    assert client.patch(url, json={"name": "x"}, headers=member).status_code == 404
    assert client.delete(f"{ADMIN_GROUPS}{second.id}/", headers=admin).status_code == 204
    assert client.get(url, headers=member).status_code == 404
    assert client.get("/api/projects/", headers=member).json == []
    assert ProjectGroupShare.query.filter_by(group_id=second.id).count() == 0
    assert db.session.query(group_member).filter_by(group_id=second.id).count() == 0


def test_sharing_list_shows_and_replaces_groups_as_webodm(client, users, project, team):
    add_group("Analysts")
    headers = auth(users["owner"])
    edited = client.post(f"/api/projects/{project.id}/edit/", headers=headers, json={"permissions": [
        {"username": "viewer", "permissions": ["view"]},
        {"groupname": "survey team", "permissions": ["change"]},  # view is implied; names match in any case
        {"groupname": "Analysts", "permissions": ["view"]}]})
    assert edited.status_code == 200
    sharing = client.get(f"/api/projects/{project.id}/permissions/", headers=headers)
    assert sharing.headers["X-Groups-Count"] == "2"
    assert sharing.json == [
        {"username": "owner", "owner": True, "permissions": ["view", "add", "change", "delete"]},
        {"username": "viewer", "owner": False, "permissions": ["view"]},
        {"groupname": "Analysts", "permissions": ["view"]},
        {"groupname": "Survey team", "permissions": ["view", "change"]}]
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).json["permissions"] == \
        ["view", "change"]
    # A list without a group drops it (as WebODM's edit does).
    client.post(f"/api/projects/{project.id}/edit/", headers=headers,
                json={"permissions": [{"groupname": "Analysts", "permissions": ["view"]}]})
    assert [e.get("groupname") or e["username"] for e in
            client.get(f"/api/projects/{project.id}/permissions/", headers=headers).json] == ["owner", "Analysts"]
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).status_code == 404


def test_bad_group_entries_in_the_sharing_list_change_nothing(client, users, project, team):
    headers = auth(users["owner"])
    before = client.get(f"/api/projects/{project.id}/permissions/", headers=headers).json
    for entry in [{"groupname": "No such team", "permissions": ["view"]},
                  {"groupname": "Survey team", "permissions": ["fly"]},
                  {"groupname": "Survey team", "permissions": "view"}]:
        response = client.post(f"/api/projects/{project.id}/edit/", headers=headers,
                               json={"name": "Renamed", "permissions": [entry]})
        assert response.status_code == 400 and "permissions" in response.json, entry
        assert client.get(f"/api/projects/{project.id}/permissions/", headers=headers).json == before
        assert client.get(f"/api/projects/{project.id}/", headers=headers).json["name"] == "Survey"


def test_a_member_cannot_drop_a_groups_access_and_is_told_who_can(client, users, team):
    project = add_project(users["owner"], name="Team project")
    share_with_group(project, team, can_add=True, can_change=True, can_delete=True)
    response = client.delete(f"/api/projects/{project.id}/", headers=auth(users["stranger"]))
    assert response.status_code == 400
    assert "Survey team" in response.json["detail"] and "administrator" in response.json["detail"]
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).status_code == 200
