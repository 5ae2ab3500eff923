"""The dashboard lists the user's projects and creates new ones."""
from tests.support.factories import share
from tests.support.web import csrf_token_of

from webapp.extensions import db
from webapp.models import Project
from webapp.services import projects


def create_project_via_form(client, name, description="", tags=""):
    """Submit the dashboard's new-project form."""
    token = csrf_token_of(client.get("/").get_data(as_text=True))
    return client.post("/projects/new", data={"name": name, "description": description, "tags": tags,
                                              "csrf_token": token})


def test_dashboard_needs_login(client, admin):
    assert client.get("/").headers["Location"].startswith("/login?next=")


def test_empty_dashboard_says_so(client, admin, login):
    login("admin", "admin-password")
    assert "No project yet" in client.get("/").get_data(as_text=True)


def test_create_project_and_see_it(client, admin, login):
    login("admin", "admin-password")
    response = create_project_via_form(client, "  Beach survey ", "North end")
    assert response.status_code == 302
    project = Project.query.one()
    assert (project.name, project.description, project.owner_id) == ("Beach survey", "North end", admin.id)
    assert "Beach survey" in client.get("/").get_data(as_text=True)


def test_empty_name_shows_a_message_and_stores_nothing(client, admin, login):
    login("admin", "admin-password")
    response = create_project_via_form(client, "   ")
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert Project.query.count() == 0


def test_a_new_project_gets_its_tags_and_an_odd_one_is_refused(client, admin, login):
    login("admin", "admin-password")
    refused = create_project_via_form(client, "Beach", tags="north <script>")
    assert refused.status_code == 400 and "“&lt;script&gt;” is not a valid tag" in refused.get_data(as_text=True)
    assert Project.query.count() == 0
    assert create_project_via_form(client, "Beach", tags="north 2026").status_code == 302
    assert Project.query.one().tags == "north 2026"
    assert 'href="/?search=%23north">#north</a>' in client.get("/").get_data(as_text=True)


def test_users_see_only_their_projects_and_those_shared_with_them(client, admin, make_user, login):
    bob, carol = make_user("bob"), make_user("carol")
    projects.create_project(bob, "Bob's field")
    carols = projects.create_project(carol, "Carol's quarry")
    login("bob", "bob-password")
    page = client.get("/").get_data(as_text=True)
    assert "Bob&#39;s field" in page and "Carol&#39;s quarry" not in page
    share(carols, bob)
    assert "Carol&#39;s quarry" in client.get("/").get_data(as_text=True)


def test_settings_and_new_task_links_only_for_users_who_may_change_the_project(client, admin, make_user, login):
    bob, carol = make_user("bob"), make_user("carol")
    shared = projects.create_project(carol, "Carol's quarry")
    bobs_share = share(shared, bob)
    login("bob", "bob-password")
    page = client.get("/").get_data(as_text=True)
    assert "Carol&#39;s quarry" in page
    assert f"/projects/{shared.id}/settings" not in page and f"/projects/{shared.id}/tasks/new" not in page
    bobs_share.can_change = True
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert f"/projects/{shared.id}/settings" in page and f"/projects/{shared.id}/tasks/new" in page
