"""The migrations build exactly the schema of the models, from one head."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from webapp import create_app
from webapp.config import ROOT, TestConfig
from webapp.extensions import db
from webapp.models import Project, Task, User
from tests.support.factories import add_user

BEFORE_IDS_NEVER_REUSED = "c3ed76037866"


def test_migrations_have_a_single_head(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def test_migrated_schema_equals_the_models(tmp_path, redis_url):
    app = create_app(TestConfig(tmp_path / "instance", redis_url=redis_url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == []


def _add_project_with_task(owner, project_id=None, task_id=None):
    """A project of owner with one task (ids given, or chosen by the database); (project, task)."""
    project = Project(id=project_id, owner_id=owner.id, name="Survey")
    db.session.add(project)
    db.session.flush()
    task = Task(id=task_id, project_id=project.id, name="flight")
    db.session.add(task)
    db.session.commit()
    return project, task


def _add_old_project_with_task(owner_id, project_id, task_id):
    """A project with one task in a database at BEFORE_IDS_NEVER_REUSED: the project row by SQL, with the columns of
    that revision only (the model has gained some since, such as tags)."""
    db.session.execute(sa.text("insert into project (id, owner_id, name, description, public, created_at) "
                               "values (:id, :owner, 'Survey', '', 0, current_timestamp)"),
                       {"id": project_id, "owner": owner_id})
    db.session.add(Task(id=task_id, project_id=project_id, name="flight"))
    db.session.commit()


def _delete_newest_then_create(owner):
    """Delete the newest project (with its task), create another; (old ids, new ids)."""
    newest = db.session.scalars(sa.select(Project).order_by(Project.id.desc())).first()
    old = (newest.id, newest.tasks[-1].id)
    db.session.delete(newest)
    db.session.commit()
    project, task = _add_project_with_task(owner)
    return old, (project.id, task.id)


def test_ids_are_never_reused_after_a_deletion(app):
    """Deleting the newest project and task, then creating others: the new ids are new (SQLite AUTOINCREMENT)."""
    owner = add_user("pilot")
    _add_project_with_task(owner)
    _add_project_with_task(owner)
    (old_project, old_task), (new_project, new_task) = _delete_newest_then_create(owner)
    assert new_project > old_project and new_task > old_task


def test_the_migration_keeps_ids_and_stops_their_reuse(tmp_path, redis_url):
    """A database from before the change keeps its ids through the rebuild; a deleted id is then never given again."""
    app = create_app(TestConfig(tmp_path / "instance", redis_url=redis_url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision=BEFORE_IDS_NEVER_REUSED)
        owner_id = add_user("pilot").id
        _add_old_project_with_task(owner_id, 5, 7)
        _add_old_project_with_task(owner_id, 9, 12)
        db.session.close()
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as connection:
            tables = dict(connection.execute(sa.text("select name, sql from sqlite_master where type = 'table'")).all())
            kept = connection.execute(sa.text("select id, project_id from task order by id")).all()
        assert all("AUTOINCREMENT" in tables[name] for name in ("user", "project", "task", "project_share",
                                                              "api_token", "preset", "processing_node"))
        assert kept == [(7, 5), (12, 9)]
        assert _delete_newest_then_create(db.session.get(User, owner_id)) == ((9, 12), (10, 13))
        db.session.remove()
        db.engine.dispose()
