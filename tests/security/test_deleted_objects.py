"""What is deleted leaves nothing behind that a new object could inherit (SQLite reuses the ids of deleted rows)."""
from tests.support.web import auth
from tests.support.factories import add_project, add_task, add_user, share
from webapp.extensions import db
from webapp.models import ProjectShare, Task


def test_a_new_project_inherits_no_share_nor_task_of_a_deleted_one(app, client):
    """A project's shares and tasks go with it: a later project with the same id is not shared with anyone."""
    owner, viewer, other = add_user("owner"), add_user("viewer"), add_user("other")
    project = add_project(owner, name="Old")
    old_id = project.id
    share(project, viewer)
    add_task(project, name="old task")
    db.session.expire_all()  # as in a new request: nothing of the project is loaded yet

    assert client.delete(f"/api/projects/{old_id}/", headers=auth(owner)).status_code == 204
    assert ProjectShare.query.filter_by(project_id=old_id).count() == 0
    assert Task.query.filter_by(project_id=old_id).count() == 0

    created = client.post("/api/projects/", headers=auth(other), json={"name": "New"}).get_json()
    assert client.get(f"/api/projects/{created['id']}/", headers=auth(viewer)).status_code == 404
    assert client.get(f"/api/projects/{created['id']}/tasks/", headers=auth(other)).get_json() == []
