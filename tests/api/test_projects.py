"""Projects: list (plain and paged), create, get, update, delete, sharing; every role and the error shapes."""
import pytest

from tests.support.factories import add_task
from tests.support.web import auth

from webapp import storage
from webapp.extensions import db
from webapp.models import Project, ProjectShare, Task
from webapp.services import projects as project_service

PROJECT_FIELDS = ["id", "name", "description", "created_at", "owner", "tasks", "permissions", "owned", "public", "tags"]
ALL = ["view", "add", "change", "delete"]


def test_list_is_what_the_caller_can_view_with_their_permissions(client, users, project):
    for name, permissions in [("owner", ALL), ("viewer", ["view"]), ("editor", ["view", "add", "change"]),
                              ("admin", ALL)]:
        listed = client.get("/api/projects/", headers=auth(users[name])).json
        assert [p["id"] for p in listed] == [project.id]
        assert listed[0]["permissions"] == permissions
        assert listed[0]["owned"] is (name == "owner")
    assert client.get("/api/projects", headers=auth(users["stranger"])).json == []
    assert client.get("/api/projects/").status_code == 403


def test_project_fields_in_order_with_their_types(client, users, project):
    data = client.get(f"/api/projects/{project.id}/", headers=auth(users["owner"])).json
    assert list(data) == PROJECT_FIELDS
    assert data["owner"] == "owner" and data["tasks"] == [] and data["public"] is False
    assert data["created_at"].endswith("Z") and len(data["created_at"].split(".")[1]) == 7  # 6 digits + Z


def test_pagination_filters_and_ordering(client, users):
    headers = auth(users["owner"])
    for index in range(12):
        client.post("/api/projects/", json={"name": f"P{index:02d}", "description": "beach" if index == 3 else ""},
                    headers=headers)
    first = client.get("/api/projects/?page=1&ordering=name", headers=headers).json
    assert first["count"] == 12 and first["previous"] is None and len(first["results"]) == 10
    assert [p["name"] for p in first["results"]][:2] == ["P00", "P01"]
    second = client.get(first["next"], headers=headers).json
    assert [p["name"] for p in second["results"]] == ["P10", "P11"] and second["next"] is None
    assert second["previous"] is not None
    small = client.get("/api/projects/?page=2&page_size=5&ordering=-name", headers=headers).json
    assert [p["name"] for p in small["results"]] == ["P06", "P05", "P04", "P03", "P02"]
    assert client.get("/api/projects/?page=9", headers=headers).status_code == 404
    assert [p["name"] for p in client.get("/api/projects/?name=P07", headers=headers).json] == ["P07"]
    assert [p["name"] for p in client.get("/api/projects/?search=BEACH", headers=headers).json] == ["P03"]
    newest_first = client.get("/api/projects/", headers=headers).json
    assert newest_first[0]["name"] == "P11"
    bad = client.get("/api/projects/?ordering=password", headers=headers)
    assert bad.status_code == 400 and "ordering" in bad.json
    assert client.get("/api/projects/?page=zero", headers=headers).status_code == 400


def test_create_needs_a_name_and_is_owned_by_the_caller(client, users):
    created = client.post("/api/projects", data={"name": " Dunes ", "description": "d"}, headers=auth(users["viewer"]))
    assert created.status_code == 201
    assert created.json["name"] == "Dunes" and created.json["owner"] == "viewer" and created.json["owned"] is True
    missing = client.post("/api/projects/", json={"description": "x"}, headers=auth(users["viewer"]))
    assert missing.status_code == 400 and missing.json == {"name": ["This field is required."]}
    assert client.post("/api/projects/", json={"name": "x"}).status_code == 403


@pytest.mark.parametrize("who, status", [("owner", 200), ("viewer", 200), ("editor", 200), ("admin", 200),
                                         ("stranger", 404), (None, 403)])
def test_get_by_role(client, users, project, who, status):
    headers = auth(users[who]) if who else {}
    response = client.get(f"/api/projects/{project.id}", headers=headers)
    assert response.status_code == status
    if status == 404:
        assert response.json == {"detail": "Not found."}


def test_unknown_project_is_404(client, users):
    assert client.get("/api/projects/999/", headers=auth(users["owner"])).json == {"detail": "Not found."}


def test_public_project_is_readable_by_anyone(client, users, project):
    project.public = True
    db.session.commit()
    assert client.get(f"/api/projects/{project.id}/").json["permissions"] == ["view"]
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).status_code == 200


@pytest.mark.parametrize("who, status", [("owner", 200), ("editor", 200), ("admin", 200), ("viewer", 404),
                                         ("stranger", 404), (None, 403)])
def test_update_by_role(client, users, project, who, status):
    headers = auth(users[who]) if who else {}
    response = client.patch(f"/api/projects/{project.id}/", json={"name": "Renamed", "public": True},
                            headers=headers)
    assert response.status_code == status
    db.session.refresh(project)
    assert (project.name, project.public) == (("Renamed", True) if status == 200 else ("Survey", False))


def test_put_changes_fields_and_bad_input_changes_nothing(client, users, project):
    headers = auth(users["owner"])
    put = client.put(f"/api/projects/{project.id}", data={"description": "New", "public": "false"}, headers=headers)
    assert put.status_code == 200 and put.json["description"] == "New" and put.json["name"] == "Survey"
    empty = client.patch(f"/api/projects/{project.id}/", json={"name": ""}, headers=headers)
    assert empty.status_code == 400 and empty.json == {"name": ["This field is required."]}
    bad_flag = client.patch(f"/api/projects/{project.id}/", json={"public": "maybe"}, headers=headers)
    assert bad_flag.status_code == 400 and "public" in bad_flag.json
    db.session.refresh(project)
    assert (project.name, project.public) == ("Survey", False)


def test_owner_deletes_the_project_its_tasks_and_files(client, users, project):
    task = add_task(project, name="t")
    folder = storage.task_dir(project.id, task.id)
    folder.mkdir(parents=True)
    (folder / "console.txt").write_text("x")
    assert client.delete(f"/api/projects/{project.id}/", headers=auth(users["owner"])).status_code == 204
    db.session.expire_all()
    assert db.session.get(Project, project.id) is None and Task.query.count() == 0
    assert not storage.project_dir(project.id).exists()


def test_a_user_it_was_shared_with_drops_only_their_access(client, users, project):
    assert client.delete(f"/api/projects/{project.id}", headers=auth(users["deleter"])).status_code == 204
    db.session.expire_all()
    assert db.session.get(Project, project.id) is not None
    assert ProjectShare.query.filter_by(user_id=users["deleter"].id).count() == 0
    assert ProjectShare.query.count() == 2  # the viewer's and the editor's shares stay
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["deleter"])).status_code == 404


@pytest.mark.parametrize("who, status", [("viewer", 404), ("editor", 404), ("stranger", 404), (None, 403)])
def test_delete_refused_without_delete_permission(client, users, project, who, status):
    headers = auth(users[who]) if who else {}
    assert client.delete(f"/api/projects/{project.id}/", headers=headers).status_code == status
    db.session.expire_all()
    assert db.session.get(Project, project.id) is not None and ProjectShare.query.count() == 3


def test_admin_deletes_the_project(client, users, project):
    assert client.delete(f"/api/projects/{project.id}/", headers=auth(users["admin"])).status_code == 204
    db.session.expire_all()
    assert db.session.get(Project, project.id) is None


@pytest.mark.parametrize("who, status", [("owner", 200), ("editor", 200), ("viewer", 404), ("stranger", 404),
                                         (None, 403)])
def test_permissions_list_by_role(client, users, project, who, status):
    response = client.get(f"/api/projects/{project.id}/permissions/", headers=auth(users[who]) if who else {})
    assert response.status_code == status
    if status == 200:
        assert response.json == [
            {"username": "owner", "owner": True, "permissions": ALL},
            {"username": "deleter", "owner": False, "permissions": ALL},
            {"username": "editor", "owner": False, "permissions": ["view", "add", "change"]},
            {"username": "viewer", "owner": False, "permissions": ["view"]},
        ]


def test_edit_replaces_the_sharing_list_but_never_the_owner(client, users, project):
    response = client.post(f"/api/projects/{project.id}/edit/", headers=auth(users["owner"]), json={
        "name": "Shared survey",
        "permissions": [{"username": "stranger", "permissions": ["change"]},
                        {"username": "viewer", "permissions": ["view"]},
                        {"username": "owner", "permissions": []}]})
    assert response.status_code == 200 and response.json["name"] == "Shared survey"
    sharing = client.get(f"/api/projects/{project.id}/permissions/", headers=auth(users["owner"])).json
    assert sharing == [{"username": "owner", "owner": True, "permissions": ALL},
                       {"username": "stranger", "owner": False, "permissions": ["view", "change"]},
                       {"username": "viewer", "owner": False, "permissions": ["view"]}]
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["editor"])).status_code == 404
    assert client.get(f"/api/projects/{project.id}/", headers=auth(users["stranger"])).status_code == 200


def test_edit_with_a_form_and_bad_entries(client, users, project):
    headers = auth(users["owner"])
    form = client.post(f"/api/projects/{project.id}/edit", headers=headers,
                       data={"permissions": '[{"username": "viewer", "permissions": ["view", "delete"]}]'})
    assert form.status_code == 200
    assert project_service.project_permissions(users["viewer"], project) == ["view", "delete"]
    for bad in ([{"username": "nobody", "permissions": ["view"]}], [{"username": "viewer", "permissions": ["own"]}],
                "not a list"):
        response = client.post(f"/api/projects/{project.id}/edit/", headers=headers,
                               json={"name": "Never", "permissions": bad})
        assert response.status_code == 400 and "permissions" in response.json
    db.session.refresh(project)
    assert project.name == "Survey"  # a bad request changes nothing
    assert client.post(f"/api/projects/{project.id}/edit/", headers=auth(users["viewer"]),
                       json={"permissions": []}).status_code == 404


@pytest.mark.parametrize("who, status", [("owner", 200), ("editor", 200), ("deleter", 200), ("admin", 200),
                                         ("viewer", 404), ("stranger", 404), (None, 403)])
def test_tags_are_set_by_those_who_may_change_the_project(client, users, project, who, status):
    headers = auth(users[who]) if who else {}
    response = client.patch(f"/api/projects/{project.id}/", json={"tags": "survey  #north survey"}, headers=headers)
    assert response.status_code == status
    db.session.refresh(project)
    assert project.tags == ("survey north" if status == 200 else "")
    if status == 200:
        assert response.json["tags"] == "survey north"  # WebODM's shape: one string, words separated by spaces


def test_a_tag_with_odd_characters_is_refused_and_changes_nothing(client, users, project):
    headers = auth(users["owner"])
    client.patch(f"/api/projects/{project.id}/", json={"tags": "kept"}, headers=headers)
    response = client.patch(f"/api/projects/{project.id}/", json={"name": "Renamed", "tags": "fine <b>bad</b>"},
                            headers=headers)
    assert response.status_code == 400
    assert response.json["tags"] == ["“<b>bad</b>” is not a valid tag: use letters, digits, “-”, “_” and “.”, "
                                     "and spaces between tags."]
    created = client.post("/api/projects/", json={"name": "Other", "tags": "ok;no"}, headers=headers)
    assert created.status_code == 400 and "tags" in created.json
    db.session.refresh(project)
    assert (project.name, project.tags) == ("Survey", "kept")
    assert Project.query.filter_by(name="Other").count() == 0


def test_search_finds_projects_by_hash_tag_and_text_as_webodm_dashboard(client, users):
    headers = auth(users["owner"])
    for name, tags in [("Quarry east", "survey 2026"), ("Quarry west", "survey"), ("Farm", "ndvi 2026"),
                       ("Under_score", "a_b")]:
        created = client.post("/api/projects/", json={"name": name, "tags": tags}, headers=headers)
        assert created.status_code == 201 and created.json["tags"] == tags

    def names(search):
        listed = client.get("/api/projects/", query_string={"search": search, "ordering": "name"}, headers=headers)
        return [p["name"] for p in listed.json]

    assert names("#survey") == ["Quarry east", "Quarry west"]
    assert names("#SURVEY #2026") == ["Quarry east"]
    assert names("#2026 farm") == ["Farm"]
    assert names("quarry") == ["Quarry east", "Quarry west"]
    assert names("#surv") == []  # a tag matches whole, not a part of a longer one
    assert names("#a_b") == ["Under_score"] and names("#a%b") == [] and names("r_s") == ["Under_score"]
    assert client.get("/api/projects/", query_string={"search": "#survey"},
                      headers=auth(users["stranger"])).json == []
